"""Versioned prompt templates, installed as the package `motai.prompts_data`.

Read them with `motai.prompts.load_prompt("classify.v1")` or `motai prompts list`.
"""

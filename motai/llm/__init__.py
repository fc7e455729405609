"""Tagging with LLMs: providers, reply schema and parsing, the classifier, cache, ledger.

`motai.llm.classifier.LLMClassifier` is the entry point (`Tagger(model="openai:...")` uses it).
"""

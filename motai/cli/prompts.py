"""`motai prompts list|show|render`: the versioned prompt templates, exactly as sent."""

from __future__ import annotations

import json

import click

from motai.cli.options import _fail, _store, with_store_options
from motai.errors import MotaiError


@click.group()
def prompts() -> None:
    """List, show and render the versioned prompt templates sent to LLMs.

    A released prompt never changes; a new wording gets a new id (classify.v2). Every
    result records the id and a hash of the template (prompt_version).

    \b
    Examples:
      motai prompts list
      motai prompts show classify.v1
      motai prompts render "My parcel never arrived, @Shop help!" --kind social
    """


@prompts.command("list")
def prompts_list() -> None:
    """List the bundled prompts with their version hash.

    \b
    Examples:
      motai prompts list
    """
    from motai.prompts import list_prompts

    for p in list_prompts():
        click.echo(f"{p.version}  {p.description}")


@prompts.command("show")
@click.argument("prompt_id", default="classify.v1", metavar="ID|FILE")
def prompts_show(prompt_id: str) -> None:
    """Print a prompt's file: templates and default parameters.

    \b
    Examples:
      motai prompts show classify.v1
    """
    from motai.prompts import load_prompt

    try:
        p = load_prompt(prompt_id)
    except MotaiError as exc:
        raise _fail(exc) from None
    click.echo(f"# {p.version}  ({p.path})")
    click.echo(f"# params: {json.dumps(p.params)}")
    click.echo("--- system (template) ---")
    click.echo(p.system, nl=False)
    click.echo("--- user (template) ---")
    click.echo(p.user, nl=False)


@prompts.command("render")
@click.argument("text")
@click.option("--prompt", "prompt_id", default="classify.v1", show_default=True, metavar="ID|FILE")
@click.option("--kind", type=click.Choice(["review", "social", "transcript"]))
@click.option("--k-examples", default=4, show_default=True, type=click.IntRange(0, 50))
@click.option("--redact", is_flag=True, help="Show the messages as --redact sends them.")
@click.option("--json", "as_json", is_flag=True, help="Print the messages as JSON.")
@with_store_options
def prompts_render(
    text: str,
    prompt_id: str,
    kind: str | None,
    k_examples: int,
    redact: bool,
    as_json: bool,
    **store_kw: str | None,
) -> None:
    """Print exactly the messages that would be sent for TEXT, retrieval included.

    \b
    Examples:
      motai prompts render "Arrived two weeks late. Love the fabric though!"
      motai prompts render "@Shop where is my order?" --kind social --json
      motai prompts render "mail me at ann@example.com" --redact
    """
    from motai.prompts import build_messages, load_prompt
    from motai.retrieval import Retriever

    try:
        prompt = load_prompt(prompt_id)
        retriever = Retriever(_store(**store_kw), k_examples=k_examples)
        messages = build_messages(prompt, retriever, text, kind, redact=redact)
    except MotaiError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(messages, indent=2, ensure_ascii=False))
        return
    click.echo(f"# {prompt.version}  params: {json.dumps(prompt.params)}")
    for m in messages:
        click.echo(f"--- {m['role']} ---")
        click.echo(m["content"], nl=False)

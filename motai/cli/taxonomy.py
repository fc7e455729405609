"""`motai taxonomy show|check`: the stages, their definitions and signals."""

from __future__ import annotations

import json

import click
import yaml

from motai.cli.options import _taxonomy, taxonomy_option


@click.group()
def taxonomy() -> None:
    """Show or check a taxonomy (stages, valences, signals, examples).

    \b
    Examples:
      motai taxonomy show
      motai taxonomy check my-b2b.yaml
    """


@taxonomy.command("show")
@taxonomy_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "yaml", "json"]),
    default="text",
    show_default=True,
)
def taxonomy_show(taxonomy_src: str | None, fmt: str) -> None:
    """Show the stages in journey order with their definitions and signals.

    \b
    Examples:
      motai taxonomy show
      motai taxonomy show --taxonomy my-b2b.yaml --format yaml
    """
    tax = _taxonomy(taxonomy_src)
    if fmt == "json":
        click.echo(json.dumps(tax.model_dump(), indent=2, ensure_ascii=False))
        return
    if fmt == "yaml":
        click.echo(yaml.safe_dump(tax.model_dump(), sort_keys=False, allow_unicode=True))
        return
    click.echo(f"{tax.name} ({tax.ref}, hash {tax.hash})")
    click.echo(f"valences: {', '.join(tax.valence_ids)}")
    for s in tax.stages:
        click.echo(f"\n{s.order}. {s.id}  {s.name}\n   {s.definition}")
        if s.signals:
            click.echo("   signals: " + "; ".join(s.signals))
    click.echo(f"\n-  {tax.none.id}  {tax.none.definition}")


@taxonomy.command("check")
@click.argument("file")
def taxonomy_check(file: str) -> None:
    """Validate a taxonomy FILE; exits 1 with the bad key named when it is wrong.

    \b
    Examples:
      motai taxonomy check my-b2b.yaml
    """
    tax = _taxonomy(file)
    click.echo(f"ok: {tax.ref}, {len(tax.stages)} stages: {', '.join(tax.stage_ids)}")

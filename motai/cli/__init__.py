"""The `motai` command: a thin click layer over the public Python API.

One module per command group (`tag`, `taxonomy`, `index`, `prompts`, `eval`, `cache`,
`label`, `train`, `report`); the options they share are defined once in `options`.
Each command imports what it needs when it runs, so `motai --help` loads nothing heavy.
"""

from __future__ import annotations

import json

import click

from motai import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="motai")
def cli() -> None:
    """Tag customer texts with their moment of truth: ZMOT, FMOT, AMOT, SMOT or UMOT,
    glory or pain, with the exact quote that shows it.

    \b
    Start here:
      motai tag examples/reviews.csv --text-column body -o -
      motai taxonomy show
      motai index status

    Offline by default: the local model needs no key and no network.
    """


@cli.command()
def schema() -> None:
    """Print the JSON Schema of one output line (a TagResult).

    \b
    Examples:
      motai schema > tag-result.schema.json
    """
    from motai.models import result_schema

    click.echo(json.dumps(result_schema(), indent=2))


def _register() -> None:
    from motai.cli.cache import cache_group
    from motai.cli.eval import eval_group
    from motai.cli.index import index
    from motai.cli.label import label
    from motai.cli.prompts import prompts
    from motai.cli.report import report
    from motai.cli.tag import tag
    from motai.cli.taxonomy import taxonomy
    from motai.cli.train import train

    for command, name in (
        (tag, "tag"),
        (taxonomy, "taxonomy"),
        (index, "index"),
        (prompts, "prompts"),
        (eval_group, "eval"),
        (cache_group, "cache"),
        (label, "label"),
        (train, "train"),
        (report, "report"),
    ):
        cli.add_command(command, name)


_register()


def main() -> None:
    cli(prog_name="motai")

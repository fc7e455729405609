"""`motai index build|status`: the LLM's retrieval store (chroma)."""

from __future__ import annotations

import json

import click

from motai.cli.options import _fail, _store, with_store_options
from motai.errors import MotaiError


@click.group()
def index() -> None:
    """Build or inspect the knowledge store (chroma) of definitions and exemplars.

    The store is rebuilt automatically whenever the taxonomy, the exemplars or the
    embedder change; `build` does it ahead of time (e.g. in a Docker image).

    \b
    Examples:
      motai index build --store ./index
      motai index status --json
    """


@index.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when the store is fresh.")
@with_store_options
def index_build(force: bool, **kw: str | None) -> None:
    """Embed the taxonomy and exemplars into the store (only when stale, unless --force).

    \b
    Examples:
      motai index build
      motai index build --taxonomy my-b2b.yaml --store ./index --force
    """
    try:
        store = _store(**kw)
        if force:
            store.build()
            built = True
        else:
            built = store.ensure()
        st = store.status()
    except MotaiError as exc:
        raise _fail(exc) from None
    verb = "built" if built else "up to date"
    click.echo(
        f"{verb}: {st['location']} ({st['taxonomy_rows']} taxonomy rows, "
        f"{st['exemplars_rows']} exemplar segments, fingerprint {st['fingerprint']})"
    )


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@with_store_options
def index_status(as_json: bool, **kw: str | None) -> None:
    """Say where the store is, what it holds and whether it is fresh.

    \b
    Examples:
      motai index status
      motai index status --store ./index --json
    """
    try:
        st = _store(**kw).status()
    except MotaiError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    for k, v in st.items():
        click.echo(f"{k:>15}: {v}")

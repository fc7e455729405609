"""`motai cache stats | clear`: the on-disk cache of LLM replies."""

from __future__ import annotations

import json

import click


def _cache(path: str | None):
    from motai.llm.cache import ResponseCache

    return ResponseCache(path)


cache_path_option = click.option(
    "--cache",
    "cache_path",
    metavar="FILE",
    help="Cache file. Default: $MOTAI_HOME/cache.sqlite or ~/.cache/motai/cache.sqlite.",
)


@click.group("cache")
def cache_group() -> None:
    """Inspect or empty the cache of LLM replies (SQLite).

    A reply is cached under its model, prompt, taxonomy, retrieved context and text, so
    re-running a file, or an eval after an unrelated change, makes no request. The
    cache holds model replies only, never API keys.

    \b
    Examples:
      motai cache stats
      motai cache clear --yes
    """


@cache_group.command("stats")
@cache_path_option
@click.option("--json", "as_json", is_flag=True, help="Print the stats as JSON.")
def cache_stats(cache_path: str | None, as_json: bool) -> None:
    """Say where the cache is, how many replies it holds and its size on disk.

    \b
    Examples:
      motai cache stats
      motai cache stats --json
    """
    with _cache(cache_path) as cache:
        st = cache.stats()
    st = {k: st[k] for k in ("path", "entries", "size_bytes")}
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(f"path: {st['path']}")
    click.echo(f"entries: {st['entries']}")
    click.echo(f"size: {_size(st['size_bytes'])}")


@cache_group.command("clear")
@cache_path_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def cache_clear(cache_path: str | None, yes: bool) -> None:
    """Delete every cached reply (the next run pays for its requests again).

    \b
    Examples:
      motai cache clear --yes
    """
    with _cache(cache_path) as cache:
        if not yes and len(cache):
            click.confirm(f"delete {len(cache)} cached replies in {cache.path}?", abort=True)
        n = cache.clear()
        click.echo(f"cleared {n} cached repl{'y' if n == 1 else 'ies'} from {cache.path}")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"

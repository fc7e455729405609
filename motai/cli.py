"""The `motai` command: a thin click layer over the public Python API."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator

import click
import yaml

from motai import __version__
from motai.errors import MotaiError
from motai.models import TagResult, TextItem, result_schema
from motai.taxonomy import Taxonomy, load_taxonomy

_MAX_ROW_ERRORS_SHOWN = 5


def _fail(exc: MotaiError) -> click.ClickException:
    return click.ClickException(str(exc))


taxonomy_option = click.option(
    "--taxonomy",
    "taxonomy_src",
    metavar="NAME|FILE",
    help="Bundled taxonomy name or a YAML file. Default: moments-of-truth.",
)
store_options = [
    click.option(
        "--exemplars",
        metavar="FILE",
        help="Labelled JSONL exemplars. Default: the bundled dev set.",
    ),
    click.option(
        "--store",
        "store_path",
        metavar="DIR",
        help="Index folder. Default: $MOTAI_HOME/index or ~/.cache/motai/index.",
    ),
    click.option(
        "--chroma-url",
        metavar="URL",
        help="Use a chroma server, e.g. http://127.0.0.1:8000, instead of a folder.",
    ),
    click.option(
        "--embedder",
        metavar="ID",
        help="local:minilm (default, offline) or openai:text-embedding-3-small.",
    ),
]


def with_store_options(f):
    for opt in reversed(store_options):
        f = opt(f)
    return taxonomy_option(f)


def _taxonomy(src: str | None) -> Taxonomy:
    try:
        return load_taxonomy(src)
    except MotaiError as exc:
        raise _fail(exc) from None


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

    Offline by default: the local classifier needs no key and no network.
    """


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Output file; '-' is stdout. .csv writes CSV, anything else JSONL.",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["jsonl", "csv"]),
    help="Output format (default: from the output's extension, else jsonl).",
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "tsv", "jsonl", "json", "txt"]),
    help="Input format when the extension does not say (stdin is jsonl).",
)
@click.option(
    "--text-column",
    metavar="NAME",
    help="Column or field holding the text. Default: text, body, content, message, review...",
)
@click.option(
    "--id-column",
    metavar="NAME",
    help="Column holding ids. Default: id, else FILE-ROW is generated.",
)
@click.option(
    "--kind",
    type=click.Choice(["review", "social", "transcript"]),
    help="Kind of every text. Default: a 'kind' column, else detected.",
)
@click.option(
    "--model",
    default="local",
    show_default=True,
    help="Classifier. 'local' is the offline embedded classifier.",
)
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096))
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: when stderr is a terminal).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@with_store_options
def tag(
    inputs: tuple[str, ...],
    output: str,
    out_format: str | None,
    input_format: str | None,
    text_column: str | None,
    id_column: str | None,
    kind: str | None,
    model: str,
    batch_size: int,
    progress: bool | None,
    quiet: bool,
    taxonomy_src: str | None,
    exemplars: str | None,
    store_path: str | None,
    chroma_url: str | None,
    embedder: str | None,
) -> None:
    """Tag every text in INPUT files (CSV, TSV, JSONL, JSON, TXT; '-' for stdin).

    Writes one line per input row, in order, with the primary stage, valence, confidence
    and every moment with its evidence quote and offsets. A row that cannot be tagged is
    written with `error` set and the run goes on.

    \b
    Examples:
      motai tag reviews.csv --text-column body -o tagged.csv
      motai tag posts.jsonl chats.jsonl -o tagged.jsonl
      cat posts.jsonl | motai tag - --kind social > tagged.jsonl
      motai tag reviews.csv --taxonomy b2b.yaml --store ./index -o -
    """
    from motai.io import open_writer, read_items
    from motai.tagger import Tagger

    try:
        tagger = Tagger(
            model,
            taxonomy=_taxonomy(taxonomy_src),
            exemplars=exemplars,
            embedder=embedder,
            store_path=store_path,
            chroma_url=chroma_url,
            batch_size=batch_size,
        )
        items = read_items(
            list(inputs),
            text_column=text_column,
            id_column=id_column,
            kind=kind,
            fmt=input_format,
        )
        first = next(items, None)  # file-level errors (missing column) surface before any work
        if first is None:
            raise click.ClickException("no rows to tag in " + ", ".join(inputs))
        show_bar = not quiet and (sys.stderr.isatty() if progress is None else progress)
        counts: Counter[tuple[str, str]] = Counter()
        errors: list[str] = []
        with open_writer(output, out_format) as out:
            for result in _with_progress(tagger.tag_many(_chain(first, items)), show_bar):
                out.write(result)
                if result.error:
                    errors.append(f"{result.id}: {result.error}")
                else:
                    counts[(result.stage or "", result.valence or "")] += 1
    except MotaiError as exc:
        raise _fail(exc) from None
    if not quiet:
        _summary(counts, errors, tagger.taxonomy)


def _chain(first: TextItem, rest: Iterator[TextItem]) -> Iterator[TextItem]:
    yield first
    yield from rest


def _with_progress(results: Iterator[TagResult], show: bool) -> Iterator[TagResult]:
    if not show:
        yield from results
        return
    from tqdm import tqdm

    with tqdm(results, desc="tagging", unit="text", file=sys.stderr) as bar:
        yield from bar


def _summary(counts: Counter[tuple[str, str]], errors: list[str], taxonomy: Taxonomy) -> None:
    """A stage x valence table on stderr, so stdout stays clean for the results."""
    valences = taxonomy.valence_ids
    width = max(7, *(len(v) for v in valences))
    lines = [
        f"{'stage':<6} " + " ".join(f"{v:>{width}}" for v in valences) + f" {'total':>{width}}"
    ]
    for stage in taxonomy.labels:
        row = [counts[(stage, v)] for v in valences]
        if sum(row) == 0:
            continue
        lines.append(
            f"{stage:<6} " + " ".join(f"{n:>{width}}" for n in row) + f" {sum(row):>{width}}"
        )
    total = sum(counts.values())
    lines.append(f"tagged {total} text(s), {len(errors)} error(s)")
    for e in errors[:_MAX_ROW_ERRORS_SHOWN]:
        lines.append(f"  error: {e}")
    if len(errors) > _MAX_ROW_ERRORS_SHOWN:
        lines.append(
            f"  ... and {len(errors) - _MAX_ROW_ERRORS_SHOWN} more (see the 'error' field)"
        )
    click.echo("\n".join(lines), err=True)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of one output line (a TagResult).

    \b
    Examples:
      motai schema > tag-result.schema.json
    """
    click.echo(json.dumps(result_schema(), indent=2))


@cli.group()
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


@cli.group()
def index() -> None:
    """Build or inspect the knowledge store (chroma) of definitions and exemplars.

    The store is rebuilt automatically whenever the taxonomy, the exemplars or the
    embedder change; `build` does it ahead of time (e.g. in a Docker image).

    \b
    Examples:
      motai index build --store ./index
      motai index status --json
    """


def _store(taxonomy_src, exemplars, store_path, chroma_url, embedder):
    from motai.store import KnowledgeStore

    return KnowledgeStore(
        _taxonomy(taxonomy_src),
        embedder=embedder,
        exemplars=exemplars,
        path=store_path,
        url=chroma_url,
    )


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


from motai.evals.cli import eval_group  # noqa: E402

cli.add_command(eval_group, "eval")


def main() -> None:
    cli(prog_name="motai")

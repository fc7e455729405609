"""The `motai` command: a thin click layer over the public Python API."""

from __future__ import annotations

import json
import sys
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import click
import yaml

from motai import __version__
from motai.errors import MotaiError
from motai.models import TagResult, TextItem, result_schema
from motai.taxonomy import Taxonomy, load_taxonomy

_MAX_ROW_ERRORS_SHOWN = 5


def _fail(exc: MotaiError) -> click.ClickException:
    return click.ClickException(str(exc))


class UsageError(click.ClickException):
    """One line, `Error: ...`, with the usage-error status (2)."""

    exit_code = 2


def _check_encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from motai.io.sniff import check_encoding

    try:
        check_encoding(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _names(value: str | None) -> list[str] | None:
    """`a, b,c` -> ['a', 'b', 'c'] (None stays None)."""
    if value is None:
        return None
    return [n.strip() for n in value.split(",") if n.strip()]


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


llm_option_list = [
    click.option(
        "--base-url",
        metavar="URL",
        envvar="OPENAI_BASE_URL",
        help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, Azure), e.g. "
        "http://localhost:8000/v1. Default: $OPENAI_BASE_URL, else OpenAI. The key comes "
        "from $OPENAI_API_KEY (not needed by a local server).",
    ),
    click.option(
        "--prompt",
        "prompt_id",
        metavar="ID|FILE",
        help="Prompt template (default classify.v1); see `motai prompts list`.",
    ),
    click.option(
        "--concurrency",
        default=4,
        show_default=True,
        type=click.IntRange(1, 256),
        help="LLM requests in flight at once.",
    ),
    click.option(
        "--no-cache",
        is_flag=True,
        help="Send every request, even when the cache ($MOTAI_HOME/cache.sqlite) has it.",
    ),
    click.option(
        "--redact",
        is_flag=True,
        help="Replace emails, phones, card numbers, @handles and URLs with placeholders "
        "before anything is sent; evidence still points into the original text.",
    ),
]


def llm_options(f):
    for opt in reversed(llm_option_list):
        f = opt(f)
    return f


# How `read_items` reads the inputs: shared by `motai tag` and `motai label`.
input_option_list = [
    click.option(
        "--input-format",
        type=click.Choice(["csv", "tsv", "jsonl", "json", "txt", "xlsx"]),
        help="Input format when the extension does not say (stdin is jsonl).",
    ),
    click.option(
        "--text-column",
        metavar="NAME",
        help="Column or field holding the text. Default: text, body, content, message, review...",
    ),
    click.option(
        "--id-column",
        metavar="NAME",
        help="Column holding ids. Default: id, else FILE-ROW is generated.",
    ),
    click.option(
        "--kind",
        type=click.Choice(["review", "social", "transcript"]),
        help="Kind of every text. Default: a 'kind' column, else detected.",
    ),
]


# How a batch run shows itself: shared by `motai tag` and `motai label`.
run_option_list = [
    click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096)),
    click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bar on stderr (default: when stderr is a terminal).",
    ),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary."),
]


def run_options(f):
    for opt in reversed(run_option_list):
        f = opt(f)
    return f


def input_options(f):
    for opt in reversed(input_option_list):
        f = opt(f)
    return f


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

    Offline by default: the local model needs no key and no network.
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
    "--keep",
    metavar="COL,...",
    help="Input columns to write beside motai's, in this order ('text' is the text). "
    "Default: the text and every input column.",
)
@click.option(
    "--drop",
    metavar="COL,...",
    help="Input columns not to write, e.g. --drop text,email.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Start the output over instead of resuming it.",
)
@input_options
@click.option(
    "--encoding",
    metavar="NAME",
    callback=_check_encoding,
    help="Encoding of the inputs, e.g. cp1252 or utf-16. Default: detected per file "
    "(UTF-8 with or without BOM, UTF-16, cp1252 and other code pages).",
)
@click.option(
    "--max-chars",
    default=20_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="A longer text is written as an error row, not tagged (0: no limit).",
)
@click.option(
    "--model",
    default="local",
    show_default=True,
    help="'local' (the offline model shipped in motai), 'local:MODEL_DIR' (a model from "
    "`motai train`), or an LLM: openai:gpt-4o-mini, or with "
    "--base-url the server's model name (qwen2.5, llama3.1:8b).",
)
@llm_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Estimate requests, tokens and cost for an LLM model, then exit without sending.",
)
@run_options
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Tag on Ray: a local runtime, or the cluster at ADDRESS (pip install 'motai[ray]').",
)
@click.option("--workers", type=click.IntRange(1), help="Ray actors (default: CPUs but one).")
@click.option("--unordered", is_flag=True, help="With --ray: write rows as they finish.")
@with_store_options
def tag(
    inputs: tuple[str, ...],
    output: str,
    out_format: str | None,
    keep: str | None,
    drop: str | None,
    fresh: bool,
    input_format: str | None,
    text_column: str | None,
    id_column: str | None,
    kind: str | None,
    encoding: str | None,
    max_chars: int,
    model: str,
    base_url: str | None,
    prompt_id: str | None,
    concurrency: int,
    no_cache: bool,
    redact: bool,
    dry_run: bool,
    batch_size: int,
    progress: bool | None,
    quiet: bool,
    taxonomy_src: str | None,
    exemplars: str | None,
    store_path: str | None,
    chroma_url: str | None,
    embedder: str | None,
    ray_address: str | None = None,
    workers: int | None = None,
    unordered: bool = False,
) -> None:
    """Tag every text in INPUT files (CSV, TSV, JSONL, JSON, TXT, XLSX; '-' for stdin).

    Writes one line per input row, in order, with the primary stage, valence, confidence
    and every moment with its evidence quote and offsets. A row that cannot be tagged is
    written with `error` set and the run goes on.

    Inputs: each file's encoding (UTF-8 with or without BOM, UTF-16, cp1252, other code
    pages) and a CSV's delimiter (, ; tab |) are detected from its start; --encoding
    forces one. .xlsx reads the first sheet (pip install "motai[excel]"). A binary file
    is refused; a text over --max-chars is an error row.

    Outputs keep the input: the text (as 'text', which every moment's start/end points
    into) and every input column are written beside motai's columns; --keep or --drop
    choose. An input column named like one of motai's (kind, stage, ..., text, extra) is
    written as input_NAME. In CSV output a cell starting with = + - @ (or tab, CR) gets
    a leading ' so a spreadsheet shows it instead of running it as a formula.

    Resuming: run the same command into an existing output and it goes on after the
    last finished row (a half-written last row is dropped; finished rows, error rows
    included, are not tagged again). An output written from other inputs, columns,
    taxonomy or model is refused; --fresh starts it over. '-o -' never resumes.

    Exit status: 0 every row tagged; 1 some rows failed (written with 'error' set; the
    summary says how many) or the run stopped on an error (a missing file or column, a
    binary file); 2 usage error (a bad option, an output that is also an input, or an
    existing output this run cannot resume without --fresh).

    \b
    Examples:
      motai tag reviews.csv --text-column body -o tagged.csv
      motai tag posts.jsonl chats.jsonl -o tagged.jsonl
      cat posts.jsonl | motai tag - --kind social > tagged.jsonl
      motai tag export.csv --encoding cp1252 --drop text,email -o tagged.csv
      motai tag survey.xlsx --keep text,date,channel -o tagged.csv
      motai tag reviews.csv --taxonomy b2b.yaml --store ./index -o -
      motai tag feed.csv -o tagged.csv --workers 4 --ray   # on Ray (pip install "motai[ray]")

    \b
    With an LLM (OpenAI key in OPENAI_API_KEY; a local server needs none):
      motai tag reviews.csv --model openai:gpt-4o-mini --dry-run
      motai tag reviews.csv --model openai:gpt-4o-mini --concurrency 8 -o tagged.jsonl
      motai tag chats.jsonl --base-url http://localhost:8000/v1 --model qwen2.5 --redact
      motai tag posts.jsonl --base-url http://localhost:11434/v1 --model llama3.1:8b
    """
    from pathlib import Path

    from motai.io import Passthrough, open_writer, read_items
    from motai.io.resume import OutputMismatch, Resumed, check_provenance, resume_output
    from motai.io.writers import csv_header, output_format
    from motai.tagger import Tagger

    keep_names, drop_names = _names(keep), _names(drop) or []
    if keep_names is not None and drop_names:
        raise UsageError("--keep and --drop: give one or the other")
    if ray_address is None and (workers or unordered):
        raise UsageError("--workers and --unordered go with --ray")
    if output != "-":
        target = Path(output).resolve()
        if any(p != "-" and Path(p).resolve() == target for p in inputs):
            raise UsageError(f"-o {output} is also an input: write the tags to another file")
    try:
        out_fmt = output_format(output, out_format)
        tagger = Tagger(
            model,
            taxonomy=_taxonomy(taxonomy_src),
            exemplars=exemplars,
            embedder=embedder,
            store_path=store_path,
            chroma_url=chroma_url,
            batch_size=batch_size,
            **_llm_kwargs(model, base_url, prompt_id, concurrency, no_cache, redact),
        )
        items = read_items(
            list(inputs),
            text_column=text_column,
            id_column=id_column,
            kind=kind,
            fmt=input_format,
            encoding=encoding,
            max_chars=max_chars or None,
        )
        first = next(items, None)  # file-level errors (missing column) surface before any work
        if first is None:
            raise click.ClickException("no rows to tag in " + ", ".join(inputs))
        passthrough = Passthrough(keep_names, drop_names, text_columns=items.text_columns)
        columns = items.columns
        unknown = passthrough.unknown(columns) if columns is not None else []
        if unknown:
            option = "--keep" if keep_names is not None else "--drop"
            raise UsageError(
                f"{option}: no column {unknown[0]!r} in the input "
                f"(columns: {', '.join(['text', *columns])})"
            )
        rest = _chain(first, items)
        resumed: Resumed | None = None
        out_path = None if output == "-" else Path(output)
        if out_path is not None and not fresh and out_path.is_file() and out_path.stat().st_size:
            header = csv_header(passthrough, columns, first) if out_fmt != "jsonl" else None
            resumed = resume_output(
                out_path,
                out_fmt,
                rest,
                passthrough=passthrough,
                header=header,
                taxonomy_ref=tagger.taxonomy.ref,
            )
        if dry_run:
            if tagger.is_local:
                raise click.ClickException("--dry-run estimates LLM requests: add --model")
            rows = [x for x in rest if x.error is None]
            click.echo(_format_estimate(tagger.classifier.dry_run(rows)))
            if resumed is not None and resumed.rows:
                click.echo(f"  {resumed.rows} row(s) already tagged in {output}: skipped")
            return
        show_bar = not quiet and (sys.stderr.isatty() if progress is None else progress)
        tally = _Tally.of(resumed)
        checked = resumed is None
        with open_writer(
            output,
            out_format,
            append=resumed is not None,
            passthrough=passthrough,
            columns=columns,
        ) as out:
            pairs = _paired(tagger, rest)
            if ray_address is not None:
                reader = {"text_column": text_column, "id_column": id_column, "kind": kind}
                reader |= {"fmt": input_format, "encoding": encoding, "max_chars": max_chars}
                pairs = _on_ray(inputs, tagger, resumed, ray_address, workers, unordered, reader)
            for item, result in _with_progress(pairs, show_bar):
                if not checked and result.error is None:
                    check_provenance(resumed, result)  # type: ignore[arg-type]
                    checked = True
                out.write(result, item)
                tally.add(result)
    except OutputMismatch as exc:
        raise UsageError(str(exc)) from None
    except MotaiError as exc:
        raise _fail(exc) from None
    if not quiet:
        _summary(tally, tagger.taxonomy, resumed)
        if ray_address is None and tagger.ledger is not None:  # on Ray: the actors' own
            from motai.llm.ledger import format_summary

            click.echo(f"{tagger.model}: " + format_summary(tagger.ledger.summary()), err=True)
    if tally.errors:
        click.get_current_context().exit(1)


def _on_ray(
    inputs: tuple[str, ...],
    tagger: Any,
    resumed: Any,
    address: str,
    workers: int | None,
    unordered: bool,
    reader: dict[str, Any],
) -> Iterator[tuple[TextItem, TagResult]]:
    """`--ray`: the same items, read again (`read_items(inputs, **reader)`) in a Ray task
    and tagged by `motai.ray`'s actors; the writing stays here, as without Ray."""
    if unordered and resumed is not None:
        raise UsageError("--unordered cannot resume an output: add --fresh")
    try:
        import motai.ray
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    return motai.ray.tag_files(
        inputs,
        tagger=tagger,
        skip=resumed.rows if resumed is not None else 0,
        address=address,
        workers=workers,
        ordered=not unordered,
        **reader | {"max_chars": reader["max_chars"] or None},
    )


def _llm_kwargs(
    model: str,
    base_url: str | None,
    prompt_id: str | None,
    concurrency: int,
    no_cache: bool,
    redact: bool,
) -> dict:
    """Tagger arguments for an LLM model; a local model only takes the defaults."""
    if model in {"local", "local:default"}:
        if prompt_id or redact:
            raise click.ClickException(
                "--prompt and --redact need an LLM model, e.g. --model openai:gpt-4o-mini"
            )
        return {}
    return {
        "base_url": base_url,
        "prompt": prompt_id,
        "concurrency": concurrency,
        "cache": not no_cache,
        "redact": redact,
    }


def _format_estimate(est: dict) -> str:
    cost = est.get("cost_usd")
    money = "cost unknown (no price for this model)" if cost is None else f"about ${cost:.4f}"
    return (
        f"dry run, nothing sent: {est['texts']} text(s) for {est['model']} at "
        f"{est['endpoint']} with {est['prompt_version']}\n"
        f"  {est['cached']} answered by the cache, {est['requests']} request(s) to send\n"
        f"  about {est['prompt_tokens']} prompt + {est['completion_tokens']} completion "
        f"tokens (without retries or repairs); {money}"
    )


def _chain(first: TextItem, rest: Iterator[TextItem]) -> Iterator[TextItem]:
    yield first
    yield from rest


def _paired(tagger: Any, items: Iterator[TextItem]) -> Iterator[tuple[TextItem, TagResult]]:
    """Each result with the item it came from: `tag_many` gives one result per item, in
    order, so the items it has pulled and not yet answered wait in a queue (a batch)."""
    pending: deque[TextItem] = deque()

    def feed() -> Iterator[TextItem]:
        for item in items:
            pending.append(item)
            yield item

    for result in tagger.tag_many(feed()):
        yield pending.popleft(), result


def _with_progress(results: Iterator[Any], show: bool) -> Iterator[Any]:
    if not show:
        yield from results
        return
    from tqdm import tqdm

    with tqdm(results, desc="tagging", unit="text", file=sys.stderr) as bar:
        yield from bar


@dataclass
class _Tally:
    """What the output holds so far: stage x valence counts and the rows that failed."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: int = 0
    examples: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, resumed: Any) -> _Tally:
        if resumed is None:
            return cls()
        return cls(Counter(resumed.counts), resumed.errors, list(resumed.error_examples))

    def add(self, result: TagResult) -> None:
        if result.error:
            self.errors += 1
            if len(self.examples) < _MAX_ROW_ERRORS_SHOWN:
                self.examples.append(f"{result.id}: {result.error}")
        else:
            self.counts[(result.stage or "", result.valence or "")] += 1


def _summary(tally: _Tally, taxonomy: Taxonomy, resumed: Any = None) -> None:
    """A stage x valence table on stderr, so stdout stays clean for the results."""
    counts = tally.counts
    valences = taxonomy.valence_ids
    width = max(7, *(len(v) for v in valences))
    lines = []
    if resumed is not None:
        lines.append(
            f"resumed {resumed.path}: {resumed.rows} finished row(s) kept, not tagged again"
        )
    lines.append(
        f"{'stage':<6} " + " ".join(f"{v:>{width}}" for v in valences) + f" {'total':>{width}}"
    )
    for stage in taxonomy.labels:
        row = [counts[(stage, v)] for v in valences]
        if sum(row) == 0:
            continue
        lines.append(
            f"{stage:<6} " + " ".join(f"{n:>{width}}" for n in row) + f" {sum(row):>{width}}"
        )
    total = sum(counts.values())
    lines.append(f"tagged {total} text(s), {tally.errors} error(s)")
    for e in tally.examples:
        lines.append(f"  error: {e}")
    if tally.errors > len(tally.examples):
        lines.append(f"  ... and {tally.errors - len(tally.examples)} more (see the 'error' field)")
    if tally.errors:
        lines.append(f"{tally.errors} row(s) failed: written with 'error' set (exit status 1)")
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


@cli.group()
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
    from motai.llm.classifier import build_messages
    from motai.prompts import load_prompt
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


from motai.evals.cli import eval_group  # noqa: E402

cli.add_command(eval_group, "eval")

from motai.cache_cli import cache_group  # noqa: E402

cli.add_command(cache_group, "cache")

from motai.label_cli import label  # noqa: E402

cli.add_command(label, "label")

from motai.train_cli import train  # noqa: E402

cli.add_command(train, "train")


def main() -> None:
    cli(prog_name="motai")

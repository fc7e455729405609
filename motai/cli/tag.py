"""`motai tag`: tag input files into an output that keeps the input and resumes."""

from __future__ import annotations

import sys
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from motai.cli.options import (
    _MAX_ROW_ERRORS_SHOWN,
    UsageError,
    _chain,
    _check_encoding,
    _fail,
    _format_estimate,
    _llm_kwargs,
    _names,
    input_options,
    llm_options,
    run_options,
    with_store_options,
)
from motai.errors import EXIT_FAILED, MotaiError

if TYPE_CHECKING:
    from motai.models import TagResult, TextItem
    from motai.taxonomy import Taxonomy


def _check_max_errors(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, bool]:
    """'5' -> (5, False): a count; '1%' -> (1.0, True): a share of the rows."""
    share = value.endswith("%")
    try:
        n = float(value[:-1]) if share else int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give a count (10) or a share (1%)") from None
    if n < 0 or (share and n > 100):
        raise click.BadParameter(f"{value!r}: give a count >= 0 or a share from 0% to 100%")
    return n, share


def _too_many_errors(errors: int, rows: int, max_errors: tuple[float, bool]) -> bool:
    limit, share = max_errors
    return errors > (limit / 100 * rows if share else limit)


@click.command()
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
    "--max-errors",
    default="0",
    show_default=True,
    metavar="N|P%",
    callback=_check_max_errors,
    help="Failed rows allowed before the exit status is 1: a count, or a share of the "
    "rows (1%). Failed rows are written with 'error' set either way.",
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
    help="Tag on Ray: a local runtime, or the cluster at ADDRESS (pip install 'motai[ray]'). "
    "Put it last, or write --ray=ADDRESS.",
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
    max_errors: tuple[float, bool],
    max_chars: int,
    model: str,
    base_url: str | None,
    prompt_id: str | None,
    concurrency: int,
    rpm: float | None,
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

    Exit status: 0 every row tagged, or no more failed than --max-errors; 1 more rows
    failed (written with 'error' set; the summary says how many) or the run stopped on
    an error (a missing file or column, a binary file); 2 usage error (a bad option, an
    output that is a folder or also an input, or an existing output this run cannot
    resume without --fresh).

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
        if target.is_dir():
            raise UsageError(f"-o {output} is a folder: give a file, e.g. -o {output}/tagged.jsonl")
    try:
        out_fmt = output_format(output, out_format)
        tagger = Tagger(
            model,
            taxonomy=taxonomy_src,  # None: the model's own (a plugin may bring one)
            exemplars=exemplars,
            embedder=embedder,
            store_path=store_path,
            chroma_url=chroma_url,
            batch_size=batch_size,
            **_llm_kwargs(model, base_url, prompt_id, concurrency, no_cache, redact, rpm),
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
    failed = _too_many_errors(tally.errors, tally.rows, max_errors)
    if not quiet:
        _summary(tally, tagger.taxonomy, resumed, failed)
        if ray_address is None and tagger.ledger is not None:  # on Ray: the actors' own
            from motai.llm.ledger import format_summary

            click.echo(f"{tagger.model}: " + format_summary(tagger.ledger.summary()), err=True)
    if failed:
        click.get_current_context().exit(EXIT_FAILED)


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

    @property
    def rows(self) -> int:
        return self.errors + sum(self.counts.values())

    def add(self, result: TagResult) -> None:
        if result.error:
            self.errors += 1
            if len(self.examples) < _MAX_ROW_ERRORS_SHOWN:
                self.examples.append(f"{result.id}: {result.error}")
        else:
            self.counts[(result.stage or "", result.valence or "")] += 1


def _summary(tally: _Tally, taxonomy: Taxonomy, resumed: Any = None, failed: bool = True) -> None:
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
        status = "exit status 1" if failed else "within --max-errors, exit status 0"
        lines.append(f"{tally.errors} row(s) failed: written with 'error' set ({status})")
    click.echo("\n".join(lines), err=True)

"""`motai label`: an LLM labels your own texts into training data for `motai train`.

It reads inputs and talks to the LLM with the options `motai tag` has (`motai.cli.options`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from motai.cli.options import (
    _MAX_ROW_ERRORS_SHOWN,
    UsageError,
    _chain,
    _fail,
    _format_estimate,
    _llm_kwargs,
    input_options,
    llm_options,
    run_options,
    with_store_options,
)
from motai.errors import MotaiError


@click.command("label", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Labelled JSONL to write; an existing one is resumed (its ids are skipped).",
)
@click.option(
    "--model",
    required=True,
    help="The LLM that labels: openai:gpt-4o-mini, or with --base-url the server's model "
    "name (qwen2.5, llama3.1:8b). Not 'local': the local model is what you train.",
)
@llm_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Estimate requests, tokens and cost of the rows still to label, then exit "
    "without sending.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Start OUTPUT over instead of resuming it (cached answers still cost nothing).",
)
@input_options
@run_options
@with_store_options
def label(
    inputs: tuple[str, ...],
    output: str,
    model: str,
    base_url: str | None,
    prompt_id: str | None,
    concurrency: int,
    rpm: float | None,
    no_cache: bool,
    redact: bool,
    dry_run: bool,
    fresh: bool,
    input_format: str | None,
    text_column: str | None,
    id_column: str | None,
    kind: str | None,
    batch_size: int,
    progress: bool | None,
    quiet: bool,
    taxonomy_src: str | None,
    exemplars: str | None,
    store_path: str | None,
    chroma_url: str | None,
    embedder: str | None,
) -> None:
    """Label your own texts with an LLM, into training data for `motai train`.

    Each text of the INPUT files (CSV, TSV, JSONL, JSON, TXT; '-' for stdin) gets its
    primary stage and valence and every moment with its evidence, an exact quote of the
    text, written to OUTPUT as one labelled record per line (the dev set's format: id,
    kind, source, text, stage, valence, moments). Label a sample of your feed once with an
    LLM, train the local model on it, then tag any volume offline, with no request:

    \b
      motai label sample.csv -o labelled.jsonl --model openai:gpt-4o-mini
      motai train labelled.jsonl -o my-model
      motai tag feed.csv --model local:my-model -o tagged.jsonl

    A row that cannot be labelled (an answer still invalid after its repair, a primary
    moment without evidence, an empty text, a duplicate id) is never guessed nor written
    to OUTPUT, so OUTPUT stays clean training data: it goes, with the reason, to the
    errors file beside it (labelled.jsonl -> labelled.errors.jsonl, rewritten each run).
    Every finished line is flushed. Run the same command again to resume: ids already
    in OUTPUT are skipped (a half-written last line is dropped) and the failed rows are
    asked again; --fresh starts OUTPUT over. The cache, the ledger line, --redact and
    --dry-run work as in `motai tag`.

    Exit status: 0 when every row is labelled, 1 when some rows failed (or the run
    stopped on an error), 2 on a usage error.

    \b
    Examples:
      motai label sample.csv -o labelled.jsonl --model openai:gpt-4o-mini --dry-run
      motai label sample.csv -o labelled.jsonl --model openai:gpt-4o-mini --concurrency 8
      motai label chats.jsonl -o labelled.jsonl --base-url http://localhost:8000/v1 \\
          --model qwen2.5 --redact
    """
    from motai.io import read_items
    from motai.label import (
        LOCAL_MODEL_REFUSED,
        errors_path,
        is_local_model,
        label_items,
        labelled_ids,
    )
    from motai.tagger import Tagger

    if is_local_model(model):
        raise UsageError(LOCAL_MODEL_REFUSED)
    if output == "-":
        raise UsageError("-o needs a file: labelled data is written to a file it can resume")
    out = Path(output)
    errs = errors_path(out)
    given = {Path(p).resolve() for p in inputs if p != "-"}
    if out.resolve() in given:
        raise UsageError(f"-o {output} is also an input: write the labels to another file")
    if errs.resolve() in given:
        raise UsageError(
            f"{errs} is where this run writes its failed rows: to retry them, run the "
            "command on the original input again (labelled ids are skipped)"
        )
    try:
        tagger = Tagger(
            model,
            taxonomy=taxonomy_src,
            exemplars=exemplars,
            embedder=embedder,
            store_path=store_path,
            chroma_url=chroma_url,
            batch_size=batch_size,
            **_llm_kwargs(model, base_url, prompt_id, concurrency, no_cache, redact, rpm),
        )
        done = set() if fresh else labelled_ids(out, repair=not dry_run)
        items = read_items(
            list(inputs), text_column=text_column, id_column=id_column, kind=kind, fmt=input_format
        )
        first = next(items, None)  # file-level errors (missing column) surface before any work
        if first is None:
            raise click.ClickException("no rows to label in " + ", ".join(inputs))
        if dry_run:
            rows, seen = [], set()
            for x in _chain(first, items):
                if x.error is None and x.id not in done and x.id not in seen:
                    rows.append(x)
                seen.add(x.id)
            click.echo(_format_estimate(tagger.classifier.dry_run(rows)))
            if done & seen:
                click.echo(f"  {len(done & seen)} row(s) already labelled in {out}: skipped")
            return
        counts: Counter[str] = Counter()
        stages: Counter[str] = Counter()
        failures: list[str] = []
        show_bar = not quiet and (sys.stderr.isatty() if progress is None else progress)
        out.parent.mkdir(parents=True, exist_ok=True)
        errs.unlink(missing_ok=True)  # rewritten by this run: failed rows are asked again
        err_file = None
        try:
            with out.open("w" if fresh else "a", encoding="utf-8") as fh:
                outcomes = label_items(tagger, _chain(first, items), skip=done)
                for x in _with_progress(outcomes, show_bar):
                    counts[x.status] += 1
                    if x.record is not None:
                        fh.write(json.dumps(x.record, ensure_ascii=False) + "\n")
                        fh.flush()
                        stages[x.record["stage"]] += 1
                    elif x.error is not None:
                        if err_file is None:
                            err_file = errs.open("w", encoding="utf-8")
                        row = {
                            "id": x.id,
                            "error": x.error,
                            "kind": x.item.kind,
                            "text": x.item.text,
                        }
                        err_file.write(json.dumps(row, ensure_ascii=False) + "\n")
                        err_file.flush()
                        failures.append(f"{x.id}: {x.error}")
        finally:
            if err_file is not None:
                err_file.close()
    except MotaiError as exc:
        raise _fail(exc) from None
    if not quiet:
        _summary(counts, stages, failures, tagger.taxonomy.labels, out, errs)
        if counts["labelled"] + counts["failed"] and tagger.ledger is not None:
            from motai.llm.ledger import format_summary

            click.echo(f"{tagger.model}: " + format_summary(tagger.ledger.summary()), err=True)
    if counts["failed"]:
        click.get_current_context().exit(1)


def _with_progress(outcomes, show: bool):
    if not show:
        yield from outcomes
        return
    from tqdm import tqdm

    with tqdm(outcomes, desc="labelling", unit="text", file=sys.stderr) as bar:
        yield from bar


def _summary(
    counts: Counter[str],
    stages: Counter[str],
    failures: list[str],
    labels: list[str],
    out: Path,
    errs: Path,
) -> None:
    """What was labelled (by primary stage), skipped and failed, on stderr."""
    n = counts["labelled"]
    by_stage = ", ".join(f"{s} {stages[s]}" for s in labels if stages[s])
    lines = [f"labelled {n} text(s) into {out}" + (f" ({by_stage})" if n else "")]
    if counts["skipped"]:
        lines.append(f"{counts['skipped']} already labelled in {out}: skipped")
    if failures:
        lines.append(f"{len(failures)} failed, not written; the reasons are in {errs}")
        lines += [f"  failed: {f}" for f in failures[:_MAX_ROW_ERRORS_SHOWN]]
        if len(failures) > _MAX_ROW_ERRORS_SHOWN:
            lines.append(f"  ... and {len(failures) - _MAX_ROW_ERRORS_SHOWN} more")
    click.echo("\n".join(lines), err=True)

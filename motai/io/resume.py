"""Resuming `motai tag` into the output file of an interrupted run.

Every result is a flushed line, so a killed run leaves its finished rows and at most one
half-written one. Run again into the same output, `resume_output` reads the finished rows
back, streamed beside the inputs, and checks that they are this run's: the same ids in the
same order, the same input fields passed through (so the same inputs and the same
--keep/--drop; with the text kept, the same texts), the same CSV columns and taxonomy.
The inputs it matches are consumed, so only the rest is tagged; `open_writer(...,
append=True)` then cuts the half-written row and appends. The model is checked at the
first row this run tags (`check_provenance`), before it is written. Anything that does not
match is an `OutputMismatch`: the output is never overwritten silently (`--fresh` starts
it over).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from motai.errors import MotaiError
from motai.io.writers import MOTAI_FIELDS, Passthrough, csv_cells, read_output
from motai.models import TagResult, TextItem

__all__ = ["OutputMismatch", "Resumed", "check_provenance", "resume_output"]

PROVENANCE = ("provider", "model", "prompt_version", "taxonomy_version")
_HINT = "use --fresh to start it over, or another -o"
_MAX_EXAMPLES = 5


class OutputMismatch(MotaiError):
    """An existing output that this run cannot continue: other inputs, options or model."""


@dataclass
class Resumed:
    """The finished rows found in an output: how many, and what they hold."""

    path: str
    rows: int = 0
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    provenance: tuple[str | None, ...] | None = None  # of the last row tagged without error


def _provenance(values: Mapping[str, object]) -> tuple[str | None, ...]:
    return tuple(str(values.get(k)) if values.get(k) else None for k in PROVENANCE)


def _describe(prov: tuple[str | None, ...]) -> str:
    provider, model, prompt, taxonomy = prov
    text = f"{provider}:{model}" if provider else str(model)
    return text + (f" with prompt {prompt}" if prompt else "") + f" and taxonomy {taxonomy}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def resume_output(
    path: str | Path,
    fmt: str,
    items: Iterator[TextItem],
    *,
    passthrough: Passthrough,
    header: Sequence[str] | None = None,
    taxonomy_ref: str | None = None,
) -> Resumed:
    """Check that the output at `path` holds this run's first results and consume, from
    `items`, the inputs it holds; raise OutputMismatch when it was written from other
    inputs or options (`header`: the CSV header this run would write, if known).
    """
    label = str(path)
    done = Resumed(label)
    try:
        existing, rows = read_output(path, fmt)
    except OSError as exc:
        raise OutputMismatch(f"{label}: cannot read it to resume: {exc.strerror or exc}") from None
    if fmt != "jsonl":
        if existing is None:
            return done  # not even a whole header: nothing finished, start it over
        missing = [f for f in MOTAI_FIELDS if f not in existing]
        if missing:
            raise OutputMismatch(f"{label}: not a motai output (no {missing[0]!r} column); {_HINT}")
        if header is not None and list(existing) != list(header):
            ours = [c for c in header if c not in existing]
            theirs = [c for c in existing if c not in header]
            detail = "; ".join(
                [f"this run writes {', '.join(ours)}"] * bool(ours)
                + [f"it has {', '.join(theirs)}"] * bool(theirs)
            )
            raise OutputMismatch(
                f"{label}: its columns are not this run's ({detail or 'in another order'}): "
                f"other inputs or another --keep/--drop; {_HINT}"
            )
    try:
        for n, row in enumerate(rows, 1):
            _check_row(done, n, row, next(items, None), fmt, existing, passthrough, taxonomy_ref)
    except ValueError as exc:  # a JSONL line that is not a JSON object
        raise OutputMismatch(f"{label}: {exc}, not a motai result; {_HINT}") from None
    return done


def _check_row(
    done: Resumed,
    n: int,
    row: dict,
    item: TextItem | None,
    fmt: str,
    header: Sequence[str] | None,
    passthrough: Passthrough,
    taxonomy_ref: str | None,
) -> None:
    label = done.path
    if "id" not in row:
        raise OutputMismatch(f"{label}: row {n} is not a motai result (no id); {_HINT}")
    if item is None:
        raise OutputMismatch(
            f"{label}: has more rows than the inputs ({n - 1}): it was not written from "
            f"these inputs; {_HINT}"
        )
    fields = passthrough.fields(item)
    if fmt == "jsonl":
        expected: dict[str, object] = {"id": item.id} | json.loads(
            json.dumps(fields, ensure_ascii=False)
        )
        found = {k: v for k, v in row.items() if k not in MOTAI_FIELDS or k == "id"}
    else:
        assert header is not None
        names = ["id"] + [c for c in header if c not in MOTAI_FIELDS]
        cells = csv_cells(header, {"id": item.id}, fields)
        expected = {c: cells[c] for c in names}
        found = {c: row.get(c, "") for c in names}
    if found["id"] != expected["id"]:
        raise OutputMismatch(
            f"{label}: was not written from these inputs: its row {n} is id "
            f"{_short(found['id'])}, the inputs' row {n} is {_short(expected['id'])}; {_HINT}"
        )
    if found != expected:
        name = next(k for k in [*expected, *found] if found.get(k) != expected.get(k))
        raise OutputMismatch(
            f"{label}: was not written from these inputs with these options: row {n} "
            f"(id {_short(item.id)}) has {name} {_short(found.get(name))}, this run "
            f"{_short(expected.get(name))}; {_HINT}"
        )
    taxonomy = row.get("taxonomy_version") or None
    if taxonomy and taxonomy_ref and taxonomy != taxonomy_ref:
        raise OutputMismatch(
            f"{label}: was tagged with taxonomy {taxonomy}, this run uses {taxonomy_ref}; {_HINT}"
        )
    done.rows += 1
    error = row.get("error") or None
    if error:
        done.errors += 1
        if len(done.error_examples) < _MAX_EXAMPLES:
            done.error_examples.append(f"{item.id}: {error}")
    else:
        done.counts[(str(row.get("stage") or ""), str(row.get("valence") or ""))] += 1
        done.provenance = _provenance(row)


def check_provenance(done: Resumed, result: TagResult) -> None:
    """Refuse to append `result` (the first this run tags) to rows tagged by another model,
    prompt or taxonomy."""
    if result.error is not None or done.provenance is None:
        return
    ours = _provenance(result.model_dump())
    if ours != done.provenance:
        raise OutputMismatch(
            f"{done.path}: was tagged by {_describe(done.provenance)}; this run tags with "
            f"{_describe(ours)}; {_HINT}"
        )

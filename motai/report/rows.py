"""motai's own output files read back for a report: JSONL or CSV, one row at a time.

A report never needs a whole file in memory, so rows are yielded as small `Row`s: motai's
fields checked (a bad one is an `InputError` naming file, row and field) and the input's
kept columns (`--keep`) as plain strings in `fields`, whichever format wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from motai.errors import InputError
from motai.io.writers import EXTRA, MOTAI_FIELDS, neutralise, output_format, read_output

__all__ = ["Row", "RowMoment", "iter_rows"]


@dataclass(slots=True)
class RowMoment:
    """One moment of a tagged row (slots: a million rows pass through here)."""

    stage: str
    valence: str
    evidence: str
    start: int
    confidence: float


@dataclass(slots=True)
class Row:
    """One tagged row: motai's fields, and the kept input columns as read (`value` gives
    one as text, converted only when a report groups by it)."""

    id: str
    file: str
    line: int
    kind: str | None
    stage: str | None
    valence: str | None
    confidence: float | None
    moments: list[RowMoment]
    language: str | None
    error: str | None
    fields: dict[str, object] = field(default_factory=dict)

    def value(self, name: str) -> str:
        """A kept input column as text ("" when the row has none)."""
        return _text(self.fields.get(name)).strip()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _opt(value: object) -> str | None:
    text = _text(value).strip()
    return text or None


def _number(value: object, where: dict, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"not a number: {_text(value)[:40]!r}", field=name, **where) from None
    if not 0.0 <= number <= 1.0:
        raise InputError(f"confidence {number} is not in [0, 1]", field=name, **where)
    return number


def _moments(value: object, where: dict) -> list[RowMoment]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON ({exc.msg})", field="moments", **where) from None
    if not isinstance(value, list):
        raise InputError("not a list of moments", field="moments", **where)
    out = []
    for i, m in enumerate(value):
        name = f"moments[{i}]"
        if not isinstance(m, dict):
            raise InputError("not an object", field=name, **where)
        stage, valence, evidence = m.get("stage"), m.get("valence"), m.get("evidence", "")
        if not isinstance(stage, str) or not isinstance(valence, str):
            raise InputError("needs a stage and a valence", field=name, **where)
        start = m.get("start", 0)
        out.append(
            RowMoment(
                stage=stage,
                valence=valence,
                evidence=_text(evidence),
                start=start if isinstance(start, int) else 0,
                confidence=_number(m.get("confidence"), where, f"{name}.confidence") or 0.0,
            )
        )
    return out


def unneutralise(cell: str) -> str:
    """The cell as it was before motai's CSV writer put a `'` before a formula start."""
    if cell.startswith("'") and neutralise(cell[1:]) != cell[1:]:
        return cell[1:]
    return cell


def _row(data: dict, file: str, line: int) -> Row:
    where = {"file": file, "row": line}
    if "id" not in data or _opt(data.get("id")) is None:
        raise InputError("missing: is this a motai output file?", field="id", **where)
    if "stage" not in data and "moments" not in data and "error" not in data:
        raise InputError("missing: is this a motai output file?", field="stage", **where)
    fields = {k: v for k, v in data.items() if k not in MOTAI_FIELDS}
    extra = fields.get(EXTRA)
    if isinstance(extra, str) and extra.startswith("{"):  # CSV: later JSON rows' fields
        try:
            parsed = json.loads(extra)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            del fields[EXTRA]
            fields.update(parsed)
    return Row(
        id=_text(data["id"]),
        file=file,
        line=line,
        kind=_opt(data.get("kind")),
        stage=_opt(data.get("stage")),
        valence=_opt(data.get("valence")),
        confidence=_number(data.get("confidence"), where, "confidence"),
        moments=_moments(data.get("moments"), where),
        language=_opt(data.get("language")),
        error=_opt(data.get("error")),
        fields=fields,
    )


def iter_rows(paths: Sequence[str | Path], required: Sequence[str] = ()) -> Iterator[Row]:
    """Every row of the files in order.

    `required` are columns the report groups by: when no file has one (no CSV header
    names it, no JSONL row holds it), that is an InputError naming the file(s) and the
    field, raised after the last row; a file without it just has no value there.
    """
    seen: set[str] = set()
    for path in paths:
        label = str(path)
        p = Path(path)
        if not p.is_file():
            raise InputError("no such file", file=label)
        try:
            header, records = read_output(p, output_format(p))
            if header is not None:
                _check_header(header, label)
                seen.update(c for c in required if c in header)
                absent = [c for c in required if c not in header and EXTRA not in header]
                if len(paths) == 1 and absent:  # no need to read a million rows to know
                    raise InputError(
                        "no such column in the tagged output (left out by --keep or --drop?)",
                        file=label,
                        field=absent[0],
                    )
            for n, data in enumerate(records, 1):
                if header is not None:
                    data = {
                        k: unneutralise(v) if isinstance(v, str) else v for k, v in data.items()
                    }
                row = _row(data, label, n)
                if len(seen) < len(required):
                    seen.update(c for c in required if c in row.fields)
                yield row
        except ValueError as exc:  # read_output's "line N is not JSON"
            raise InputError(str(exc), file=label) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8: {exc.reason}", file=label) from None
    if missing := [c for c in required if c not in seen]:
        raise InputError(
            "no such column in the tagged output (left out by --keep or --drop?)",
            file=", ".join(str(p) for p in paths),
            field=missing[0],
        )


def _check_header(header: list[str], label: str) -> None:
    if "id" not in header or not {"stage", "moments"} <= set(header):
        raise InputError("not a motai output file (no id, stage, moments)", file=label, row=1)

"""Writers: TagResults out as JSONL (default) or CSV, one flushed line per result.

Given each result's TextItem, a writer passes the input through beside motai's fields:
the text (as `text`) and every other input field (see `Passthrough`). CSV cells that a
spreadsheet would run as a formula get a leading `'` (see `neutralise`).

Flushing every line means a run killed at row 90,000 keeps 90,000 finished rows;
`read_output` and `complete_end` let a resumed run check them and append after them.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pydantic import ValidationError

from motai.errors import InputError
from motai.models import TagResult, TextItem

__all__ = [
    "CSV_FIELDS",
    "MOTAI_FIELDS",
    "WRITE_FORMATS",
    "Passthrough",
    "ResultWriter",
    "complete_end",
    "csv_cells",
    "csv_header",
    "iter_results",
    "neutralise",
    "open_writer",
    "output_format",
    "read_output",
]

WRITE_FORMATS = ("jsonl", "csv", "tsv")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv"}  # anything else is JSONL
MOTAI_FIELDS = tuple(TagResult.model_fields)
CSV_FIELDS = MOTAI_FIELDS  # the header when no input is passed through
TEXT = "text"  # the text that was tagged: every moment's start/end points into it
EXTRA = "extra"  # CSV only: fields of later JSON rows that the header (from the first) lacks
RESERVED = frozenset(MOTAI_FIELDS) | {TEXT, EXTRA}
INPUT_PREFIX = "input_"

# A cell a spreadsheet would run as a formula (OWASP's CSV injection list: = + - @ tab CR);
# a plain number such as -5 or +3.5 is left alone.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+[.,]?\d*|[.,]\d+)([eE][+-]?\d+)?")


def neutralise(cell: str) -> str:
    """`'=1+1` for `=1+1`: a leading ' makes a spreadsheet show the cell, never run it."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _norm(name: str) -> str:
    return name.strip().lower()


class Passthrough:
    """Which input fields go out beside motai's, and under which names.

    By default every field of the input row (`TextItem.extra`: all but the id and text
    columns) and the text itself, as `text`. `keep` lists the only ones to write (in that
    order), `drop` the ones not to write; names match the input's, ignoring case, and
    `text` (or the text column's own name, `text_columns`) is the text. A field whose name
    is one of motai's (id, kind, stage, ..., text, extra) is written as `input_NAME`.
    """

    def __init__(
        self,
        keep: Sequence[str] | None = None,
        drop: Sequence[str] = (),
        *,
        text_columns: Sequence[str] = (),
    ) -> None:
        if keep is not None and drop:
            raise ValueError("give the fields to keep or to drop, not both")
        self._text_names = {TEXT} | {_norm(c) for c in text_columns}
        self.keep: list[str] | None = None
        self.text = True
        if keep is not None:
            self.keep = [k for k in dict.fromkeys(keep) if _norm(k) not in self._text_names]
            self.text = any(_norm(k) in self._text_names for k in keep)
        self.drop = {_norm(d) for d in drop}
        if self.drop & self._text_names:
            self.text = False

    @staticmethod
    def output_name(name: str) -> str:
        out = name
        while out in RESERVED:
            out = INPUT_PREFIX + out
        return out

    def unknown(self, columns: Sequence[str]) -> list[str]:
        """The names given to keep or drop that are neither a column nor the text or id."""
        known = {_norm(c) for c in columns} | self._text_names | {"id"}
        return [n for n in [*(self.keep or []), *sorted(self.drop)] if _norm(n) not in known]

    def _selected(self, names: Sequence[str]) -> list[str]:
        if self.keep is None:
            return [n for n in names if _norm(n) not in self.drop]
        found: list[str] = []
        for wanted in self.keep:
            match = wanted if wanted in names else None
            if match is None:
                match = next((n for n in names if _norm(n) == _norm(wanted)), None)
            if match is not None and match not in found:
                found.append(match)
        return found

    def fields(self, item: TextItem) -> dict[str, object]:
        """The input fields written for `item`, under their output names, in order."""
        out: dict[str, object] = {TEXT: item.text} if self.text else {}
        for name in self._selected(list(item.extra)):
            out[self.output_name(name)] = item.extra[name]
        return out

    def columns(self, input_columns: Sequence[str] | None) -> list[str] | None:
        """The output names of the fields written for rows with these input columns, or
        None when they depend on each row (`input_columns` unknown and no `keep`)."""
        if input_columns is None:
            if self.keep is None:
                return None
            names = self.keep
        else:
            names = self._selected(list(input_columns))
        return ([TEXT] if self.text else []) + [self.output_name(n) for n in names]


def csv_header(
    passthrough: Passthrough, columns: Sequence[str] | None, item: TextItem | None = None
) -> list[str]:
    """The CSV header: motai's fields, then the text and the input's columns.

    `columns` are the input columns when known before reading (CSV/TSV/.xlsx headers);
    otherwise the first row's fields decide, and an `extra` column (a JSON object) takes the
    fields of later rows that the header lacks.
    """
    names = passthrough.columns(columns)
    if names is not None:
        return [*MOTAI_FIELDS, *names]
    if item is None:
        return list(MOTAI_FIELDS)
    return [*MOTAI_FIELDS, *(passthrough.columns(list(item.extra)) or []), EXTRA]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def csv_cells(
    header: Sequence[str], values: dict[str, object], passthrough: dict[str, object]
) -> dict[str, str]:
    """One CSV row: motai's `values` and the `passthrough` fields under `header`, every cell
    text and formula-neutralised; fields the header lacks go to `extra` when it has one."""
    merged = passthrough | values
    row = {name: neutralise(_cell(merged.get(name))) for name in header}
    if EXTRA in header:
        rest = {k: v for k, v in passthrough.items() if k not in header}
        row[EXTRA] = json.dumps(rest, ensure_ascii=False) if rest else ""
    return row


class ResultWriter:
    """Writes TagResults (and, given each one's TextItem, the input passed through) to an
    open text stream; a context manager that closes what it opened.

    CSV and TSV cells are neutralised against formula injection (see `neutralise`). The
    CSV header is written before the first row: `header` if given (an existing file's, when
    appending), else as `csv_header` decides.
    """

    def __init__(
        self,
        stream: IO[str],
        fmt: str = "jsonl",
        *,
        close: bool = True,
        passthrough: Passthrough | None = None,
        columns: Sequence[str] | None = None,
        header: Sequence[str] | None = None,
        header_written: bool = False,
    ) -> None:
        if fmt not in WRITE_FORMATS:
            raise ValueError(f"unknown output format {fmt!r} (use one of: {WRITE_FORMATS})")
        self.stream, self.fmt, self._close = stream, fmt, close
        self.passthrough = passthrough or Passthrough()
        self.columns = None if columns is None else list(columns)
        self.header: list[str] | None = None if header is None else list(header)
        self._header_written = header_written
        self.count = 0
        self._csv: Any = None
        if fmt in ("csv", "tsv"):
            self._csv = csv.writer(stream, dialect=_dialect(fmt), lineterminator="\n")
            # csv quotes a field holding "\n" but not a lone "\r" (it is not in the line
            # terminator), which a reader would take for a line end: such rows are quoted whole.
            self._csv_quoted = csv.writer(
                stream, dialect=_dialect(fmt), lineterminator="\n", quoting=csv.QUOTE_ALL
            )

    def write_header(self, item: TextItem | None = None) -> None:
        """Write the CSV header now, if not written yet (JSONL has none)."""
        if self._csv is None or self._header_written:
            return
        if self.header is None:
            self.header = csv_header(self.passthrough, self.columns, item)
        self._csv.writerow(self.header)
        self._header_written = True
        self.stream.flush()

    def write(self, result: TagResult, item: TextItem | None = None) -> None:
        """Write one result, with `item`'s text and fields, and flush (finished work
        survives a kill)."""
        fields = self.passthrough.fields(item) if item is not None else {}
        if self._csv is not None:
            self.write_header(item)
            assert self.header is not None
            cells = csv_cells(self.header, result.flat(), fields)
            row = [cells[name] for name in self.header]
            writer = self._csv_quoted if any("\r" in c for c in row) else self._csv
            writer.writerow(row)
        else:
            line = json.dumps(result.model_dump(mode="json") | fields, ensure_ascii=False)
            self.stream.write(line + "\n")
        self.stream.flush()
        self.count += 1

    def close(self) -> None:
        self.write_header()  # an empty run still leaves a CSV with its header
        if self._close:
            self.stream.close()
        else:
            self.stream.flush()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def output_format(path: str | Path, fmt: str | None = None) -> str:
    """`fmt` if given, else from the extension: .csv, .tsv, anything else JSONL."""
    if fmt is not None:
        resolved = {"ndjson": "jsonl"}.get(fmt.lower(), fmt.lower())
        if resolved not in WRITE_FORMATS:
            raise ValueError(f"unknown output format {fmt!r} (use one of: {WRITE_FORMATS})")
        return resolved
    if str(path) == "-":
        return "jsonl"
    return _EXTENSIONS.get(Path(path).suffix.lower(), "jsonl")


def open_writer(
    path: str | Path,
    fmt: str | None = None,
    *,
    append: bool = False,
    passthrough: Passthrough | None = None,
    columns: Sequence[str] | None = None,
) -> ResultWriter:
    """Open a result writer on a file (parent folders created) or `-` for stdout.

    `passthrough` says which input fields to write beside each result (default: all, and
    the text); `columns` are the input columns when known ahead (`ItemStream.columns`).
    `append=True` is for resuming: the file is kept, a partial last record left by a kill
    is cut off, and a CSV keeps its own header (written only if it has none).
    """
    resolved = output_format(path, fmt)
    kw: dict[str, Any] = {"passthrough": passthrough, "columns": columns}
    if str(path) == "-":
        return ResultWriter(sys.stdout, resolved, close=False, **kw)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    header = None
    if append and p.exists():
        if resolved == "jsonl":
            end = complete_end(p, resolved)
        else:
            header = _existing_header(p, resolved)
            end = complete_end(p, resolved) if header is not None else 0
        with open(p, "rb+") as f:
            f.truncate(end)
    stream = open(p, "a" if append else "w", encoding="utf-8", newline="")  # noqa: SIM115
    return ResultWriter(stream, resolved, header=header, header_written=header is not None, **kw)


def _dialect(fmt: str) -> type[csv.Dialect]:
    return csv.excel_tab if fmt == "tsv" else csv.excel


def _csv_records(path: Path) -> Iterator[tuple[bytes, int]]:
    """The complete records of a CSV we wrote, as bytes, each with the offset just past it.

    A record ends at a newline outside quotes (an even count of `"` so far); what follows
    the last one is a write cut short. Streamed line by line.
    """
    pos, record, quotes = 0, b"", 0
    with open(path, "rb") as f:
        for line in f:
            record += line
            quotes += line.count(b'"')
            if line.endswith(b"\n") and quotes % 2 == 0:
                pos += len(record)
                yield record, pos
                record, quotes = b"", 0


def _parse_record(record: bytes, fmt: str) -> list[str]:
    text = record.decode("utf-8", errors="replace")
    return next(csv.reader([text], dialect=_dialect(fmt)), [])


def _existing_header(path: Path, fmt: str) -> list[str] | None:
    records = _csv_records(path)
    try:
        first = next(records, None)
    finally:
        records.close()
    return None if first is None else _parse_record(first[0], fmt)


def complete_end(path: str | Path, fmt: str = "jsonl") -> int:
    """How many leading bytes of an output file are whole records (a resume cuts the rest):
    up to the last newline for JSONL, to the last record outside quotes for CSV."""
    p = Path(path)
    if fmt != "jsonl":
        last = 0
        for _, last_end in _csv_records(p):
            last = last_end
        return last
    with open(p, "rb") as f:
        pos, chunk = f.seek(0, 2), 65536
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            cut = f.read(pos - start).rfind(b"\n")
            if cut >= 0:
                return start + cut + 1
            pos = start
    return 0


def read_output(path: str | Path, fmt: str = "jsonl") -> tuple[list[str] | None, Iterator[dict]]:
    """The header (CSV; None for JSONL and for a CSV without a whole header) and the
    complete rows of an output file, streamed: dicts of cells (CSV) or the parsed lines
    (JSONL; a line that is not a JSON object is a ValueError naming it)."""
    p = Path(path)
    if fmt == "jsonl":
        return None, _jsonl_rows(p)
    records = _csv_records(p)
    first = next(records, None)
    if first is None:
        return None, iter(())
    header = _parse_record(first[0], fmt)

    def rows() -> Iterator[dict]:
        for record, _ in records:
            cells = _parse_record(record, fmt)
            cells += [""] * (len(header) - len(cells))
            yield dict(zip(header, cells, strict=False))

    return header, rows()


def _jsonl_rows(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                return  # cut short by a kill
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {n} is not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"line {n} is not a JSON object")
            yield row


def iter_results(path: str | Path) -> Iterator[TagResult]:
    """Read back a JSONL result file line by line, as TagResults (the input's fields passed
    through beside them are left out).

    A last line without a newline is a write cut short by a kill and is skipped; any other
    bad line raises InputError naming the file and line.
    """
    label = str(path)
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=label) from exc
    with f:
        try:
            yield from _parse_results(f, label)
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8: {exc.reason}", file=label) from None


def _parse_results(lines: IO[str], label: str) -> Iterator[TagResult]:
    for row, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if isinstance(data, dict):
                data = {k: v for k, v in data.items() if k in MOTAI_FIELDS}
            yield TagResult.model_validate(data)
        except json.JSONDecodeError as exc:
            if not line.endswith("\n"):
                return
            raise InputError(f"not a result line: {exc.msg}", file=label, row=row) from None
        except ValidationError as exc:
            if not line.endswith("\n"):
                return
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            reason = f"not a result line: {first['msg']}" + (f" at {where}" if where else "")
            raise InputError(reason, file=label, row=row) from None

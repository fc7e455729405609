"""Writers: TagResults out as JSONL (default) or CSV, one flushed line per result.

Flushing every line means a run killed at row 90,000 keeps 90,000 finished rows, and
`iter_results` reads them back so a resumed run can skip them.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import ValidationError

from motai.errors import InputError
from motai.models import TagResult

__all__ = ["WRITE_FORMATS", "ResultWriter", "iter_results", "open_writer"]

WRITE_FORMATS = ("jsonl", "csv", "tsv")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv"}  # anything else is JSONL
CSV_FIELDS = tuple(TagResult.model_fields)


class ResultWriter:
    """Writes TagResults to an open text stream; a context manager that closes what it opened."""

    def __init__(self, stream: IO[str], fmt: str = "jsonl", *, close: bool = True) -> None:
        if fmt not in WRITE_FORMATS:
            raise ValueError(f"unknown output format {fmt!r} (use one of: {WRITE_FORMATS})")
        self.stream, self.fmt, self._close = stream, fmt, close
        self.count = 0
        self._csv: csv.DictWriter[str] | None = None
        if fmt in ("csv", "tsv"):
            self._csv = csv.DictWriter(
                stream,
                fieldnames=CSV_FIELDS,
                dialect=csv.excel_tab if fmt == "tsv" else csv.excel,
                lineterminator="\n",
            )

    def write_header(self) -> None:
        """CSV header line; `open_writer` calls it unless appending to a non-empty file."""
        if self._csv is not None:
            self._csv.writeheader()
            self.stream.flush()

    def write(self, result: TagResult) -> None:
        """Write one result and flush, so finished work survives a kill."""
        if self._csv is not None:
            self._csv.writerow(result.flat())
        else:
            line = json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
            self.stream.write(line + "\n")
        self.stream.flush()
        self.count += 1

    def close(self) -> None:
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


def open_writer(path: str | Path, fmt: str | None = None, *, append: bool = False) -> ResultWriter:
    """Open a result writer on a file (parent folders created) or `-` for stdout.

    `append=True` is for resuming: the file is kept, a partial last line left by a kill is
    cut off, and a CSV header is written only if the file is empty.
    """
    resolved = output_format(path, fmt)
    if str(path) == "-":
        writer = ResultWriter(sys.stdout, resolved, close=False)
        writer.write_header()
        return writer
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if append and p.exists():
        _drop_partial_line(p)
    stream = open(p, "a" if append else "w", encoding="utf-8", newline="")  # noqa: SIM115
    writer = ResultWriter(stream, resolved)
    if not (append and p.stat().st_size > 0):
        writer.write_header()
    return writer


def _drop_partial_line(path: Path) -> None:
    """Cut a last line that has no newline: a write interrupted mid-line is not finished work."""
    with open(path, "rb+") as f:
        size = f.seek(0, 2)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        pos, chunk = size, 65536
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            cut = f.read(pos - start).rfind(b"\n")
            if cut >= 0:
                f.truncate(start + cut + 1)
                return
            pos = start
        f.truncate(0)


def iter_results(path: str | Path) -> Iterator[TagResult]:
    """Read back a JSONL result file line by line (for resuming a run).

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
            yield TagResult.model_validate_json(line)
        except ValidationError as exc:
            if not line.endswith("\n"):
                return
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            reason = f"not a result line: {first['msg']}" + (f" at {where}" if where else "")
            raise InputError(reason, file=label, row=row) from None

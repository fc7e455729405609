"""Readers: CSV, TSV, JSONL, JSON and plain-text files (or stdin) streamed as TextItems.

Streaming matters because a batch can be a million rows: CSV goes through the csv module
over the open file and JSONL line by line, so memory stays flat. Problems a user must fix
before anything is worth running (a missing file, a wrong `--text-column`) raise InputError;
problems in one row (bad UTF-8, empty text, a broken JSON line) become a TextItem with
`error` set, so the batch goes on and the output keeps one line per input row.

Row numbers (`TextItem.row`, generated ids `<stem>-<row>`): the 1-based data record for CSV
and TSV (the header is not counted; a quoted field may span lines), the 1-based physical line
for JSONL and .txt, the 1-based list index for .json.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, get_args

from motai.errors import InputError
from motai.io.transcripts import (
    TurnError,
    count_speaker_lines,
    looks_like_transcript,
    turns_to_text,
)
from motai.models import Kind, TextItem

__all__ = ["FORMATS", "KINDS", "TEXT_COLUMNS", "detect_kind", "read_items"]

KINDS: tuple[str, ...] = get_args(Kind)
TEXT_COLUMNS = ("text", "body", "content", "message", "review", "review_text")
TURNS_COLUMNS = ("turns", "messages")
FORMATS = ("csv", "tsv", "jsonl", "json", "txt")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".txt": "txt",
}
_FORMAT_ALIASES = {"ndjson": "jsonl", "text": "txt"}
STDIN = "-"
_STDIN_LABEL = "<stdin>"
SOCIAL_MAX_CHARS = 400
_TXT_PEEK_LINES = 20  # non-empty lines of a .txt head looked at to spot a transcript
_JSONL_MAX_PENDING = 1000  # error lines held back while waiting for the first object

# @handle not inside an e-mail address; #tag with at least one letter (not "order #1234").
_HANDLE = re.compile(r"(?<![\w.@])@\w{1,30}")
_HASHTAG = re.compile(r"(?<![\w&#])#\w*[^\W\d]\w*")


def detect_kind(text: str) -> str:
    """Guess `transcript`, `social` or `review` from the text alone.

    Transcript: two or more lines open with a speaker label (`Customer:`, `Agent:`, ...).
    Social: an @handle or #hashtag in a text under 400 characters. Everything else: review.
    The kind picks the prompt and the exemplars, so a cheap, predictable rule beats a clever one.
    """
    if count_speaker_lines(text) >= 2:
        return "transcript"
    if len(text) < SOCIAL_MAX_CHARS and (_HANDLE.search(text) or _HASHTAG.search(text)):
        return "social"
    return "review"


def read_items(
    paths: Sequence[str | Path],
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    kind: str | None = None,
    fmt: str | None = None,
) -> Iterator[TextItem]:
    """Stream TextItems from files (`-` is stdin) in order.

    Checked at call time, before any item: the arguments, that every file exists and has a
    known format, and that every CSV/TSV header has the text (and id) column, so a wrong
    column fails at once. A JSONL file is checked at its first object instead (raising before
    that file yields anything). `.json` must be a list and is loaded whole; `.txt` is one text
    per non-empty line, or one transcript item when the file is speaker-labelled lines.
    """
    if isinstance(paths, (str, Path)):  # one path, not a sequence of characters
        paths = [paths]
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown kind {kind!r} (use one of: {', '.join(KINDS)})")
    sources = [_source(p, fmt, text_column, id_column, kind) for p in paths]
    for src in sources:
        if src.fmt in ("csv", "tsv") and not src.is_stdin:
            with _open_text(src) as f:
                _csv_header(src, csv.reader(f, dialect=src.dialect))
    return _read_all(sources)


def _read_all(sources: list[_Source]) -> Iterator[TextItem]:
    for src in sources:
        with _open_text(src) as f:
            try:
                yield from _READERS[src.fmt](src, f)
            except UnicodeDecodeError as exc:  # only where we read strictly (never per row)
                raise InputError(f"not valid UTF-8: {exc.reason}", file=src.label) from exc
            except OSError as exc:
                raise InputError(f"cannot read: {exc.strerror or exc}", file=src.label) from exc


@dataclass
class _Source:
    """One input and the options that apply to it."""

    path: Path | None
    label: str
    stem: str
    fmt: str
    text_column: str | None
    id_column: str | None
    kind: str | None

    @property
    def is_stdin(self) -> bool:
        return self.path is None

    @property
    def dialect(self) -> type[csv.Dialect]:
        return csv.excel_tab if self.fmt == "tsv" else csv.excel

    def error_item(
        self, message: str, row: int, *, field: str | None = None, id: str | None = None
    ) -> TextItem:
        """An unusable row: empty text and the reason as one line naming file, row, field."""
        err = InputError(message, file=self.label, row=row, field=field)
        return TextItem(
            id=id or f"{self.stem}-{row}",
            text="",
            kind=self.kind,  # type: ignore[arg-type]
            row=row,
            file=self.label,
            error=str(err),
        )


def _source(
    path: str | Path,
    fmt: str | None,
    text_column: str | None,
    id_column: str | None,
    kind: str | None,
) -> _Source:
    """Resolve the format and check the file is there, naming it if not."""
    is_stdin = str(path) == STDIN
    label = _STDIN_LABEL if is_stdin else str(path)
    if fmt is not None:
        resolved = _FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if resolved not in FORMATS:
            raise InputError(f"unknown format {fmt!r} (use one of: {', '.join(FORMATS)})")
    elif is_stdin:
        resolved = "jsonl"
    else:
        suffix = Path(path).suffix.lower()
        if suffix not in _EXTENSIONS:
            raise InputError(
                f"unknown file type {suffix or '(none)'!r}; use one of "
                f"{', '.join(sorted(_EXTENSIONS))} or give the format",
                file=label,
            )
        resolved = _EXTENSIONS[suffix]
    p = None if is_stdin else Path(path)
    if p is not None and not p.exists():
        raise InputError("no such file", file=label)
    if p is not None and not p.is_file():
        raise InputError("not a file", file=label)
    return _Source(
        path=p,
        label=label,
        stem="stdin" if p is None else p.stem,
        fmt=resolved,
        text_column=text_column,
        id_column=id_column,
        kind=kind,
    )


@contextmanager
def _open_text(src: _Source) -> Iterator[IO[str]]:
    """Open a source as text: UTF-8, BOM dropped, bad bytes kept as surrogates to flag per row.

    `surrogateescape` is what lets a bad byte in row 57 fail row 57 only.
    """
    if src.path is None:
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:  # already text (a test's StringIO, say)
            yield sys.stdin
            return
        wrapper = io.TextIOWrapper(
            buffer, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        try:
            yield wrapper
        finally:
            wrapper.detach()  # leave sys.stdin's buffer open
        return
    try:
        f = open(src.path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=src.label) from exc
    with f:
        yield f


def _has_bad_bytes(value: object) -> bool:
    """Whether a decoded value holds bytes that were not UTF-8 (surrogates from the decoder)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_bad_bytes(k) or _has_bad_bytes(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_bad_bytes(v) for v in value)
    return False


def _bad_byte_message(value: object) -> str:
    """Name the first bad byte, so the user can find it in a hex editor or `grep -P`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    for ch in text:
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            return f"not valid UTF-8 (byte 0x{ord(ch) - 0xDC00:02x}); save the file as UTF-8"
    return "not valid UTF-8; save the file as UTF-8"


def _find_key(keys: Iterable[str], wanted: str) -> str | None:
    """The key matching `wanted`: exactly, else ignoring case and surrounding spaces."""
    keys = list(keys)
    if wanted in keys:
        return wanted
    low = wanted.strip().lower()
    return next((k for k in keys if isinstance(k, str) and k.strip().lower() == low), None)


def _text_key(keys: Iterable[str], text_column: str | None, *, turns: bool) -> str | None:
    """The text column: the one given, else the first default candidate present."""
    keys = list(keys)
    if text_column is not None:
        return _find_key(keys, text_column)
    for name in TEXT_COLUMNS + (TURNS_COLUMNS if turns else ()):
        key = _find_key(keys, name)
        if key is not None:
            return key
    return None


def _missing_text_message(src: _Source, keys: list[str], what: str) -> tuple[str, str | None]:
    names = ", ".join(keys) or "none"
    if src.text_column is not None:
        return f"no {what} {src.text_column!r} ({what}s: {names})", src.text_column
    tried = TEXT_COLUMNS + (TURNS_COLUMNS if what == "field" else ())
    return f"no text {what}: none of {', '.join(tried)} ({what}s: {names})", None


def _clean_id(value: object) -> str | None:
    """An id as a string, or None when absent or unusable (then one is generated)."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def _kind_of(value: object) -> str | None:
    if isinstance(value, str) and value.strip().lower() in KINDS:
        return value.strip().lower()
    return None


def _record_item(
    src: _Source, record: dict[str, object], row: int, text_key: str | None, id_key: str | None
) -> TextItem:
    """Build one item from a row already split into fields; row problems become error items."""
    item_id = _clean_id(record.get(id_key)) if id_key else None
    bad = next((k for k, v in record.items() if _has_bad_bytes(k) or _has_bad_bytes(v)), None)
    if bad is not None:
        if bad == id_key:
            item_id = None
        field = bad if not _has_bad_bytes(bad) else None
        return src.error_item(_bad_byte_message(record[bad]), row, field=field, id=item_id)
    if text_key is None or text_key not in record:
        message, field = _missing_text_message(src, list(record), "field")
        return src.error_item(message, row, field=field, id=item_id)
    value = record[text_key]
    from_turns = False
    if isinstance(value, list):
        try:
            text = turns_to_text(value)
        except TurnError as exc:
            return src.error_item(str(exc), row, field=text_key, id=item_id)
        from_turns = True
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
    elif value is None:
        text = ""
    else:
        kind_name = type(value).__name__
        return src.error_item(f"expected text, got {kind_name}", row, field=text_key, id=item_id)
    if not text.strip():
        return src.error_item("empty text", row, field=text_key, id=item_id)

    kind_key = _find_key(record, "kind")
    column_kind = _kind_of(record.get(kind_key)) if kind_key else None
    kind = src.kind or column_kind or ("transcript" if from_turns else detect_kind(text))
    used = {text_key, id_key, kind_key if column_kind else None}
    extra = {k: v for k, v in record.items() if k not in used}
    return TextItem(
        id=item_id or f"{src.stem}-{row}",
        text=text,
        kind=kind,  # type: ignore[arg-type]
        row=row,
        file=src.label,
        extra=extra,
    )


# --- CSV / TSV ---------------------------------------------------------------------------


def _raise_field_size_limit() -> None:
    """Let a field be as big as the platform allows: a long transcript in one cell is normal."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # C long is 32-bit on Windows
            limit //= 2


def _csv_header(src: _Source, reader: Iterator[list[str]]) -> tuple[list[str], str, str | None]:
    """Read the header and resolve the text and id columns, or raise naming what exists."""
    _raise_field_size_limit()
    header = next(reader, None)
    if header is None:
        raise InputError("empty file: no header row", file=src.label, row=1)
    header = [h.lstrip("\ufeff").strip() for h in header]
    text_key = _text_key(header, src.text_column, turns=False)
    if text_key is None:
        message, field = _missing_text_message(src, header, "column")
        raise InputError(message, file=src.label, row=1, field=field)
    if src.id_column is not None:
        id_key = _find_key(header, src.id_column)
        if id_key is None:
            names = ", ".join(header)
            raise InputError(
                f"no column {src.id_column!r} (columns: {names})",
                file=src.label,
                row=1,
                field=src.id_column,
            )
    else:
        id_key = _find_key(header, "id")
    return header, text_key, id_key


def _read_csv(src: _Source, f: IO[str]) -> Iterator[TextItem]:
    reader = csv.reader(f, dialect=src.dialect)
    header, text_key, id_key = _csv_header(src, reader)
    width = len(header)
    row = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a NUL byte; the reader can go on with the next line
            row += 1
            yield src.error_item(f"bad CSV: {exc}", row)
            continue
        if not fields:  # blank line
            continue
        row += 1
        if len(fields) > width:
            item_id = _clean_id(fields[header.index(id_key)]) if id_key else None
            yield src.error_item(
                f"{len(fields)} fields but the header has {width} (an unquoted delimiter?)",
                row,
                id=item_id if not _has_bad_bytes(item_id) else None,
            )
            continue
        fields += [""] * (width - len(fields))
        yield _record_item(src, dict(zip(header, fields, strict=True)), row, text_key, id_key)


# --- JSONL / JSON ------------------------------------------------------------------------


def _object_item(src: _Source, obj: dict[str, object], row: int) -> TextItem:
    text_key = _text_key(obj, src.text_column, turns=True)
    id_key = _find_key(obj, src.id_column or "id")
    return _record_item(src, obj, row, text_key, id_key)


def _check_first_object(src: _Source, obj: dict[str, object], row: int) -> None:
    """The first object stands for the file: a wrong --text/--id-column fails here."""
    keys = [str(k) for k in obj]
    if _text_key(obj, src.text_column, turns=True) is None:
        message, field = _missing_text_message(src, keys, "field")
        raise InputError(message, file=src.label, row=row, field=field)
    if src.id_column is not None and _find_key(obj, src.id_column) is None:
        raise InputError(
            f"no field {src.id_column!r} (fields: {', '.join(keys)})",
            file=src.label,
            row=row,
            field=src.id_column,
        )


def _read_jsonl(src: _Source, f: IO[str]) -> Iterator[TextItem]:
    pending: list[TextItem] = []  # error lines before the first object, held so a wrong
    checked = False  # column still raises before this file yields anything
    for row, line in enumerate(f, 1):
        if row == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            item = src.error_item(f"invalid JSON: {exc.msg} (column {exc.colno})", row)
        else:
            if isinstance(obj, dict):
                if not checked:
                    _check_first_object(src, obj, row)
                    checked = True
                item = _object_item(src, obj, row)
            else:
                item = src.error_item(f"expected a JSON object, got {_json_type(obj)}", row)
        if checked:
            yield from pending
            pending.clear()
            yield item
        else:
            pending.append(item)
            if len(pending) >= _JSONL_MAX_PENDING:
                yield from pending
                pending.clear()
    yield from pending


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _read_json(src: _Source, f: IO[str]) -> Iterator[TextItem]:
    """A .json file must be a list of objects; it is parsed whole (use JSONL for big inputs)."""
    try:
        data = json.load(f)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", file=src.label
        ) from exc
    if not isinstance(data, list):
        raise InputError(
            f"expected a JSON array of objects, got {_json_type(data)} "
            "(JSON Lines files should end in .jsonl)",
            file=src.label,
        )
    first = next((i for i, o in enumerate(data) if isinstance(o, dict)), None)
    if first is not None:
        _check_first_object(src, data[first], first + 1)
    for row, obj in enumerate(data, 1):
        if isinstance(obj, dict):
            yield _object_item(src, obj, row)
        else:
            yield src.error_item(f"expected a JSON object, got {_json_type(obj)}", row)


# --- plain text --------------------------------------------------------------------------


def _read_txt(src: _Source, f: IO[str]) -> Iterator[TextItem]:
    """One text per non-empty line, unless the head of the file reads as one conversation."""
    lines = enumerate(f, 1)
    head: list[tuple[int, str]] = []
    nonempty = 0
    for row, line in lines:
        head.append((row, line.lstrip("\ufeff") if row == 1 else line))
        nonempty += bool(line.strip())
        if nonempty >= _TXT_PEEK_LINES:
            break
    if looks_like_transcript([line for _, line in head]):
        yield _txt_transcript(src, chain(head, lines))
        return
    for row, line in chain(head, lines):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        if _has_bad_bytes(text):
            yield src.error_item(_bad_byte_message(text), row)
            continue
        kind = src.kind or detect_kind(text)
        yield TextItem(
            id=f"{src.stem}-{row}",
            text=text,
            kind=kind,  # type: ignore[arg-type]
            row=row,
            file=src.label,
        )


def _txt_transcript(src: _Source, lines: Iterable[tuple[int, str]]) -> TextItem:
    """The whole file as one transcript item (read whole: a conversation is small)."""
    kept: list[str] = []
    for row, line in lines:
        if _has_bad_bytes(line):
            return src.error_item(_bad_byte_message(line), row, id=f"{src.stem}-1")
        kept.append(line.rstrip("\r\n"))
    text = "\n".join(kept).strip()
    return TextItem(
        id=f"{src.stem}-1",
        text=text,
        kind=src.kind or "transcript",  # type: ignore[arg-type]
        row=1,
        file=src.label,
    )


_READERS = {
    "csv": _read_csv,
    "tsv": _read_csv,
    "jsonl": _read_jsonl,
    "json": _read_json,
    "txt": _read_txt,
}

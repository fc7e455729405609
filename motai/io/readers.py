"""Readers: CSV, TSV, JSONL, JSON, plain-text and .xlsx files (or stdin) streamed as TextItems.

Streaming matters because a batch can be a million rows: CSV goes through the csv module
over the open file and JSONL line by line, so memory stays flat. Problems a user must fix
before anything is worth running (a missing file, a wrong `--text-column`, a binary file)
raise InputError; problems in one row (bad bytes, empty text, a text over `max_chars`, a
broken JSON line) become a TextItem with `error` set, so the batch goes on and the output
keeps one line per input row.

Each file's encoding (unless given) and a CSV file's delimiter are judged from its first
64 KiB (see `motai.io.sniff`): UTF-8 with or without BOM, UTF-16, cp1252 and other code
pages; `,` `;` tab or `|`. `.xlsx` needs openpyxl (`pip install "motai[excel]"`) and reads
the first sheet.

Row numbers (`TextItem.row`, generated ids `<stem>-<row>`): the 1-based data record for CSV,
TSV and .xlsx (the header is not counted; a quoted field may span lines), the 1-based
physical line for JSONL and .txt, the 1-based list index for .json.

`TextItem.extra` holds every field of the row except the id and text columns (the `kind`
column included), so a writer can pass the input through.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, get_args

from motai.errors import InputError
from motai.io.sniff import (
    PREFIX_BYTES,
    binary_reason,
    check_encoding,
    detect_encoding,
    display_encoding,
    sniff_delimiter,
)
from motai.io.transcripts import (
    TurnError,
    count_speaker_lines,
    looks_like_transcript,
    turns_to_text,
)
from motai.models import Kind, TextItem

__all__ = [
    "DEFAULT_MAX_CHARS",
    "FORMATS",
    "KINDS",
    "TEXT_COLUMNS",
    "ItemStream",
    "detect_kind",
    "read_items",
]

KINDS: tuple[str, ...] = get_args(Kind)
TEXT_COLUMNS = ("text", "body", "content", "message", "review", "review_text")
TURNS_COLUMNS = ("turns", "messages")
FORMATS = ("csv", "tsv", "jsonl", "json", "txt", "xlsx")
# A longer text is an error row, not minutes of work (and stays under Excel's 32,767-character
# cell limit when written out).
DEFAULT_MAX_CHARS = 20_000
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".txt": "txt",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
EXCEL_HINT = 'reading .xlsx needs openpyxl: pip install "motai[excel]"'
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
    encoding: str | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
) -> ItemStream:
    """Stream TextItems from files (`-` is stdin) in order.

    Checked at call time, before any item: the arguments, that every file exists, has a
    known format and is not binary, and that every CSV/TSV/.xlsx header has the text (and
    id) column, so a wrong column fails at once. A JSONL file is checked at its first object
    instead (raising before that file yields anything). `.json` must be a list and is loaded
    whole; `.txt` is one text per non-empty line, or one transcript item when the file is
    speaker-labelled lines.

    `encoding` forces the files' encoding (default: detected per file). A text longer than
    `max_chars` characters (None: no limit) becomes an error item naming its file, row and
    field. The result iterates like a generator; its `columns` are the input columns a
    writer can pass through, when known before reading (see `ItemStream`).
    """
    if isinstance(paths, (str, Path)):  # one path, not a sequence of characters
        paths = [paths]
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown kind {kind!r} (use one of: {', '.join(KINDS)})")
    if encoding is not None:
        try:
            encoding = check_encoding(encoding)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if max_chars is not None and max_chars < 1:
        raise InputError(f"max_chars must be at least 1 (or None for no limit), not {max_chars}")
    sources = [_source(p, fmt, text_column, id_column, kind, encoding, max_chars) for p in paths]
    for src in sources:
        if src.fmt in ("csv", "tsv") and not src.is_stdin:
            with _open_text(src) as f:
                try:
                    _csv_header(src, csv.reader(f, dialect=src.dialect))
                except UnicodeDecodeError as exc:  # e.g. UTF-16 cut mid-character
                    raise _undecodable(src, exc) from None
        elif src.fmt == "xlsx":
            rows = _xlsx_rows(src)
            try:
                _csv_header(src, rows)
            finally:
                rows.close()
    return ItemStream(sources, _read_all(sources))


class ItemStream(Iterator[TextItem]):
    """The items of `read_items`, lazily, plus what is known of the inputs' columns."""

    def __init__(self, sources: list[_Source], items: Iterator[TextItem]) -> None:
        self._sources, self._items = sources, items

    def __next__(self) -> TextItem:
        return next(self._items)

    def __iter__(self) -> ItemStream:
        return self

    @property
    def columns(self) -> list[str] | None:
        """The columns every item's `extra` may hold, in input order (the union over the
        inputs), when every input has a header read so far (CSV, TSV, .xlsx; .txt has none);
        None while some input's fields are known only row by row (JSON, JSONL)."""
        names: list[str] = []
        for src in self._sources:
            if src.columns is None:
                return None
            names += [c for c in src.columns if c not in names]
        return names

    @property
    def text_columns(self) -> list[str]:
        """The names of the text columns found in headers (e.g. 'body'), and the one given."""
        names = [s.text_key for s in self._sources if s.text_key]
        given = [s.text_column for s in self._sources[:1] if s.text_column]
        return list(dict.fromkeys(names + given))


def _read_all(sources: list[_Source]) -> Iterator[TextItem]:
    for src in sources:
        if src.fmt == "xlsx":
            yield from _read_xlsx(src)
            continue
        with _open_text(src) as f:
            try:
                yield from _READERS[src.fmt](src, f)
            except UnicodeDecodeError as exc:  # only where we read strictly (never per row)
                raise _undecodable(src, exc) from None
            except OSError as exc:
                raise InputError(f"cannot read: {exc.strerror or exc}", file=src.label) from exc


def _undecodable(src: _Source, exc: UnicodeDecodeError) -> InputError:
    """Bytes that even surrogateescape cannot carry (a UTF-16 file cut mid-character)."""
    name = display_encoding(src.encoding or "utf-8")
    return InputError(f"not valid {name}: {exc.reason}", file=src.label)


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
    encoding: str | None = None  # given, else detected (stdin: when its reading starts)
    forced_encoding: bool = False
    delimiter: str = ","
    max_chars: int | None = None
    columns: list[str] | None = None  # the header less the id and text columns, once read
    text_key: str | None = None

    @property
    def is_stdin(self) -> bool:
        return self.path is None

    @property
    def dialect(self) -> type[csv.Dialect]:
        delimiter = "\t" if self.fmt == "tsv" else self.delimiter

        class Dialect(csv.excel):
            pass

        Dialect.delimiter = delimiter
        return Dialect

    def sniff(self, prefix: bytes, *, complete: bool) -> None:
        """Refuse a binary file; settle the encoding and (CSV) the delimiter from a prefix."""
        reason = binary_reason(prefix, self.encoding if self.forced_encoding else None)
        if reason is not None:
            raise InputError(
                f"not a text file: {reason}; save it as CSV (UTF-8) or JSONL", file=self.label
            )
        if not self.forced_encoding:
            self.encoding = detect_encoding(prefix, complete=complete)
        if self.fmt == "csv":
            sample = prefix.decode(self.encoding or "utf-8", errors="replace")
            self.delimiter = sniff_delimiter(sample.lstrip("\ufeff"), complete=complete)

    def error_item(
        self,
        message: str,
        row: int,
        *,
        field: str | None = None,
        id: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> TextItem:
        """An unusable row: empty text and the reason as one line naming file, row, field."""
        err = InputError(message, file=self.label, row=row, field=field)
        return TextItem(
            id=id or f"{self.stem}-{row}",
            text="",
            kind=self.kind,  # type: ignore[arg-type]
            row=row,
            file=self.label,
            extra=extra or {},
            error=str(err),
        )

    def bad_bytes_message(self, value: object) -> str:
        return _bad_byte_message(value, self.encoding or "utf-8")


def _source(
    path: str | Path,
    fmt: str | None,
    text_column: str | None,
    id_column: str | None,
    kind: str | None,
    encoding: str | None = None,
    max_chars: int | None = None,
) -> _Source:
    """Resolve the format, check the file is there (naming it if not) and is text."""
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
    if is_stdin and resolved == "xlsx":
        raise InputError("an .xlsx workbook cannot be read from stdin: give its path")
    p = None if is_stdin else Path(path)
    if p is not None and not p.exists():
        raise InputError("no such file", file=label)
    if p is not None and not p.is_file():
        raise InputError("not a file", file=label)
    src = _Source(
        path=p,
        label=label,
        stem="stdin" if p is None else p.stem,
        fmt=resolved,
        text_column=text_column,
        id_column=id_column,
        kind=kind,
        encoding=encoding,
        forced_encoding=encoding is not None,
        max_chars=max_chars,
        columns=[] if resolved == "txt" else None,
    )
    if p is not None and resolved != "xlsx":
        try:
            with open(p, "rb") as f:
                prefix = f.read(PREFIX_BYTES)
                complete = not f.read(1)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", file=label) from exc
        src.sniff(prefix, complete=complete)
    return src


class _Prefixed(io.RawIOBase):
    """A stream that gives `prefix` again, then the rest of `rest` (stdin after a sniff)."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix, self._rest = memoryview(prefix), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        read1 = getattr(self._rest, "read1", self._rest.read)
        data = read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def _open_text(src: _Source) -> Iterator[IO[str]]:
    """Open a source as text in its encoding, bad bytes kept as surrogates to flag per row.

    `surrogateescape` is what lets a bad byte in row 57 fail row 57 only. Stdin is sniffed
    here, from a prefix that is then read again.
    """
    if src.path is None:
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:  # already text (a test's StringIO, say)
            if src.fmt == "csv":
                src.delimiter = ","
            yield sys.stdin
            return
        prefix = buffer.read(PREFIX_BYTES)
        src.sniff(prefix, complete=len(prefix) < PREFIX_BYTES)
        wrapper = io.TextIOWrapper(
            io.BufferedReader(_Prefixed(prefix, buffer)),
            encoding=src.encoding,
            errors="surrogateescape",
            newline="",
        )
        try:
            yield wrapper
        finally:
            wrapper.detach()  # leave sys.stdin's buffer open
        return
    try:
        f = open(src.path, encoding=src.encoding, errors="surrogateescape", newline="")  # noqa: SIM115
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


def _bad_byte_message(value: object, encoding: str = "utf-8") -> str:
    """Name the first bad byte, so the user can find it in a hex editor or `grep -P`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    name = display_encoding(encoding)
    hint = (
        "save the file as UTF-8 or give its encoding, e.g. --encoding cp1252"
        if name == "UTF-8"
        else "give the file's encoding with --encoding"
    )
    for ch in text:
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            return f"not valid {name} (byte 0x{ord(ch) - 0xDC00:02x}); {hint}"
    return f"not valid {name}; {hint}"


def _too_long(src: _Source, text: str) -> str | None:
    """The error for a text over the source's `max_chars`, or None."""
    if src.max_chars is None or len(text) <= src.max_chars:
        return None
    return (
        f"text too long: {len(text):,} characters, over the limit of {src.max_chars:,} "
        "(--max-chars)"
    )


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


def _shown(keys: Iterable[object]) -> str:
    """Column or field names for a one-line error: a name with a newline or another
    unprintable character is shown escaped, so the message stays one line."""
    names = [k if isinstance(k, str) and k.isprintable() else repr(k) for k in keys]
    return ", ".join(names) or "none"


def _missing_text_message(src: _Source, keys: list[str], what: str) -> tuple[str, str | None]:
    names = _shown(keys)
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
    # Every other field, the kind column included; a field with bad bytes is left out.
    extra = {
        k: v
        for k, v in record.items()
        if k not in (text_key, id_key) and not _has_bad_bytes(k) and not _has_bad_bytes(v)
    }
    bad = next((k for k, v in record.items() if _has_bad_bytes(k) or _has_bad_bytes(v)), None)
    if bad is not None:
        if bad == id_key:
            item_id = None
        field = bad if not _has_bad_bytes(bad) else None
        message = src.bad_bytes_message(record[bad])
        return src.error_item(message, row, field=field, id=item_id, extra=extra)
    if text_key is None or text_key not in record:
        message, field = _missing_text_message(src, list(record), "field")
        return src.error_item(message, row, field=field, id=item_id, extra=extra)
    value = record[text_key]
    from_turns = False
    if isinstance(value, list):
        try:
            text = turns_to_text(value)
        except TurnError as exc:
            return src.error_item(str(exc), row, field=text_key, id=item_id, extra=extra)
        from_turns = True
    elif isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
    elif value is None:
        text = ""
    else:
        message = f"expected text, got {type(value).__name__}"
        return src.error_item(message, row, field=text_key, id=item_id, extra=extra)
    if not text.strip():
        return src.error_item("empty text", row, field=text_key, id=item_id, extra=extra)
    too_long = _too_long(src, text)
    if too_long is not None:
        return src.error_item(too_long, row, field=text_key, id=item_id, extra=extra)

    kind_key = _find_key(record, "kind")
    column_kind = _kind_of(record.get(kind_key)) if kind_key else None
    kind = src.kind or column_kind or ("transcript" if from_turns else detect_kind(text))
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
            raise InputError(
                f"no column {src.id_column!r} (columns: {_shown(header)})",
                file=src.label,
                row=1,
                field=src.id_column,
            )
    else:
        id_key = _find_key(header, "id")
    src.text_key = text_key
    src.columns = [h for h in header if h not in (text_key, id_key)]
    return header, text_key, id_key


def _read_csv(src: _Source, f: IO[str]) -> Iterator[TextItem]:
    yield from _table_items(src, csv.reader(f, dialect=src.dialect))


def _table_items(src: _Source, reader: Iterator[list[str]]) -> Iterator[TextItem]:
    """Items from rows of cells whose first row is the header (CSV, TSV, .xlsx)."""
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


# --- Excel ---------------------------------------------------------------------------------


def _xlsx_rows(src: _Source) -> Generator[list[str], None, None]:
    """The first sheet's non-empty rows as text cells, streamed (openpyxl's read-only mode)."""
    try:
        import openpyxl
    except ImportError:
        raise InputError(EXCEL_HINT, file=src.label) from None
    try:
        book = openpyxl.load_workbook(src.path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, ... for a file that is not one
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable .xlsx workbook: {reason}", file=src.label) from None
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            cells = [_cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                yield cells
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A cell as the text a CSV export would hold: 5 not 5.0, dates as ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _read_xlsx(src: _Source) -> Iterator[TextItem]:
    rows = _xlsx_rows(src)
    try:
        yield from _table_items(src, rows)
    finally:
        rows.close()


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
            f"no field {src.id_column!r} (fields: {_shown(keys)})",
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
        except RecursionError:
            item = src.error_item(_TOO_DEEP, row)
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


# json.loads recurses per nesting level: a hostile "[[[[..." must be a row error, not a crash.
_TOO_DEEP = "invalid JSON: nested too deeply"


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
    except RecursionError:
        raise InputError(_TOO_DEEP, file=src.label) from None
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
            yield src.error_item(src.bad_bytes_message(text), row)
            continue
        too_long = _too_long(src, text)
        if too_long is not None:
            yield src.error_item(too_long, row, field="text")
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
            return src.error_item(src.bad_bytes_message(line), row, id=f"{src.stem}-1")
        kept.append(line.rstrip("\r\n"))
    text = "\n".join(kept).strip()
    too_long = _too_long(src, text)
    if too_long is not None:
        return src.error_item(too_long, 1, field="text", id=f"{src.stem}-1")
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

"""What an input file is, judged from its first bytes: binary or text, its encoding, its delimiter.

Analysts' exports come as UTF-8 (with or without a BOM), UTF-16 (Excel's "Unicode text"),
or a legacy 8-bit code page (Excel on Windows saves cp1252), separated by `,`, `;` (where
the comma is the decimal mark), tabs or `|`. Everything here looks at a prefix only
(`PREFIX_BYTES`), so a file of any size is judged at once and then streamed.

Encoding, in order: a BOM (UTF-8, UTF-16, UTF-32); UTF-16 without a BOM (NUL in every
other byte); UTF-8 when the prefix decodes as UTF-8, or when its valid multi-byte
characters outnumber its bad bytes (a UTF-8 file with a few corrupt rows: those rows get
an error, the rest are read); else cp1252, when what it decodes to reads like a Western
European language (accented letters alone or in pairs among ASCII letters); else
charset-normalizer's guess (Cyrillic, Greek, CJK code pages...); else cp1252, or
latin-1 for the five bytes cp1252 leaves undefined.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from itertools import islice

__all__ = [
    "DELIMITERS",
    "PREFIX_BYTES",
    "binary_reason",
    "check_encoding",
    "detect_encoding",
    "display_encoding",
    "sniff_delimiter",
]

PREFIX_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")  # in order of preference when two fit equally
_SNIFF_RECORDS = 50
_SNIFF_CHARS = 16 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Leading bytes of the binary files people hand a text tool by mistake.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or Word .docx file?)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (an Excel .xls workbook?)"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "gzip-compressed data (gunzip it first)"),
    (b"BZh", "bzip2-compressed data (bunzip2 it first)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (unxz it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PAR1", "a Parquet file"),
)
# C0 control bytes that never appear in text (tab, newlines, form feed and ESC do).
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\v\f\r\x1b")
_CONTROL_SHARE = 0.10


def binary_reason(prefix: bytes, encoding: str | None = None) -> str | None:
    """Why the file is not text (e.g. 'a PDF document'), or None when it reads as text.

    `encoding` is the one given by the user: a UTF-16/32 file is full of NUL bytes.
    """
    for magic, what in _MAGIC:
        if prefix.startswith(magic):
            return what
    wide = encoding is not None and re.match(r"utf[-_]?(16|32)", encoding.lower())
    if wide or any(prefix.startswith(bom) for bom, _ in _BOMS) or _utf16_without_bom(prefix):
        return None
    if b"\x00" in prefix:
        return "binary data (NUL bytes)"
    if len(prefix) >= 32:
        controls = sum(prefix.count(bytes([b])) for b in _CONTROL)
        if controls > _CONTROL_SHARE * len(prefix):
            return "binary data (control bytes)"
    return None


def _utf16_without_bom(prefix: bytes) -> str | None:
    """UTF-16 with no BOM: mostly-ASCII text has a NUL in every other byte."""
    n = len(prefix) // 2 * 2
    if n < 4:
        return None
    even, odd = prefix[0:n:2], prefix[1:n:2]
    zero_even, zero_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zero_odd > 0.3 and zero_even < 0.05:
        return "utf-16-le"
    if zero_even > 0.3 and zero_odd < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(prefix: bytes, *, complete: bool = False) -> str:
    """The codec to read the file with, from its first bytes (`complete`: the whole file)."""
    for bom, name in _BOMS:
        if prefix.startswith(bom):
            return name
    wide = _utf16_without_bom(prefix)
    if wide:
        return wide
    if not complete:  # a character may be cut at the end of the prefix
        cut = prefix.rfind(b"\n")
        prefix = prefix[: cut + 1] if cut >= 0 else prefix[:-3]
    try:
        prefix.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    as_utf8 = prefix.decode("utf-8", errors="surrogateescape")
    bad = sum(1 for ch in as_utf8 if 0xDC80 <= ord(ch) <= 0xDCFF)
    good = sum(1 for ch in as_utf8 if ord(ch) > 127 and not 0xDC80 <= ord(ch) <= 0xDCFF)
    if good >= bad:
        return "utf-8"
    try:
        western: str | None = prefix.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _reads_western(western):
        return "cp1252"
    guess = _charset_normalizer_guess(prefix)
    if guess is not None:
        return guess
    return "cp1252" if western is not None else "latin-1"


def _reads_western(text: str) -> bool:
    """Accented letters alone or in pairs among ASCII (café, Größe), not in runs (a
    Cyrillic or Greek code page decoded as cp1252 gives runs like 'Äîñòàâêà')."""
    runs = [len(m.group()) for m in re.finditer(r"[^\x00-\x7f]+", text)]
    total = sum(runs)
    return total > 0 and sum(n for n in runs if n <= 2) >= 0.8 * total


def _charset_normalizer_guess(prefix: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(prefix).best()
    if best is None or best.encoding in ("utf_8", "ascii"):
        return None
    return best.encoding


def check_encoding(name: str) -> str:
    """The codec name to read with, or ValueError for a name Python does not know."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(
            f"unknown encoding {name!r} (e.g. utf-8, utf-16, cp1252, latin-1)"
        ) from None
    if info.name == "utf-8":
        return "utf-8-sig"  # a BOM, if there is one, is not part of the first column's name
    return name


def display_encoding(name: str) -> str:
    """How to name an encoding in a message: 'UTF-8', 'UTF-16', 'cp1252'."""
    canonical = codecs.lookup(name).name
    if canonical.startswith("utf"):
        return canonical.upper().replace("-SIG", "").replace("_", "-")
    return canonical


def sniff_delimiter(sample: str, *, complete: bool = False, default: str = ",") -> str:
    """The delimiter among `,` `;` tab `|` that splits the header into the most consistent
    table: the header must have at least two fields and the rows as many as the header.
    Quotes are honoured (a `;` inside a quoted field does not count). `default` when none fits.
    """
    if len(sample) > _SNIFF_CHARS:
        sample, complete = sample[:_SNIFF_CHARS], False
    if not complete:  # the last record may be cut off
        cut = sample.rfind("\n")
        sample = sample[: cut + 1] if cut >= 0 else sample
    best, best_score = default, -1.0
    for delim in DELIMITERS:
        try:
            reader = csv.reader(_lines(sample), delimiter=delim)
            records = [r for r in islice(reader, _SNIFF_RECORDS) if r]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width, rest = len(records[0]), records[1:]
        score = sum(len(r) == width for r in rest) / len(rest) if rest else 1.0
        if score > best_score:
            best, best_score = delim, score
    return best


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, ends kept, one at a time (csv.reader reads no further than asked)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end

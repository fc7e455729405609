"""Any bytes in, rows or one line naming the file out: never a traceback.

Property-based (hypothesis) over the readers (CSV, TSV, JSONL, JSON, TXT, transcripts),
the LLM reply parser and the taxonomy loader. A user's file can hold anything; what
motai owes them is an error they can act on, so every other exception is a bug here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from motai.errors import InputError, TaxonomyError
from motai.io import read_items
from motai.llm.parse import InvalidReply, extract_json, parse_reply
from motai.taxonomy import Taxonomy, load_taxonomy

# Under CI the examples are derived from each test's name (derandomize): a gate that fails
# at random is no gate. Run locally, every run draws new inputs and keeps hunting.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
EXTENSIONS = ["csv", "tsv", "jsonl", "json", "txt"]

# Bytes that tend to break text readers: BOMs, NUL, lone surrogates in UTF-8, CR, quotes.
_SPICE = [
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x00",
    b"\xed\xa0\x80",
    b"\r",
    b"\n",
    b'"',
    b",",
    b";",
    b"\t",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\\",
    b"\xe9",
    b"\x80",
    b"text",
    b"id",
    b"Customer:",
    b"Agent:",
    b"turns",
    b"=HYPERLINK(",
    b"\xf0\x9f\x98\x80",
]
nasty_bytes = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(_SPICE)), max_size=30).map(
    b"".join
)

# Structured-ish inputs: valid framing with hostile values, so the fuzz gets past the header.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_rows = st.lists(
    st.dictionaries(
        st.sampled_from(["id", "text", "kind", "turns", "messages", "body", "x"]),
        json_values,
        max_size=4,
    )
    | json_values,
    max_size=6,
)


def _one_line(message: str) -> None:
    assert message and "\n" not in message, repr(message)
    assert "Traceback" not in message


def _read_all(path: Path, **kw: object) -> None:
    """Read every row; errors must be InputError naming the file, rows one-line errors."""
    try:
        items = list(read_items([path], **kw))  # type: ignore[arg-type]
    except InputError as exc:
        _one_line(str(exc))
        assert str(path) in str(exc) or exc.file is None, str(exc)
        return
    for item in items:
        if item.error is not None:
            _one_line(item.error)
            assert str(path) in item.error, item.error
            assert f"row {item.row}" in item.error, item.error
        else:
            assert isinstance(item.text, str) and item.text.strip()
            item.text.encode("utf-8")  # no undecodable bytes leak into a tagged text


@FUZZ
@given(data=nasty_bytes, ext=st.sampled_from(EXTENSIONS))
@example(data=b"\x00" * 10, ext="csv")
@example(data=b"\xef\xbb\xbftext\n\xef\xbb\xbf=1\n", ext="csv")
@example(data=b'text\n"unterminated\n', ext="csv")
@example(data=b"[" * 5000, ext="json")
@example(data=b'{"text": ' + b"[" * 5000, ext="jsonl")
@example(data=b"\xff\xfet\x00e\x00x\x00t\x00\n\x00\xd8\x00", ext="tsv")
@example(data=b"Customer: hi\nAgent: \xff\xfe\nCustomer: bye\n", ext="txt")
def test_any_bytes_read_or_one_line_error(data: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"in.{ext}"
        path.write_bytes(data)
        _read_all(path)


@FUZZ
@given(rows=json_rows, ext=st.sampled_from(["jsonl", "json"]))
def test_any_json_rows_read_or_one_line_error(rows: list[object], ext: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"in.{ext}"
        if ext == "jsonl":
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        else:
            path.write_text(json.dumps(rows), encoding="utf-8")
        _read_all(path)


@FUZZ
@given(
    cells=st.lists(st.lists(st.text(max_size=20), min_size=1, max_size=4), max_size=6),
    ext=st.sampled_from(["csv", "tsv"]),
)
def test_any_cells_read_or_one_line_error(cells: list[list[str]], ext: str) -> None:
    import csv

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"in.{ext}"
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="\t" if ext == "tsv" else ",")
            w.writerow(["id", "text", "kind"])
            w.writerows(cells)
        _read_all(path, text_column="text")


@FUZZ
@given(raw=st.one_of(st.text(max_size=200), json_values.map(json.dumps)))
@example(raw='{"stage": "SMOT", "valence": "pain", "moments": [' * 2000)
@example(raw="```json\n" + "[" * 3000 + "\n```")
@example(raw='{"stage": "SMOT", "valence": "pain", "moments": [{"evidence": 5}]}')
@example(raw='{"stage": ["SMOT"], "valence": {}, "moments": "x", "confidence": "high"}')
def test_any_reply_parses_or_invalid_reply(raw: str, taxonomy: Taxonomy) -> None:
    text = "The parcel came late but the fabric is lovely."
    for parse in (lambda: extract_json(raw), lambda: parse_reply(raw, text, taxonomy)):
        try:
            parse()
        except InvalidReply as exc:
            _one_line(str(exc))


@FUZZ
@given(raw=st.one_of(nasty_bytes, json_values.map(lambda v: yaml.safe_dump(v).encode())))
@example(raw=b"stages: [" * 2000)
@example(raw=b"a: &a [*a, *a]\n")
@example(raw=b"stages:\n  - id: 5\n    definition: [1]\n")
@example(raw=b"version: 1\nstages: {ZMOT: x}\n")
def test_any_taxonomy_loads_or_one_line_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "tax.yaml"
        path.write_bytes(raw)
        try:
            load_taxonomy(path)
        except TaxonomyError as exc:
            _one_line(str(exc))
            assert str(path) in str(exc), str(exc)

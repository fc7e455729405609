"""The corpus of nasty files in tests/data/nasty/: each reads to rows or one line of error.

Files that would be big to commit (a 1 MB line) are made here at test time. The expected
outcome of each file is written down, so a change in behaviour shows up as a failure.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from motai.cli import cli
from motai.errors import InputError
from motai.io import read_items

NASTY = Path(__file__).resolve().parent.parent / "data" / "nasty"

# file -> None (refused with one InputError line) or the expected row outcomes in order
# ("ok" a text to tag, "error" an error row).
EXPECTED: dict[str, list[str] | None] = {
    "png-named.csv": None,
    "nul-bytes.csv": None,  # NUL bytes mean binary: refused, never half-read
    "bom-utf8.csv": ["ok"],
    "bom-utf16.tsv": ["ok"],
    "utf16-truncated.csv": None,
    "mixed-encodings.csv": ["ok", "error", "ok"],
    "csv-injection.csv": ["ok", "ok", "ok"],
    "deep.json": None,
    "deep.jsonl": ["ok", "error", "ok"],
    "broken.jsonl": ["ok", "error", "error", "error", "ok"],
    "not-a-list.json": None,
    "transcript-bad-bytes.txt": ["ok"],  # a small file with bytes UTF-8 lacks reads as cp1252
    "transcript-turns.jsonl": ["error"],  # names the field: "turns": turn 3 is not an object
    "empty.csv": None,
    "header-only.csv": [],
    "control-chars.txt": ["ok", "ok", "ok"],
}


def test_every_nasty_file_has_an_expectation() -> None:
    assert sorted(p.name for p in NASTY.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nasty_file(name: str) -> None:
    path = NASTY / name
    expected = EXPECTED[name]
    if expected is None:
        with pytest.raises(InputError) as info:
            list(read_items([path]))
        message = str(info.value)
        assert "\n" not in message and str(path) in message, message
        return
    items = list(read_items([path]))
    assert ["error" if i.error else "ok" for i in items] == expected, [i.error for i in items]
    for item in items:
        if item.error:
            assert "\n" not in item.error and f"{path}, row {item.row}" in item.error
        else:
            item.text.encode("utf-8")


def test_one_megabyte_line(tmp_path: Path) -> None:
    """A 1 MB line is an error row naming its field (over --max-chars), the rest are read."""
    path = tmp_path / "big.csv"
    path.write_text("id,text\n1,short\n2," + "x" * 1_000_000 + "\n3,after\n", encoding="utf-8")
    items = list(read_items([path]))
    assert [bool(i.error) for i in items] == [False, True, False]
    assert "row 2" in items[1].error and "field 'text'" in items[1].error
    assert [i.text for i in list(read_items([path], max_chars=None))][1] == "x" * 1_000_000


def test_csv_injection_is_neutralised_end_to_end(tmp_path: Path) -> None:
    """Formulas in the input come out of `motai tag -o x.csv` shown, never run."""
    out = tmp_path / "tagged.csv"
    result = CliRunner().invoke(
        cli, ["tag", str(NASTY / "csv-injection.csv"), "-o", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    cells = [v for r in rows for v in r.values() if v]
    assert any(c.startswith("'=HYPERLINK(") for c in cells)
    assert "'=1+2" in cells and "'@SUM(A1)" in cells and "'-2+3" in cells
    assert "-5" in cells  # a plain number is left alone
    dangerous = [c for c in cells if c[0] in "=+@" or (c[0] == "-" and c != "-5")]
    assert dangerous == []

"""`motai report` end to end: real tagged files in, HTML, CSV and JSON out; errors exit 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from motai.cli import cli
from motai.report import TABLES, build_report

REPO = Path(__file__).resolve().parents[2]
FEED = REPO / "examples" / "feed.csv"
Tagged = Callable[..., Path]


@pytest.fixture(scope="module")
def feed_tagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/feed.csv tagged by the real local model (as `motai tag` writes it)."""
    out = tmp_path_factory.mktemp("feed") / "tagged.csv"
    res = CliRunner().invoke(cli, ["tag", str(FEED), "-o", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_html_report_of_a_real_tagged_feed(feed_tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    res = _run("report", str(feed_tagged), "--by", "product", "--period", "month", "-o", str(out))
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "default-src 'none'" in page
    for anchor in ("journey", "hotspots", "verbatims", "trends", "compare", "transcripts",
                   "quality"):  # fmt: skip
        assert f"id='{anchor}'" in page, anchor
    for period in ("2026-01", "2026-02", "2026-03"):
        assert period in page
    assert "f006" in page  # a conversation's id, linked from its timeline
    assert page.count("data:image/png;base64,") >= 5
    assert "36 row(s)" in res.stderr


def test_json_to_stdout_matches_the_api(feed_tagged: Path) -> None:
    res = _run("report", str(feed_tagged), "--by", "channel", "--format", "json", "-o", "-")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    api = build_report([feed_tagged], by="channel")
    assert set(data) == {"summary", *TABLES}
    assert data["journey"] == api.journey()
    assert data["summary"]["rows"] == 36
    assert data["summary"]["segments"][0] == "web"  # the largest channel first


def test_csv_folder_has_one_file_per_table(feed_tagged: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    res = _run("report", str(feed_tagged), "--period", "week", "--format", "csv", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert {p.stem for p in out.glob("*.csv")} == set(TABLES)
    with open(out / "journey.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    api = build_report([feed_tagged], period="week").journey()
    assert [int(r["moments"]) for r in rows] == [r["moments"] for r in api]
    with open(out / "trends.csv", encoding="utf-8", newline="") as f:
        assert {r["period"] for r in csv.DictReader(f)} >= {"2026-W01", "2026-W13"}


def test_compare_named_groups(feed_tagged: Path) -> None:
    res = _run("report", str(feed_tagged), "--by", "channel", "--compare", "store,app",
               "--format", "json", "-o", "-")  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["compare"]
    assert rows and {(r["a"], r["b"]) for r in rows} == {("store", "app")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "colour"], "field 'colour': no such column"),
        (["--period", "month", "--date-column", "product"], "row 1, field 'product': not a date"),
        (["--by", "channel", "--compare", "web"], "--compare wants two values"),
        (["--by", "channel", "--compare", "web,fax"], "--compare web,fax"),
        (["--format", "csv", "-o", "x.csv"], "writes a folder"),
        (["-o", "-", "--format", "html"], "stdout"),
        (["--taxonomy", "nope.yaml"], "nope.yaml"),
    ],
)
def test_usage_errors_exit_2_in_one_line(
    feed_tagged: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    res = _run("report", str(feed_tagged), *args)
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_bad_input_names_file_row_and_field(tagged: Tagged, tmp_path: Path) -> None:
    good = tagged([{"id": "a", "moments": [("SMOT", "pain", "Late.", 0.9)]}] * 2)
    lines = good.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[1])
    row["moments"][0]["confidence"] = "high"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0] + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    res = _run("report", str(bad), "-o", str(tmp_path / "r.html"))
    assert res.exit_code == 2
    assert f"{bad}, row 2, field 'moments[0].confidence': not a number" in res.stderr
    not_ours = tmp_path / "plain.csv"
    not_ours.write_text("name,text\nx,hello\n", encoding="utf-8")
    res = _run("report", str(not_ours))
    assert res.exit_code == 2 and "not a motai output file" in res.stderr
    res = _run("report", str(tmp_path / "missing.jsonl"))
    assert res.exit_code == 2 and "missing.jsonl: no such file" in res.stderr
    res = _run("report", str(good), "-o", str(good))
    assert res.exit_code == 2 and "is one of the inputs" in res.stderr


def test_to_frames_gives_dataframes(feed_tagged: Path) -> None:
    pd = pytest.importorskip("pandas")
    frames = build_report([feed_tagged], by="product", period="month").to_frames()
    assert set(frames) == set(TABLES)
    journey = frames["journey"]
    assert isinstance(journey, pd.DataFrame)
    assert journey["moments"].sum() == sum(
        r["moments"] for r in build_report([feed_tagged]).journey()
    )
    assert list(frames["trends"]["period"].unique()) == ["2026-01", "2026-02", "2026-03"]


def test_pandas_is_optional(feed_tagged: Path) -> None:
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import motai.report as r\n"
        "assert 'matplotlib' not in sys.modules\n"
        f"rep = r.build_report([{str(feed_tagged)!r}])\n"
        "rep.tables()\n"
        "try:\n    rep.to_frames()\nexcept Exception as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'DataFrames need pandas: pip install "motai[pandas]"'

"""The `motai` command through click's CliRunner (and one real subprocess)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import motai.tagger as tagger_mod
from motai.cli import cli
from motai.local import LocalClassifier
from motai.tagger import Tagger

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
REVIEWS = str(EXAMPLES / "reviews.csv")
CONTRACT = {"id", "stage", "valence", "confidence", "moments", "error"}
MOMENT_FIELDS = {"stage", "valence", "evidence", "start", "end"}


@pytest.fixture(autouse=True)
def _reuse_fitted_classifier(
    tagger: Tagger, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each `motai tag` makes a Tagger; reuse the session's fit of the same store.

    Only for the session store with default settings; anything else fits for real.
    """
    shared = tagger.classifier

    def classifier(store, exclude_items=(), settings=None):
        if store.path == store_dir and not exclude_items and settings is None:
            assert store.fingerprint == shared.store.fingerprint
            return shared
        return LocalClassifier(store, exclude_items=exclude_items, settings=settings)

    monkeypatch.setattr(tagger_mod, "LocalClassifier", classifier)


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()  # click >= 8.2 keeps stderr apart: result.stdout / result.stderr


def _run(runner: CliRunner, args: list[str], **kw: object):
    return runner.invoke(cli, args, catch_exceptions=False, **kw)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _check_contract(row: dict, text: str | None = None) -> None:
    assert set(row) >= CONTRACT
    if row["error"] is None:
        assert row["stage"] and row["valence"]
        assert 0.0 <= row["confidence"] <= 1.0
    for m in row["moments"]:
        assert set(m) >= MOMENT_FIELDS
        if text is not None:
            assert text[m["start"] : m["end"]] == m["evidence"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["tag"],
        ["schema"],
        ["taxonomy"],
        ["taxonomy", "show"],
        ["taxonomy", "check"],
        ["index"],
        ["index", "build"],
        ["index", "status"],
    ],
)
def test_help_shows_examples(runner: CliRunner, command: list[str]) -> None:
    result = _run(runner, [*command, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage:")
    # At least one indented example line running this very command.
    example = re.compile(r"^\s+motai " + re.escape(" ".join(command)), re.MULTILINE)
    assert example.search(result.stdout), result.stdout


def test_version(runner: CliRunner) -> None:
    result = _run(runner, ["--version"])
    assert result.exit_code == 0 and "motai" in result.stdout and "0." in result.stdout


def test_tag_reviews_to_jsonl(runner: CliRunner, store_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "tagged.jsonl"
    result = _run(
        runner, ["tag", REVIEWS, "--text-column", "body", "-o", str(out), "--store", str(store_dir)]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # results go to the file, the summary to stderr
    rows = _jsonl(out)
    assert len(rows) == 12
    assert [r["id"] for r in rows] == [f"r{n:03d}" for n in range(1, 13)]
    with open(REVIEWS, encoding="utf-8", newline="") as f:
        texts = {r["id"]: r["body"] for r in csv.DictReader(f)}
    for r in rows:
        _check_contract(r, texts[r["id"]])
        assert r["error"] is None
    assert sum(1 for r in rows if r["stage"] != "NONE") >= 10
    assert "tagged 12 text(s), 0 error(s)" in result.stderr


def test_tag_to_csv(runner: CliRunner, store_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "tagged.csv"
    result = _run(runner, ["tag", REVIEWS, "-o", str(out), "--store", str(store_dir), "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # --quiet: no summary
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    assert set(rows[0]) >= CONTRACT
    assert rows[0]["id"] == "r001"
    for r in rows:
        assert r["error"] == ""
        moments = json.loads(r["moments"])
        assert isinstance(moments, list)
        for m in moments:
            assert set(m) >= MOMENT_FIELDS


def test_tag_jsonl_in_jsonl_out(runner: CliRunner, store_dir: Path, tmp_path: Path) -> None:
    texts = {
        "a1": "The package arrived two weeks late. The fabric is great though. Highly recommend!",
        "a2": "Check out our new podcast episode!",
    }
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in texts.items()))
    out = tmp_path / "out.jsonl"
    result = _run(runner, ["tag", str(src), "-o", str(out), "--store", str(store_dir)])
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(out)
    assert [r["id"] for r in rows] == ["a1", "a2"]
    for r in rows:
        _check_contract(r, texts[r["id"]])
    assert [(m["stage"], m["valence"]) for m in rows[0]["moments"]] == [
        ("AMOT", "pain"),
        ("SMOT", "glory"),
        ("UMOT", "glory"),
    ]
    assert rows[1]["stage"] == "NONE" and rows[1]["moments"] == []


def test_tag_to_stdout_summary_on_stderr(runner: CliRunner, store_dir: Path) -> None:
    posts = str(EXAMPLES / "posts.jsonl")
    result = _run(runner, ["tag", posts, "-o", "-", "--store", str(store_dir)])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [f"p{n:03d}" for n in range(1, 9)]
    assert all(r["kind"] == "social" for r in rows)
    for r in rows:
        _check_contract(r)
    assert result.stderr.splitlines()[0].split()[0] == "stage"
    assert "tagged 8 text(s), 0 error(s)" in result.stderr


def test_tag_from_stdin(runner: CliRunner, store_dir: Path) -> None:
    data = json.dumps({"id": "s1", "text": "Support fixed my issue in minutes, thank you!"}) + "\n"
    result = _run(runner, ["tag", "-", "--store", str(store_dir), "-q"], input=data)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["id"] == "s1" and rows[0]["error"] is None


def test_missing_column_is_a_one_line_error(
    runner: CliRunner, store_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "never.jsonl"
    args = ["tag", REVIEWS, "--text-column", "comment", "-o", str(out), "--store", str(store_dir)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert REVIEWS in lines[0] and "row 1" in lines[0] and "'comment'" in lines[0]
    assert "body" in lines[0]  # names the columns there are
    assert "Traceback" not in result.output
    assert not out.exists()


def test_missing_file_is_an_error(runner: CliRunner, store_dir: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.csv")
    result = runner.invoke(cli, ["tag", missing, "--store", str(store_dir)])
    assert result.exit_code == 1
    assert missing in result.stderr and "no such file" in result.stderr


def test_bad_rows_are_written_with_error(
    runner: CliRunner, store_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "mixed.jsonl"
    src.write_text(
        json.dumps({"id": "g1", "text": "Checkout kept failing so I bought it elsewhere."})
        + "\n"
        + json.dumps({"id": "e1", "text": "   "})
        + "\n"
        + '{"id": "broken", "text": \n'
        + json.dumps({"id": "g2", "text": "Two years in and this backpack still looks new."})
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = _run(runner, ["tag", str(src), "-o", str(out), "--store", str(store_dir)])
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(out)
    assert [r["id"] for r in rows] == ["g1", "e1", "mixed-3", "g2"]
    for r in rows:
        _check_contract(r)
    assert rows[0]["error"] is None and rows[3]["error"] is None
    assert "row 2" in rows[1]["error"] and "'text'" in rows[1]["error"]
    assert "empty text" in rows[1]["error"]
    assert "row 3" in rows[2]["error"] and "invalid JSON" in rows[2]["error"]
    assert rows[1]["stage"] is None and rows[2]["stage"] is None
    assert "tagged 2 text(s), 2 error(s)" in result.stderr
    assert "error: e1:" in result.stderr


def test_empty_input_fails(runner: CliRunner, store_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("", encoding="utf-8")
    result = runner.invoke(cli, ["tag", str(src), "--store", str(store_dir)])
    assert result.exit_code == 1 and "no rows to tag" in result.stderr


def test_unknown_model_fails_cleanly(runner: CliRunner, store_dir: Path) -> None:
    result = runner.invoke(cli, ["tag", REVIEWS, "--model", "gpt-x", "--store", str(store_dir)])
    assert result.exit_code == 1
    assert "unknown model 'gpt-x'" in result.stderr and "Traceback" not in result.output


def test_schema_is_json_schema(runner: CliRunner) -> None:
    result = _run(runner, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "TagResult" and schema["type"] == "object"
    assert set(schema["properties"]) >= CONTRACT
    assert "id" in schema["required"]
    moment = schema["$defs"]["Moment"]
    assert set(moment["properties"]) >= MOMENT_FIELDS


def test_taxonomy_show(runner: CliRunner, taxonomy) -> None:
    result = _run(runner, ["taxonomy", "show"])
    assert result.exit_code == 0
    stages = ["ZMOT", "FMOT", "AMOT", "SMOT", "UMOT"]
    positions = [result.stdout.index(f"{s}  ") for s in stages]
    assert positions == sorted(positions)  # journey order
    assert "NONE" in result.stdout and "glory, pain, neutral" in result.stdout
    as_json = json.loads(_run(runner, ["taxonomy", "show", "--format", "json"]).stdout)
    assert [s["id"] for s in as_json["stages"]] == stages == taxonomy.stage_ids


def test_taxonomy_check(runner: CliRunner, tmp_path: Path) -> None:
    import yaml

    good = REPO / "motai" / "taxonomies" / "moments-of-truth.v1.yaml"
    ok = _run(runner, ["taxonomy", "check", str(good)])
    assert ok.exit_code == 0 and "ok: moments-of-truth@1, 5 stages" in ok.stdout

    data = yaml.safe_load(good.read_text(encoding="utf-8"))
    del data["stages"][2]["definition"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(cli, ["taxonomy", "check", str(bad)])
    assert result.exit_code == 1
    assert str(bad) in result.stderr
    assert "AMOT" in result.stderr and "definition" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    missing = runner.invoke(cli, ["taxonomy", "check", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "no such taxonomy file" in missing.stderr


def test_index_build_then_status(runner: CliRunner, tmp_path: Path) -> None:
    """A real build, kept small with a three-item exemplar file."""
    lines = (REPO / "evals" / "datasets" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    exemplars = tmp_path / "few.jsonl"
    exemplars.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    store = tmp_path / "index"
    opts = ["--store", str(store), "--exemplars", str(exemplars)]

    before = json.loads(_run(runner, ["index", "status", "--json", *opts]).stdout)
    assert before["fresh"] is False and before["exemplars_rows"] == 0

    built = _run(runner, ["index", "build", *opts])
    assert built.exit_code == 0, built.stderr
    assert built.stdout.startswith("built: ")

    st = _run(runner, ["index", "status", "--json", *opts])
    assert st.exit_code == 0
    status = json.loads(st.stdout)
    assert status["fresh"] is True
    assert status["location"] == str(store)
    assert status["exemplars_rows"] > 0 and status["taxonomy_rows"] > 0

    again = _run(runner, ["index", "build", *opts])
    assert again.stdout.startswith("up to date: ")


def test_index_status_of_session_store(runner: CliRunner, store_dir: Path) -> None:
    result = _run(runner, ["index", "status", "--store", str(store_dir)])
    assert result.exit_code == 0
    assert re.search(r"^\s*fresh: True$", result.stdout, re.MULTILINE)


def test_python_dash_m(tmp_path: Path) -> None:
    env = {"PATH": "", "MOTAI_HOME": str(tmp_path), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "motai", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: motai")
    for cmd in ("tag", "schema", "taxonomy", "index"):
        assert re.search(rf"^\s+{cmd}\s", proc.stdout, re.MULTILINE)
    assert proc.stderr == ""

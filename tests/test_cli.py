"""The `motai` command through click's CliRunner (and one real subprocess)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

import motai.tagger as tagger_mod
from motai.cli import cli

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
REVIEWS = str(EXAMPLES / "reviews.csv")
CONTRACT = {"id", "stage", "valence", "confidence", "moments", "error"}
MOMENT_FIELDS = {"stage", "valence", "evidence", "start", "end"}


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
        assert r["text"] == texts[r["id"]]  # the input passed through: the text...
        assert r["title"]  # ...and every other column
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
    with open(REVIEWS, encoding="utf-8", newline="") as f:
        inputs = list(csv.DictReader(f))
    assert [(r["title"], r["text"]) for r in rows] == [(r["title"], r["body"]) for r in inputs]
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
    assert result.exit_code == 1, result.stderr  # some rows failed
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
    assert "2 row(s) failed: written with 'error' set (exit status 1)" in result.stderr


def test_empty_input_fails(runner: CliRunner, store_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("", encoding="utf-8")
    result = runner.invoke(cli, ["tag", str(src), "--store", str(store_dir)])
    assert result.exit_code == 1 and "no rows to tag" in result.stderr


def test_unknown_model_fails_cleanly(runner: CliRunner, store_dir: Path) -> None:
    result = runner.invoke(cli, ["tag", REVIEWS, "--model", "gpt-x", "--store", str(store_dir)])
    assert result.exit_code == 1
    assert "unknown model 'gpt-x'" in result.stderr and "Traceback" not in result.output


def test_llm_without_its_extra_is_one_line_not_an_error_per_row(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "tenacity", None)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(cli, ["tag", REVIEWS, "--model", "openai:gpt-4o-mini", "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert result.stderr == (
        'Error: an LLM model needs the llm extra: pip install "motai[llm]" (missing: tenacity)\n'
    )


def test_local_model_ignores_openai_base_url_from_the_environment(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # set for other runs
    result = runner.invoke(cli, ["tag", REVIEWS, "-o", "-", "-q"])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 12


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


def test_index_status_of_session_store(runner: CliRunner, store, store_dir: Path) -> None:
    # `store` builds it: the local model no longer does, so this must not rely on test order
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


# --- inputs, outputs, resuming and exit codes, with a fake tagger ---------------------------
#
# FakeTagger stands in for Tagger inside `motai tag` (fast, deterministic, and it records
# which texts it was asked to tag): every text is SMOT pain with its first word as evidence;
# a text holding FAIL fails. The end-to-end tests above use the real classifier.


class FakeTagger:
    tagged: ClassVar[list[str]] = []  # ids, across the Taggers of one test (reset by the fixture)
    delay = 0.0  # seconds per text, for the SIGKILL test

    def __init__(self, model: str | None = None, *, taxonomy=None, batch_size: int = 32, **kw):
        self.model = model or "local"
        self.is_local = self.model == "local"
        from motai.taxonomy import Taxonomy, load_taxonomy

        if not isinstance(taxonomy, Taxonomy):  # a name or path, as Tagger takes it
            taxonomy = load_taxonomy(taxonomy)
        self.taxonomy, self.batch_size, self.ledger = taxonomy, batch_size, None

    def tag_many(self, items):
        from itertools import islice

        it = iter(items)
        while batch := list(islice(it, self.batch_size)):  # pulls a batch ahead, like Tagger
            for x in batch:
                yield self._tag(x)

    def _tag(self, x):
        from motai.models import Moment, TagResult

        base = {"id": x.id, "kind": x.kind, "provider": "local"}
        base["taxonomy_version"] = self.taxonomy.ref
        if x.error or "FAIL" in x.text:
            return TagResult(**base, error=x.error or "ValueError: could not tag")
        FakeTagger.tagged.append(x.id)
        time.sleep(self.delay)
        word = x.text.split()[0]
        start = x.text.index(word)
        moment = Moment(
            stage="SMOT",
            valence="pain",
            evidence=word,
            start=start,
            end=start + len(word),
            confidence=0.5,
        )
        return TagResult(
            **base,
            stage="SMOT",
            valence="pain",
            confidence=0.5,
            moments=[moment],
            model=f"fake@{self.model}",
        )


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`motai tag` tags with FakeTagger; returns the ids it tagged, in order."""
    FakeTagger.tagged = []
    monkeypatch.setattr(tagger_mod, "Tagger", FakeTagger)
    return FakeTagger.tagged


def _write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def _csv_out(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _input_jsonl(path: Path, n: int, **extra: object) -> Path:
    rows = [{"id": f"a{i:03d}", "text": f"text number {i}", **extra} for i in range(1, n + 1)]
    return _write(path, "".join(json.dumps(r) + "\n" for r in rows))


def test_exit_0_when_every_row_is_tagged(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _input_jsonl(tmp_path / "in.jsonl", 3)
    result = _run(runner, ["tag", str(src), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.stderr
    assert "tagged 3 text(s), 0 error(s)" in result.stderr and "failed" not in result.stderr


def test_exit_1_when_some_rows_fail_and_the_summary_says_so(
    runner: CliRunner, fake, tmp_path: Path
) -> None:
    src = _write(tmp_path / "in.csv", "id,text\n1,fine\n2,FAIL here\n3,also fine\n")
    out = tmp_path / "out.csv"
    result = _run(runner, ["tag", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert [r["error"] != "" for r in _csv_out(out)] == [False, True, False]  # all written
    assert "tagged 2 text(s), 1 error(s)" in result.stderr
    assert "1 row(s) failed: written with 'error' set (exit status 1)" in result.stderr
    quiet = _run(runner, ["tag", str(src), "-o", "-", "-q"])
    assert quiet.exit_code == 1 and quiet.stderr == ""  # the status does not need the summary


@pytest.mark.parametrize(
    ("allowed", "status"),
    [("1", 0), ("0", 1), ("34%", 0), ("33%", 1), ("100%", 0)],
)
def test_max_errors_allows_some_failed_rows(
    runner: CliRunner, fake, tmp_path: Path, allowed: str, status: int
) -> None:
    src = _write(tmp_path / "in.csv", "id,text\n1,fine\n2,FAIL here\n3,also fine\n")
    out = tmp_path / "out.csv"
    result = _run(runner, ["tag", str(src), "-o", str(out), "--fresh", "--max-errors", allowed])
    assert result.exit_code == status, result.stderr
    assert [r["error"] != "" for r in _csv_out(out)] == [False, True, False]  # written either way
    expected = "exit status 1" if status else "within --max-errors, exit status 0"
    assert f"1 row(s) failed: written with 'error' set ({expected})" in result.stderr


@pytest.mark.parametrize("bad", ["-1", "ten", "101%", "x%"])
def test_max_errors_refuses_a_bad_value(runner: CliRunner, bad: str) -> None:
    result = runner.invoke(cli, ["tag", REVIEWS, "--max-errors", bad])
    assert result.exit_code == 2 and "--max-errors" in result.stderr
    assert "Traceback" not in result.output


def test_output_that_is_a_folder_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["tag", REVIEWS, "-o", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"-o {tmp_path} is a folder" in result.stderr


def test_exit_1_when_every_row_fails(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", '{"id": "1", "text": "  "}\n{"id": "2", "text": ""}\n')
    result = _run(runner, ["tag", str(src), "-o", "-"])
    assert result.exit_code == 1
    assert "tagged 0 text(s), 2 error(s)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keep", "title", "--drop", "text"], "--keep and --drop: give one or the other"),
        (["--keep", "titel"], "--keep: no column 'titel' in the input (columns: text, title)"),
        (["--drop", "nope"], "--drop: no column 'nope'"),
        (["--encoding", "klingon"], "unknown encoding 'klingon'"),
        (["--max-chars", "-1"], "Invalid value for '--max-chars'"),
    ],
)
def test_usage_errors_exit_2(
    runner: CliRunner, fake, tmp_path: Path, args: list[str], message: str
) -> None:
    src = _write(tmp_path / "in.csv", "id,title,body\n1,t,hello\n")
    result = runner.invoke(cli, ["tag", str(src), "-o", str(tmp_path / "o.csv"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_output_that_is_an_input_is_refused(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _input_jsonl(tmp_path / "in.jsonl", 2)
    before = src.read_bytes()
    result = runner.invoke(cli, ["tag", str(src), "-o", str(src)])
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"Error: -o {src} is also an input: write the tags to another file"
    )
    assert src.read_bytes() == before


def test_help_documents_exit_codes_and_formula_neutralising(runner: CliRunner) -> None:
    out = " ".join(_run(runner, ["tag", "--help"]).stdout.split())
    assert "Exit status: 0 every row tagged, or no more failed than --max-errors; 1 more" in out
    assert "2 usage error" in out
    assert "starting with = + - @ (or tab, CR) gets a leading '" in out
    for option in ("--keep", "--drop", "--fresh", "--encoding", "--max-chars", "--max-errors"):
        assert option in out


def test_csv_output_keeps_every_input_column_and_neutralises_formulas(
    runner: CliRunner, fake, tmp_path: Path
) -> None:
    src = _write(
        tmp_path / "in.csv",
        'id,title,body,stage,rating\n1,"=HYPERLINK(""http://x"")",@Shop late again,mine,-2\n',
    )
    out = tmp_path / "out.csv"
    assert _run(runner, ["tag", str(src), "-o", str(out)]).exit_code == 0
    (row,) = _csv_out(out)
    assert list(row)[-4:] == ["text", "title", "input_stage", "rating"]
    assert row["text"] == "'@Shop late again"  # the text passed through, neutralised
    assert row["title"] == '\'=HYPERLINK("http://x")'
    assert (row["stage"], row["input_stage"], row["rating"]) == ("SMOT", "mine", "-2")
    moments = json.loads(row["moments"])
    assert moments[0]["evidence"] == "@Shop"  # evidence lives in the JSON cell, which is safe
    assert row["moments"].startswith("[")


def test_keep_and_drop_from_the_command_line(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", "id,title,body,email,date\n1,t,hello there,a@b.c,2024\n")
    kept = tmp_path / "kept.csv"
    assert _run(runner, ["tag", str(src), "-o", str(kept), "--keep", "date,body"]).exit_code == 0
    assert list(_csv_out(kept)[0])[-2:] == ["text", "date"]
    dropped = tmp_path / "dropped.jsonl"
    args = ["tag", str(src), "-o", str(dropped), "--drop", "text,email"]
    assert _run(runner, args).exit_code == 0
    (row,) = _jsonl(dropped)
    assert "text" not in row and "email" not in row
    assert (row["title"], row["date"]) == ("t", "2024")


def test_jsonl_output_keeps_the_input_objects_fields(
    runner: CliRunner, fake, tmp_path: Path
) -> None:
    src = _input_jsonl(tmp_path / "in.jsonl", 2, channel="chat", meta={"agent": "Ann"})
    result = _run(runner, ["tag", str(src), "-o", "-", "-q"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["text"] == "text number 1"
    assert (rows[0]["channel"], rows[0]["meta"]) == ("chat", {"agent": "Ann"})


def test_semicolon_cp1252_export_end_to_end(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _write(
        tmp_path / "export.csv",
        "id;titre;avis\n1;Livraison;Colis arrivé abîmé, très déçu\n2;Tissu;Qualité top — 5 €\n",
        encoding="cp1252",
    )
    out = tmp_path / "out.csv"
    result = _run(runner, ["tag", str(src), "--text-column", "avis", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    rows = _csv_out(out)
    assert [(r["id"], r["titre"], r["text"]) for r in rows] == [
        ("1", "Livraison", "Colis arrivé abîmé, très déçu"),
        ("2", "Tissu", "Qualité top — 5 €"),
    ]
    forced = _run(runner, ["tag", str(src), "--text-column", "avis", "--encoding", "utf-8"])
    assert forced.exit_code == 1  # read as UTF-8, the accented rows are error rows
    assert "not valid UTF-8 (byte 0xe9)" in forced.stdout


def test_utf16_export_end_to_end(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _write(tmp_path / "u.csv", "id\ttext\r\n1\tÇa marche ✓\r\n", encoding="utf-16")
    result = _run(runner, ["tag", str(src), "-o", "-", "-q"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["text"] == "Ça marche ✓"


def test_xlsx_end_to_end(runner: CliRunner, fake, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in (["id", "channel", "comment"], [7, "web", "Late delivery"]):
        book.active.append(row)
    book.save(tmp_path / "s.xlsx")
    out = tmp_path / "out.csv"
    args = ["tag", str(tmp_path / "s.xlsx"), "--text-column", "comment", "-o", str(out)]
    assert _run(runner, args).exit_code == 0
    (row,) = _csv_out(out)
    assert (row["id"], row["channel"], row["text"], row["stage"]) == (
        "7",
        "web",
        "Late delivery",
        "SMOT",
    )


def test_binary_file_is_refused_in_one_line(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _write(tmp_path / "report.csv", b"PK\x03\x04\x14\x00" + bytes(300))
    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["tag", str(src), "-o", str(out)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"Error: {src}: not a text file: a ZIP archive (an Excel .xlsx or Word "
        ".docx file?); save it as CSV (UTF-8) or JSONL"
    ]
    assert not out.exists() and fake == []


def test_oversized_text_is_an_error_row_not_work(runner: CliRunner, fake, tmp_path: Path) -> None:
    huge = "The parcel was late. " * 50_000  # about 1 MB
    src = _write(
        tmp_path / "in.jsonl",
        "".join(
            json.dumps({"id": i, "text": t}) + "\n"
            for i, t in [("a", "ok"), ("b", huge), ("c", "ok")]
        ),
    )
    out = tmp_path / "out.jsonl"
    result = _run(runner, ["tag", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert fake == ["a", "c"]  # the long text never reached the tagger
    rows = _jsonl(out)
    assert rows[1]["error"] == (
        f"{src}, row 2, field 'text': text too long: 1,050,000 characters, over the limit of "
        "20,000 (--max-chars)"
    )
    assert rows[1]["text"] == ""  # not written out either
    bigger = _run(runner, ["tag", str(src), "-o", "-", "--max-chars", "0", "-q"])
    assert bigger.exit_code == 0 and "b" in fake


# --- resuming -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_resume_goes_on_after_the_last_finished_row(
    runner: CliRunner, fake, tmp_path: Path, suffix: str
) -> None:
    src = _input_jsonl(tmp_path / "in.jsonl", 10, channel="web")
    full = tmp_path / f"full{suffix}"
    assert _run(runner, ["tag", str(src), "-o", str(full)]).exit_code == 0
    # An interrupted run: 6 finished rows and the 7th cut off mid-line.
    lines = full.read_bytes().splitlines(keepends=True)
    kept = 7 if suffix == ".csv" else 6  # the CSV header is a line too
    out = tmp_path / f"out{suffix}"
    out.write_bytes(b"".join(lines[:kept]) + lines[kept][:25])
    fake.clear()
    result = _run(runner, ["tag", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert fake == ["a007", "a008", "a009", "a010"]  # finished rows are not tagged again
    assert out.read_bytes() == full.read_bytes()  # the same file as an uninterrupted run
    assert f"resumed {out}: 6 finished row(s) kept, not tagged again" in result.stderr
    assert "tagged 10 text(s), 0 error(s)" in result.stderr  # the summary covers the file
    fake.clear()
    again = _run(runner, ["tag", str(src), "-o", str(out)])  # complete: nothing to do
    assert again.exit_code == 0 and fake == [] and out.read_bytes() == full.read_bytes()


def test_resume_keeps_failed_rows_and_still_exits_1(
    runner: CliRunner, fake, tmp_path: Path
) -> None:
    src = _write(tmp_path / "in.csv", "id,text\n1,fine\n2,FAIL\n3,fine too\n")
    out = tmp_path / "out.csv"
    _run(runner, ["tag", str(src), "-o", str(out)])
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:3]), encoding="utf-8")  # header, row 1, row 2 (failed)
    fake.clear()
    result = _run(runner, ["tag", str(src), "-o", str(out)])
    assert fake == ["3"]
    assert result.exit_code == 1 and "1 row(s) failed" in result.stderr


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            ["OTHER"],
            "was not written from these inputs: its row 1 is id 'a001', the inputs' "
            "row 1 is 'b001'",
        ),
        (["--drop", "channel"], "has channel 'web', this run None"),
        (["--model", "openai:gpt-x"], "was tagged by local:fake@local"),
        (["--taxonomy", str(EXAMPLES / "taxonomies" / "b2b.yaml")], "tagged with taxonomy"),
    ],
)
def test_resume_refuses_another_run_and_fresh_starts_over(
    runner: CliRunner, fake, tmp_path: Path, second: list[str], message: str
) -> None:
    src = _input_jsonl(tmp_path / "in.jsonl", 4, channel="web")
    other = tmp_path / "other.jsonl"
    other.write_text(src.read_text().replace('"a0', '"b0'), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    _run(runner, ["tag", str(src), "-o", str(out)])
    out.write_bytes(b"".join(out.read_bytes().splitlines(keepends=True)[:2]))
    before = out.read_bytes()
    args = [str(other)] if second == ["OTHER"] else [str(src), *second]
    result = runner.invoke(cli, ["tag", *args, "-o", str(out)])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and message in line and line.startswith(f"Error: {out}: ")
    assert line.endswith("use --fresh to start it over, or another -o")
    assert out.read_bytes() == before  # never overwritten silently
    fresh = runner.invoke(cli, ["tag", *args, "-o", str(out), "--fresh"])
    assert fresh.exit_code == 0, fresh.output
    assert len(_jsonl(out)) == 4


def test_resume_refuses_a_file_that_is_not_a_motai_output(
    runner: CliRunner, fake, tmp_path: Path
) -> None:
    src = _input_jsonl(tmp_path / "in.jsonl", 2)
    notes = _write(tmp_path / "notes.csv", "date,note\n2024-01-01,keep me\n")
    result = runner.invoke(cli, ["tag", str(src), "-o", str(notes)])
    assert result.exit_code == 2
    assert "not a motai output (no 'id' column)" in result.stderr
    assert notes.read_text(encoding="utf-8") == "date,note\n2024-01-01,keep me\n"


def test_stdout_never_resumes(runner: CliRunner, fake, tmp_path: Path) -> None:
    src = _input_jsonl(tmp_path / "in.jsonl", 3)
    first = _run(runner, ["tag", str(src), "-o", "-", "-q"])
    second = _run(runner, ["tag", str(src), "-o", "-", "-q"])
    assert first.stdout == second.stdout and len(second.stdout.splitlines()) == 3
    assert fake == ["a001", "a002", "a003"] * 2


_KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
import motai.tagger
from test_cli import FakeTagger
FakeTagger.delay = 0.02
motai.tagger.Tagger = FakeTagger
import motai.tagger as tagger_mod
from motai.cli import cli
cli({args!r}, prog_name="motai")
"""


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_run_killed_with_sigkill_resumes(
    runner: CliRunner, fake, tmp_path: Path, suffix: str
) -> None:
    """A real `motai tag` process (with the slow fake tagger) killed mid-run, then resumed."""
    import os
    import signal

    n = 300
    src = _input_jsonl(tmp_path / "in.jsonl", n, note='say "hi"\nthen, bye')
    out = tmp_path / f"out{suffix}"
    args = ["tag", str(src), "-o", str(out), "--batch-size", "1", "-q"]
    script = _KILLED_RUN.format(tests=str(REPO / "tests"), args=args)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 40:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    result = _run(runner, ["tag", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    kept = int(re.search(r"resumed .*: (\d+) finished row", result.stderr).group(1))  # type: ignore[union-attr]
    assert 10 <= kept < n
    assert fake == [f"a{i:03d}" for i in range(kept + 1, n + 1)]  # only the rest was tagged
    rows = _jsonl(out) if suffix == ".jsonl" else _csv_out(out)
    assert [r["id"] for r in rows] == [f"a{i:03d}" for i in range(1, n + 1)]  # once each, in order
    assert all(r["note"] == 'say "hi"\nthen, bye' for r in rows)


def test_b2b_taxonomy_works_with_the_default_model(runner: CliRunner, tmp_path: Path) -> None:
    """b2b.yaml has no AMOT or UMOT: its label_map maps the default model's labels."""
    b2b = str(EXAMPLES / "taxonomies" / "b2b.yaml")
    out = tmp_path / "b2b.jsonl"
    result = _run(runner, ["tag", REVIEWS, "--taxonomy", b2b, "-o", str(out), "-q"])
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(out)
    assert len(rows) == 12 and all(r["error"] is None for r in rows)
    assert {r["taxonomy_version"] for r in rows} == {"moments-of-truth-b2b@1"}
    stages = {r["stage"] for r in rows} | {m["stage"] for r in rows for m in r["moments"]}
    assert stages <= {"ZMOT", "FMOT", "SMOT", "LMOT", "NONE"}

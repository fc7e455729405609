"""Resuming an interrupted `motai eval run`: only the missing items are tagged, and the
resumed run's figures equal a clean run's.

An interruption is real here: the tagger (or a fold's classifier) raises
KeyboardInterrupt part way, then a half-written line is appended, as a kill mid-write
leaves it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import motai.crossval as crossval_mod
import motai.evals.run as run_mod
from motai.cli import cli
from motai.errors import MotaiError
from motai.evals.run import run_eval
from motai.evals.rundir import read_predictions
from motai.tagger import Tagger
from motai.testing import fast_train_settings

PARTIAL = '{"id": "cut-short", "kind": "review", "text": "half a li'
VOLATILE = {"latency", "resumed"}


@pytest.fixture(autouse=True)
def _no_html(monkeypatch: pytest.MonkeyPatch) -> None:
    """report.html is tested in test_html.py; here it only costs time."""
    monkeypatch.setattr(run_mod, "render_run_html", lambda metrics, items, results: "<html>")


@pytest.fixture()
def tagger(small_tagger: Tagger, monkeypatch: pytest.MonkeyPatch) -> Tagger:
    """The session's small tagger, in batches of 4 so a run can be cut after two."""
    monkeypatch.setattr(small_tagger, "batch_size", 4)
    return small_tagger


def comparable(metrics: dict) -> dict:
    out = {k: v for k, v in metrics.items() if k not in VOLATILE}
    out["provenance"] = {k: v for k, v in metrics["provenance"].items() if k != "timestamp"}
    return out


class Spy:
    """Counts the texts a Tagger is asked for; raises KeyboardInterrupt after `stop_after`."""

    def __init__(self, tagger: Tagger, stop_after: int | None = None) -> None:
        self.tagger, self.stop_after, self.ids = tagger, stop_after, []
        self._real = type(tagger).tag_many.__get__(tagger)  # not an earlier spy

    def __call__(self, items, batch_size=None):
        items = list(items)
        if self.stop_after is not None and len(self.ids) >= self.stop_after:
            raise KeyboardInterrupt
        self.ids += [i.id for i in items]
        return self._real(items, batch_size)


def test_interrupted_run_resumes_and_equals_a_clean_run(
    tagger: Tagger, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = run_eval(files["data"], tmp_path / "clean", tagger=tagger)
    ids = [p["id"] for p in read_predictions(tmp_path / "clean")]

    run = tmp_path / "run"
    first = Spy(tagger, stop_after=8)  # two batches of 4, then the "kill"
    monkeypatch.setattr(tagger, "tag_many", first)
    with pytest.raises(KeyboardInterrupt):
        run_eval(files["data"], run, tagger=tagger)
    assert first.ids == ids[:8]
    assert [p["id"] for p in read_predictions(run)] == ids[:8]  # flushed as they came
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    assert not (run / "metrics.json").exists()
    with (run / "predictions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(PARTIAL)  # killed mid-line

    second = Spy(tagger)
    monkeypatch.setattr(tagger, "tag_many", second)
    resumed = run_eval(files["data"], run, tagger=tagger)
    assert second.ids == ids[8:]  # only the rest was tagged
    assert resumed.metrics["resumed"] == 8 and clean.metrics["resumed"] == 0
    assert comparable(resumed.metrics) == comparable(clean.metrics)
    rows = read_predictions(run)
    assert [p["id"] for p in rows] == ids  # dataset order, the partial line gone
    assert [p["predicted"] for p in rows] == [
        p["predicted"] for p in read_predictions(tmp_path / "clean")
    ]
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "complete" and meta["kept_predictions"] == 8


def test_cross_validated_run_resumes_per_fold(
    tagger: Tagger, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[set[str]] = []
    real_train = crossval_mod.train

    def spy(items, taxonomy, **kw):
        model = real_train(items, taxonomy, **(kw | {"settings": fast_train_settings()}))
        real_classify = model.classify

        def classify(batch):
            calls.append({i.id for i in batch})
            return real_classify(batch)

        model.classify = classify
        return model

    monkeypatch.setattr(crossval_mod, "train", spy)
    copy = tmp_path / "bank-copy.jsonl"
    copy.write_bytes(files["bank"].read_bytes())
    bank_ids = [json.loads(line)["id"] for line in copy.read_text().splitlines()]
    folds = [set(bank_ids[k::2]) for k in range(2)]
    opts = {"model": tagger.model, "folds": 2}
    clean = run_eval(copy, tmp_path / "clean", **opts)
    assert clean.cross_validated and calls == folds

    # The interruption, simulated: fold 1's rows written, then half a line.
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tmp_path / "clean" / "run.json", run / "run.json")
    rows = [r for r in read_predictions(tmp_path / "clean") if r["id"] in folds[0]]
    text = "".join(json.dumps(r) + "\n" for r in rows) + PARTIAL
    (run / "predictions.jsonl").write_text(text, encoding="utf-8")

    calls.clear()
    resumed = run_eval(copy, run, **opts)
    assert calls == folds[1:]  # the finished fold was not fitted or predicted again
    assert comparable(resumed.metrics) == comparable(clean.metrics)
    assert [p["id"] for p in read_predictions(run)] == bank_ids


def test_another_runs_folder_is_kept_and_fresh_starts_over(
    tagger: Tagger, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    run_eval(files["data"], run, tagger=tagger)
    ids = [p["id"] for p in read_predictions(run)]
    pred_file = run / "predictions.jsonl"
    before = pred_file.read_bytes()

    # A finished run, run again: nothing is tagged (the CLI says so).
    spy = Spy(tagger)
    monkeypatch.setattr(tagger, "tag_many", spy)
    args = ["eval", "run", str(files["data"]), "-o", str(run), "--model", tagger.model]
    res = CliRunner().invoke(cli, [*args, "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "(20 predictions kept from before)" in res.stdout

    # Another dataset into the same folder: an error, the predictions untouched.
    other = tmp_path / "other.jsonl"
    other.write_text("".join(files["data"].read_text().splitlines(True)[:5]), encoding="utf-8")
    with pytest.raises(MotaiError, match=r"holds predictions of another run \(dataset_sha256"):
        run_eval(other, run, tagger=tagger)
    assert pred_file.read_bytes() == before

    # A bad line that is not the last: an error naming it.
    lines = before.decode().splitlines(True)
    pred_file.write_text("".join([*lines[:3], "not json\n", *lines[4:]]), encoding="utf-8")
    with pytest.raises(MotaiError, match=r"line 4: not a prediction row.*--fresh"):
        run_eval(files["data"], run, tagger=tagger)

    # Predictions with no run.json cannot be matched: an error, unless fresh.
    pred_file.write_bytes(before)
    (run / "run.json").unlink()
    with pytest.raises(MotaiError, match=r"no run\.json"):
        run_eval(files["data"], run, tagger=tagger)
    assert spy.ids == []
    out = run_eval(files["data"], run, tagger=tagger, fresh=True)
    assert spy.ids == ids and out.metrics["resumed"] == 0
    assert json.loads((run / "run.json").read_text())["status"] == "complete"


def test_cli_fresh_flag(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """--fresh reaches run_eval (the tagging itself is tested above)."""
    seen: dict = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise MotaiError("stop here")

    monkeypatch.setattr(run_mod, "run_eval", fake)
    res = CliRunner().invoke(cli, ["eval", "run", str(files["data"]), "--fresh"])
    assert res.exit_code == 1 and "stop here" in res.stderr
    assert seen["fresh"] is True
    CliRunner().invoke(cli, ["eval", "run", str(files["data"])])
    assert seen["fresh"] is False

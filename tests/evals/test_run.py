"""`run_eval` and `motai eval run` on a small exemplar bank, so every test stays fast.

The bank is 41 items of the dev set; the eval set is 20 other dev items (tagged by a
classifier fitted on the bank) or the bank itself (cross-validated). Both come from
tests/evals/conftest.py, shared with the resume tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import motai.crossval as crossval_mod
from motai.cli import cli
from motai.evals.config import ConfigError, load_config
from motai.evals.run import run_eval
from motai.evals.rundir import read_predictions
from motai.metrics import label_scores
from motai.tagger import Tagger
from motai.testing import fast_train_settings

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "evals" / "datasets" / "dev.jsonl"


def test_run_writes_a_complete_run_folder(
    small_tagger: Tagger, files: dict[str, Path], tmp_path: Path
) -> None:
    out = run_eval(files["data"], tmp_path / "run", tagger=small_tagger)
    assert out.cross_validated is False
    m = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert m == json.loads(json.dumps(out.metrics))
    assert m["n"] == 20 and m["errors"] == 0 and m["cross_validated"] is False

    preds = read_predictions(tmp_path / "run")
    gold_ids = [json.loads(line)["id"] for line in files["data"].read_text().splitlines()]
    assert [p["id"] for p in preds] == gold_ids
    assert {"id", "text", "gold", "predicted", "latency_ms"} <= set(preds[0])
    assert {"stage", "valence", "moments"} == set(preds[0]["gold"])

    # metrics.json agrees with the predictions it was computed from.
    gold = [p["gold"]["stage"] for p in preds]
    pred = [p["predicted"]["stage"] for p in preds]
    assert m["stage"] == label_scores(gold, pred).model_dump()
    assert sum(map(sum, m["confusion"]["stage"]["matrix"])) == 20
    cm = m["confusion"]["stage"]
    diag = sum(row[cm["columns"].index(r)] for r, row in zip(cm["rows"], cm["matrix"], strict=True))
    assert diag / 20 == pytest.approx(m["stage"]["accuracy"], abs=1e-4)
    ci = m["ci95"]["stage_macro_f1"]
    assert ci["low"] <= m["stage"]["macro_f1"] <= ci["high"]
    assert [c["coverage"] for c in m["calibration"]["coverage"]] == [1.0, 0.9, 0.8, 0.7, 0.5]
    assert m["calibration"]["coverage"][0]["accuracy"] == m["stage"]["accuracy"]
    assert 0.0 <= m["calibration"]["ece"] <= 1.0
    assert set(m["kappa"]) == {"stage", "valence"}

    prov = m["provenance"]
    assert len(prov["dataset_sha256"]) == 64
    assert prov["taxonomy_hash"] == small_tagger.taxonomy.hash
    assert prov["model"] == small_tagger.model and prov["motai_version"]
    assert prov["git_commit"] is None or len(prov["git_commit"]) == 40
    assert m["latency"]["mean_ms_per_item"] > 0

    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    for heading in ("## Headline", "## Stage per class", "## Stage confusion matrix"):
        assert heading in report
    assert "cross-validated" not in report
    wrong = [
        p
        for p in preds
        if (p["gold"]["stage"], p["gold"]["valence"])
        != (p["predicted"]["stage"], p["predicted"]["valence"])
    ]
    assert f"## Misclassified items ({len(wrong)})" in report
    for p in wrong:
        row = next(line for line in report.splitlines() if line.startswith(f"| {p['id']} |"))
        assert f"{p['gold']['stage']}/{p['gold']['valence']}" in row
        assert len(row.split(" | ")[-1]) <= 202  # text cut to 200 characters


def test_the_exemplar_bank_is_cross_validated(
    small_tagger: Tagger, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same content as the model's training data (under another name): every item is
    predicted by a model retrained without it."""
    seen: list[tuple[set[str], set[str]]] = []
    real_train = crossval_mod.train

    def spy(items, taxonomy, **kw):
        model = real_train(items, taxonomy, **(kw | {"settings": fast_train_settings()}))
        trained = {i.id for i in items}
        real_classify = model.classify

        def classify(batch):
            seen.append((trained, {i.id for i in batch}))
            return real_classify(batch)

        model.classify = classify
        return model

    monkeypatch.setattr(crossval_mod, "train", spy)
    copy = tmp_path / "same-content.jsonl"
    copy.write_bytes(files["bank"].read_bytes())
    out = run_eval(copy, tmp_path / "cv", model=small_tagger.model, folds=2)
    assert out.cross_validated is True
    assert out.metrics["cross_validated"] is True and out.metrics["folds"] == 2
    assert len(seen) == 2
    for trained, predicted in seen:
        assert predicted and not predicted & trained
    n = len(files["bank"].read_text().splitlines())
    assert sum(len(p) for _, p in seen) == n == out.metrics["n"]
    report = (tmp_path / "cv" / "report.md").read_text(encoding="utf-8")
    assert "The local model was cross-validated (2 folds)" in report


def test_cli_eval_run_and_compare(files: dict[str, Path], small_model: str, tmp_path: Path) -> None:
    runner = CliRunner()
    run_dir = tmp_path / "r1"
    base = ["--model", small_model, "--no-progress"]
    res = runner.invoke(cli, ["eval", "run", str(files["data"]), "-o", str(run_dir), *base])
    assert res.exit_code == 0, res.output
    assert "n=20" in res.stdout and "cross-validated" not in res.stdout
    assert {p.name for p in run_dir.iterdir()} == {
        "predictions.jsonl",
        "metrics.json",
        "report.md",
        "report.html",
        "run.json",
    }

    res = runner.invoke(cli, ["eval", "compare", str(run_dir), str(run_dir), "--fail-if-worse"])
    assert res.exit_code == 0, res.output
    assert "no significant difference" in res.stdout and "### Gate: pass" in res.stdout


def test_cli_eval_run_config_with_check(
    files: dict[str, Path], small_model: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(
        f"name: small\ndatasets: [{files['data']}]\nmodel: {small_model}\n"
        "thresholds:\n  min_stage_macro_f1: 1.0\n",
        encoding="utf-8",
    )
    args = ["eval", "run", str(cfg), "-o", str(tmp_path / "r")]
    res = CliRunner().invoke(cli, [*args, "--check"])
    assert res.exit_code == 3
    assert "stage macro-F1" in res.stderr and "under its threshold 1.0000" in res.stderr
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["name"] == "small"


def test_cli_eval_run_shares_the_llm_options(
    files: dict[str, Path], small_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # $OPENAI_BASE_URL, set for LLM runs, does not stop a local model's eval ...
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    args = ["eval", "run", str(files["data"]), "--model", small_model, "-o", str(tmp_path / "r")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    # ... while an LLM-only flag given to it is refused with one line, as `motai tag` does.
    res = CliRunner().invoke(cli, [*args[:-2], "-o", str(tmp_path / "r2"), "--rpm", "60"])
    assert res.exit_code == 1 and "--rpm: need an LLM model" in res.stderr
    help_text = CliRunner().invoke(cli, ["eval", "run", "--help"]).stdout
    assert "$OPENAI_BASE_URL" in help_text and "--rpm" in help_text


def test_default_config_loads() -> None:
    cfg = load_config(REPO / "evals" / "default.yaml")
    assert cfg.datasets == [DEV]
    assert cfg.model == "local" and cfg.folds == 5
    assert cfg.thresholds.class_floors["SMOT"] == 0.90
    assert 0 < cfg.thresholds.min_stage_macro_f1 < 0.46


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("name: x\ndatasets: [d.jsonl]\nmodle: local\n", "c.yaml: modle: unknown key"),
        ("datasets: [d.jsonl]\n", "c.yaml: name: missing required key"),
        ("name: x\ndatasets: [nope.jsonl]\n", "c.yaml: datasets.0: no such file"),
        ("name: x\ndatasets: [d.jsonl]\nfolds: 1\n", "c.yaml: folds: Input should be greater"),
        (
            "name: x\ndatasets: [d.jsonl]\nthresholds: {class_floors: {XMOT: 0.5}}\n",
            "c.yaml: thresholds.class_floors.XMOT: unknown stage",
        ),
        (
            "name: x\ndatasets: [d.jsonl]\nthresholds: {min_stage_macro_f1: 2}\n",
            "c.yaml: thresholds.min_stage_macro_f1: Input should be less",
        ),
        ("- a\n- b\n", "c.yaml: expected a mapping"),
        ("name: [\n", "c.yaml: not valid YAML"),
    ],
)
def test_config_errors_name_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "d.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "c.yaml")
    assert str(err.value).startswith(str(tmp_path / "c.yaml"))
    assert message.split(": ", 1)[1] in str(err.value)


def test_cli_reports_config_error(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("name: x\ndatasets: [gone.jsonl]\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", "run", str(tmp_path / "c.yaml")])
    assert res.exit_code == 1
    assert "datasets.0: no such file" in res.stderr

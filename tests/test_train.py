"""`motai train` and `train_bundle`: labelled JSONL in, a bundle that `motai tag` uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import motai.train as train_mod
from motai.cli import cli
from motai.errors import InputError
from motai.tagger import Tagger
from motai.testing import fast_train_settings
from motai.train import load_training_data

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "evals" / "datasets" / "dev.jsonl"


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's training, with settings that take seconds (same code path)."""
    real = train_mod.train
    monkeypatch.setattr(
        train_mod, "train", lambda *a, **kw: real(*a, **(kw | {"settings": fast_train_settings()}))
    )
    import motai.crossval as crossval_mod

    real_cv = crossval_mod.train
    monkeypatch.setattr(
        crossval_mod,
        "train",
        lambda *a, **kw: real_cv(*a, **(kw | {"settings": fast_train_settings()})),
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("train") / "small.jsonl"
    path.write_text("".join(DEV.read_text().splitlines(True)[::6]), encoding="utf-8")
    return path


def test_train_then_tag_with_the_bundle(data: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "my-model"
    res = runner.invoke(cli, ["train", str(data), "-o", str(out), "--cv", "2"])
    assert res.exit_code == 0, res.output
    assert "2-fold cross-validated" in res.stdout
    meta = json.loads((out / "model.json").read_text())
    assert meta["name"] == "my-model" and meta["n_texts"] == 61
    assert meta["data"][0]["file"] == "small.jsonl" and len(meta["data"][0]["sha256"]) == 64
    assert meta["metrics"]["folds"] == 2 and 0 <= meta["metrics"]["stage_accuracy"] <= 1
    assert "small.jsonl" in (out / "MODEL_CARD.md").read_text()

    # A folder that holds a model is not overwritten without --force.
    res = runner.invoke(cli, ["train", str(data), "-o", str(out), "--cv", "0"])
    assert res.exit_code == 2 and "--force" in res.stderr

    args = ["tag", "-", "--model", f"local:{out}", "-q"]
    res = runner.invoke(cli, args, input='{"text": "The parcel never came."}\n')
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)
    assert row["model"] == "motai-local:my-model@local:minilm-l6-v2-int8" and row["stage"]
    r = Tagger(f"local:{out}").tag("The parcel never came.")
    assert r.error is None and r.provider == "local"


def test_train_with_a_custom_taxonomy(data: Path, tmp_path: Path) -> None:
    b2b = REPO / "examples" / "taxonomies" / "b2b.yaml"
    out = tmp_path / "b2b-model"
    res = CliRunner().invoke(
        cli, ["train", str(data), "-o", str(out), "--cv", "0", "--taxonomy", str(b2b)]
    )
    assert res.exit_code == 0, res.output
    r = Tagger(f"local:{out}").tag("We will not renew: support never answered.")
    assert r.taxonomy_version == "moments-of-truth-b2b@1"
    assert r.stage in {"ZMOT", "FMOT", "SMOT", "LMOT", "NONE"}


def test_bad_training_data_is_one_line(data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = data.read_text().splitlines(True)
    row = json.loads(lines[2])
    row["moments"][0]["evidence"] = "not in the text at all"
    bad.write_text(lines[0] + lines[1] + json.dumps(row) + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["train", str(bad), "-o", str(tmp_path / "m")])
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1
    assert f"{bad}, row 3, field 'moments[0].evidence'" in res.stderr
    assert not (tmp_path / "m").exists()


def test_duplicate_ids_across_files(data: Path, taxonomy) -> None:
    with pytest.raises(InputError, match="duplicate id") as exc:
        load_training_data([data, data], taxonomy)
    assert exc.value.field == "id"

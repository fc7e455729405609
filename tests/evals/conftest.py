"""A small training set and eval set from the dev set, with a local model trained on it once
per session: the eval tests tag with a real (small) local model and stay fast.

The bank is 41 items of the dev set (every ninth); the eval set is 20 other dev items.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from motai.tagger import Tagger
from motai.taxonomy import Taxonomy
from motai.testing import fast_train_settings
from motai.train import train_bundle

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "evals" / "datasets" / "dev.jsonl"


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    root = tmp_path_factory.mktemp("evals")
    bank = root / "bank.jsonl"
    bank.write_text("\n".join(lines[::9]) + "\n", encoding="utf-8")
    data = root / "data.jsonl"
    data.write_text("\n".join(lines[4::9][:20]) + "\n", encoding="utf-8")
    return {"bank": bank, "data": data, "index": root / "index", "model": root / "model"}


@pytest.fixture(scope="session")
def small_model(files: dict[str, Path], taxonomy: Taxonomy) -> str:
    """`local:DIR` of a model trained on the bank (no cross-validation: seconds)."""
    train_bundle([files["bank"]], files["model"], taxonomy, folds=0, settings=fast_train_settings())
    return f"local:{files['model']}"


@pytest.fixture(scope="session")
def small_tagger(small_model: str, taxonomy: Taxonomy) -> Tagger:
    tagger = Tagger(small_model, taxonomy=taxonomy)
    _ = tagger.classifier  # load once for the session
    return tagger

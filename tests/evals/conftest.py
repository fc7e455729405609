"""A small exemplar bank and eval set from the dev set, with its store built once per
session: the eval tests tag with a real (small) local classifier and stay fast.

The bank is 41 items of the dev set (every ninth); the eval set is 20 other dev items.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from motai.tagger import Tagger
from motai.taxonomy import Taxonomy

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
    return {"bank": bank, "data": data, "index": root / "index"}


@pytest.fixture(scope="session")
def small_tagger(files: dict[str, Path], taxonomy: Taxonomy) -> Tagger:
    tagger = Tagger(taxonomy=taxonomy, exemplars=files["bank"], store_path=files["index"])
    _ = tagger.classifier  # build the store once for the session
    return tagger

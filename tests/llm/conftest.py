"""Fixtures for the LLM unit tests: a small store with the fake embedder, fake chat models.

The store holds the first 40 items of the bundled dev set, embedded with the hashed
bag-of-words `FakeEmbedder`, so it builds in a second and retrieval is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from motai.labelled import exemplars_path
from motai.store import KnowledgeStore
from motai.taxonomy import Taxonomy
from motai.testing import FakeEmbedder

N_EXEMPLARS = 40


@pytest.fixture(scope="session")
def small_exemplars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = exemplars_path().read_text(encoding="utf-8").splitlines()[:N_EXEMPLARS]
    path = tmp_path_factory.mktemp("exemplars") / "small.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def fake_store(
    taxonomy: Taxonomy, small_exemplars: Path, tmp_path_factory: pytest.TempPathFactory
) -> KnowledgeStore:
    store = KnowledgeStore(
        taxonomy,
        embedder=FakeEmbedder(),
        exemplars=small_exemplars,
        path=tmp_path_factory.mktemp("fake-index"),
    )
    store.ensure()
    return store

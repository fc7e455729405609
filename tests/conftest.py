"""Shared fixtures. Every test gets its own MOTAI_HOME, so nothing touches ~/.cache.

The store built from the bundled taxonomy and exemplars is built once per session (it
embeds ~2,000 segments) and shared read-only by the tests that need the real classifier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from motai.store import KnowledgeStore
from motai.tagger import Tagger
from motai.taxonomy import Taxonomy, load_taxonomy

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _motai_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTAI_HOME", str(tmp_path_factory.mktemp("motai-home")))
    # Real requests to hosted APIs are never made in tests.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def store(taxonomy: Taxonomy, store_dir: Path) -> KnowledgeStore:
    s = KnowledgeStore(taxonomy, path=store_dir)
    s.ensure()
    return s


@pytest.fixture(scope="session")
def tagger(taxonomy: Taxonomy, store: KnowledgeStore, store_dir: Path) -> Tagger:
    return Tagger(taxonomy=taxonomy, store_path=store_dir)

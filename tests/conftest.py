"""Shared fixtures. Every test gets its own MOTAI_HOME, so nothing touches ~/.cache.

The store built from the bundled taxonomy and exemplars is built once per session (it
embeds ~2,000 segments) and shared read-only by the tests that need the real classifier.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from motai.labelled import exemplars_path
from motai.store import KnowledgeStore
from motai.tagger import Tagger
from motai.taxonomy import Taxonomy, load_taxonomy
from motai.testing import FakeEmbedder, block_network

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    """No test reaches a host off this machine; servers the tests start on 127.0.0.1 pass."""
    with block_network():
        yield


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


# A small store with the fake embedder (the first 40 items of the bundled dev set, hashed
# bag-of-words vectors): builds in a second, retrieval is deterministic. For the LLM tests.
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


# Measured figures (PII recall, injection flip rates, fault-injection counts): tests hand
# them to `figures`, and they are printed at the end of every run, `pytest -q` included,
# so CI's log shows them without -s.
_FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def figures():  # type: ignore[no-untyped-def]
    def add(name: str, value: object) -> None:
        import json

        _FIGURES.append((name, value if isinstance(value, str) else json.dumps(value)))

    return add


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _FIGURES:
        terminalreporter.section("measured figures")
        for name, value in _FIGURES:
            terminalreporter.write_line(f"{name}: {value}")

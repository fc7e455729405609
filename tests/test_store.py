"""The knowledge store: build, freshness, rebuild on change, status, query; a real server.

Unit tests use `FakeEmbedder` (no model, milliseconds) and small exemplar files; the
session `store` fixture (real MiniLM embedder, the bundled dev set) is reused as is.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from motai.errors import StoreError
from motai.labelled import exemplars_path, load_labelled
from motai.segment import segments
from motai.store import KnowledgeStore
from motai.taxonomy import Taxonomy, load_taxonomy
from motai.testing import FakeEmbedder, RecordingEmbedder

REPO = Path(__file__).resolve().parent.parent
# chroma asks the embedding function to rebuild itself from its config; "fake:bow" is not
# an embedder motai can build by name, so chroma warns and keeps the function it was given.
pytestmark = pytest.mark.filterwarnings(
    "ignore:legacy embedding function config:DeprecationWarning"
)

DEFAULT_FILE = REPO / "motai" / "taxonomies" / "moments-of-truth.v1.yaml"

ITEMS = [
    {
        "id": "x1",
        "kind": "review",
        "text": "Waited three weeks for this sweater to ship. Huge disappointment.",
        "stage": "AMOT",
        "valence": "pain",
        "moments": [
            {"stage": "AMOT", "valence": "pain", "evidence": "Waited three weeks"},
        ],
    },
    {
        "id": "x2",
        "kind": "review",
        "text": "Love the fabric, runs small so size up. Highly recommend!",
        "stage": "SMOT",
        "valence": "glory",
        "moments": [
            {"stage": "SMOT", "valence": "glory", "evidence": "Love the fabric"},
            {"stage": "UMOT", "valence": "glory", "evidence": "Highly recommend!"},
        ],
    },
    {
        "id": "x3",
        "kind": "social",
        "text": "Check out our new podcast episode!",
        "stage": "NONE",
        "valence": "neutral",
        "moments": [],
    },
]


def taxonomy_rows(tax: Taxonomy) -> int:
    per_stage = sum(
        1 + len(s.signals) + sum(len(v) for v in s.examples.values()) for s in tax.stages
    )
    return per_stage + 1 + len(tax.none.examples)


def segment_count(path: Path, tax: Taxonomy) -> int:
    return sum(len(segments(i.text, i.kind)) for i in load_labelled(path, tax))


@pytest.fixture
def small_exemplars(tmp_path: Path) -> Path:
    p = tmp_path / "small.jsonl"
    p.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    return p


@pytest.fixture
def fake() -> RecordingEmbedder:
    return RecordingEmbedder(FakeEmbedder())


# --- embedded store, fake embedder ---------------------------------------------------


def test_build_creates_both_collections(tmp_path, taxonomy, small_exemplars, fake) -> None:
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=tmp_path / "ix")
    assert not s.is_fresh()
    assert s.ensure() is True
    assert s.is_fresh()
    st = s.status()
    assert st["taxonomy_rows"] == taxonomy_rows(taxonomy)
    n_seg = segment_count(small_exemplars, taxonomy)
    assert n_seg >= len(ITEMS)
    assert st["exemplars_rows"] == n_seg
    assert fake.n_texts == st["taxonomy_rows"] + st["exemplars_rows"]


def test_exemplar_rows_carry_gold_labels(tmp_path, taxonomy, small_exemplars, fake) -> None:
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=tmp_path / "ix")
    e = s.entries("exemplars")
    assert [m["item"] for m in e.metadatas] == sorted(m["item"] for m in e.metadatas)
    by_item = {}
    for doc, meta in zip(e.documents, e.metadatas, strict=True):
        by_item.setdefault(meta["item"], []).append((doc, meta))
    first_doc, first = by_item["x1"][0]
    assert first_doc.startswith("Waited three weeks")
    assert (first["stage"], first["valence"], first["item_stage"]) == ("AMOT", "pain", "AMOT")
    assert {m["stage"] for _, m in by_item["x3"]} == {""}  # NONE text: no moment anywhere
    assert e.embeddings.shape == (len(e), FakeEmbedder().dim)


def test_ensure_is_a_noop_when_fresh(tmp_path, taxonomy, small_exemplars, fake) -> None:
    path = tmp_path / "ix"
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=path)
    assert s.ensure() is True
    fake.reset()
    assert s.ensure() is False
    again = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=path)
    assert again.fingerprint == s.fingerprint
    assert again.ensure() is False
    assert fake.calls == 0  # nothing re-embedded


def test_rebuilds_when_taxonomy_changes(tmp_path, taxonomy, small_exemplars, fake) -> None:
    path = tmp_path / "ix"
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=path)
    s.ensure()
    raw = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    raw["stages"][2]["signals"].append("the courier left it in the rain")
    changed_file = tmp_path / "changed.yaml"
    changed_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    changed = load_taxonomy(changed_file)
    assert changed.id == taxonomy.id  # same collections, different content

    s2 = KnowledgeStore(changed, embedder=fake, exemplars=small_exemplars, path=path)
    assert s2.fingerprint != s.fingerprint
    assert not s2.is_fresh()
    assert s2.ensure() is True
    assert not s.is_fresh()  # the old definition no longer matches what is stored
    assert s2.status()["taxonomy_rows"] == taxonomy_rows(taxonomy) + 1
    docs = s2.entries("taxonomy").documents
    assert "the courier left it in the rain" in docs
    assert s2.ensure() is False


def test_rebuilds_when_exemplars_change(tmp_path, taxonomy, small_exemplars, fake) -> None:
    path = tmp_path / "ix"
    KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=path).ensure()
    small_exemplars.write_text("".join(json.dumps(i) + "\n" for i in ITEMS[:2]), encoding="utf-8")
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=path)
    assert not s.is_fresh()
    assert s.ensure() is True
    assert s.status()["exemplars_rows"] == segment_count(small_exemplars, taxonomy)
    assert {m["item"] for m in s.entries("exemplars").metadatas} == {"x1", "x2"}


def test_rebuilds_when_embedder_changes(tmp_path, taxonomy, small_exemplars) -> None:
    path = tmp_path / "ix"
    KnowledgeStore(taxonomy, embedder=FakeEmbedder(), exemplars=small_exemplars, path=path).ensure()

    class Other(FakeEmbedder):
        id = "fake:other"

    s = KnowledgeStore(taxonomy, embedder=Other(), exemplars=small_exemplars, path=path)
    assert s.ensure() is True
    assert s.status()["embedder"] == "fake:other"


def test_status_fields(tmp_path, taxonomy, small_exemplars, fake) -> None:
    path = tmp_path / "ix"
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=path)
    before = s.status()
    assert set(before) == {
        "location",
        "taxonomy",
        "embedder",
        "exemplars",
        "fingerprint",
        "fresh",
        "taxonomy_rows",
        "exemplars_rows",
    }
    assert before["fresh"] is False
    assert (before["taxonomy_rows"], before["exemplars_rows"]) == (0, 0)
    assert before["location"] == str(path)
    assert before["taxonomy"] == "moments-of-truth@1"
    assert before["embedder"] == "fake:bow"
    assert before["exemplars"] == str(small_exemplars)
    assert before["fingerprint"] == s.fingerprint and len(s.fingerprint) == 16
    s.ensure()
    after = s.status()
    assert after["fresh"] is True
    assert after["taxonomy_rows"] == taxonomy_rows(taxonomy)


def test_query_nearest_rows(tmp_path, taxonomy, small_exemplars, fake) -> None:
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, path=tmp_path / "ix")
    texts = ["where is my order, the tracking has not updated", "highly recommend this"]
    got = s.query("taxonomy", texts, n=3)
    assert len(got["ids"]) == 2 and all(len(ids) == 3 for ids in got["ids"])
    assert got["metadatas"][0][0]["stage"] == "AMOT"
    assert got["metadatas"][1][0]["stage"] == "UMOT"
    d = got["distances"][0]
    assert d == sorted(d)
    signals = s.query("taxonomy", texts[:1], n=2, where={"type": "signal"})
    assert all(m["type"] == "signal" for m in signals["metadatas"][0])
    ex = s.query("exemplars", ["waited weeks for it to ship"], n=1)
    assert ex["metadatas"][0][0]["item"] == "x1"


def test_missing_exemplar_file(tmp_path, taxonomy) -> None:
    with pytest.raises(StoreError, match="no such exemplar file"):
        KnowledgeStore(taxonomy, embedder=FakeEmbedder(), exemplars=tmp_path / "nope.jsonl")


def test_default_path_under_motai_home(taxonomy, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MOTAI_HOME", str(tmp_path / "home"))
    s = KnowledgeStore(taxonomy, embedder=FakeEmbedder())
    assert s.path == tmp_path / "home" / "index"
    assert s.exemplars_file == exemplars_path()


def test_b2b_taxonomy_store(tmp_path, fake) -> None:
    b2b = load_taxonomy(REPO / "examples" / "taxonomies" / "b2b.yaml")
    items = tmp_path / "b2b.jsonl"
    item = {
        "id": "b1",
        "text": "We renewed for three more years.",
        "stage": "LMOT",
        "valence": "glory",
        "moments": [{"stage": "LMOT", "valence": "glory", "evidence": "We renewed"}],
    }
    items.write_text(json.dumps(item) + "\n", encoding="utf-8")
    s = KnowledgeStore(b2b, embedder=fake, exemplars=items, path=tmp_path / "ix")
    assert s.ensure() is True
    assert s.status()["taxonomy_rows"] == taxonomy_rows(b2b)
    got = s.query("taxonomy", ["we are not renewing our contract"], n=1)
    assert got["metadatas"][0][0]["stage"] == "LMOT"


# --- the real embedder: the session store ---------------------------------------------


def test_session_store_is_fresh_and_full(store, taxonomy) -> None:
    st = store.status()
    assert st["fresh"] is True
    assert st["embedder"] == "local:minilm-l6-v2-int8"
    assert st["taxonomy_rows"] == taxonomy_rows(taxonomy)
    assert st["exemplars_rows"] == segment_count(exemplars_path(), taxonomy)
    assert store.ensure() is False


def test_session_store_reopened_without_reembedding(store, store_dir, taxonomy) -> None:
    rec = RecordingEmbedder(store.embedder)
    again = KnowledgeStore(taxonomy, embedder=rec, path=store_dir)
    assert again.ensure() is False
    assert rec.calls == 0


def test_session_store_query_real_embedder(store) -> None:
    got = store.query(
        "taxonomy",
        ["My parcel still hasn't arrived and the courier has no idea where it is"],
        n=5,
    )
    stages = [m["stage"] for m in got["metadatas"][0]]
    assert "AMOT" in stages
    assert stages[0] == "AMOT"
    ex = store.query("exemplars", ["The fabric feels cheap and it ripped after one wash"], n=5)
    assert "SMOT" in [m["stage"] for m in ex["metadatas"][0]]


# --- a real chroma server on 127.0.0.1 -----------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_heartbeat(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"chroma server at {url} did not answer within {timeout:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.skip(f"no chroma executable next to {sys.executable}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        _wait_heartbeat(url, proc)
        yield url, proc
    finally:
        _stop(proc)
        log.close()


@pytest.mark.server
def test_real_chroma_server(chroma_server, taxonomy, small_exemplars, fake) -> None:
    url, proc = chroma_server
    s = KnowledgeStore(taxonomy, embedder=fake, exemplars=small_exemplars, url=url)
    assert s.path is None and s.location == url
    assert not s.is_fresh()
    assert s.ensure() is True
    assert s.is_fresh()
    st = s.status()
    assert st["location"] == url and st["fresh"] is True
    assert st["taxonomy_rows"] == taxonomy_rows(taxonomy)
    assert st["exemplars_rows"] == segment_count(small_exemplars, taxonomy)
    got = s.query("taxonomy", ["where is my order, the tracking has not updated"], n=3)
    assert got["metadatas"][0][0]["stage"] == "AMOT"

    # A second client on the same server sees the store fresh: no rebuild, no embedding.
    fake2 = RecordingEmbedder(FakeEmbedder())
    other = KnowledgeStore(taxonomy, embedder=fake2, exemplars=small_exemplars, url=url)
    assert other.is_fresh()
    assert other.ensure() is False
    assert fake2.calls == 0
    assert len(other.entries("exemplars")) == st["exemplars_rows"]

    # The server goes away: every call fails with one line naming the URL.
    _stop(proc)
    for call in (other.status, other.ensure, other.is_fresh):
        with pytest.raises(StoreError) as exc:
            call()
        assert url in str(exc.value) and "\n" not in str(exc.value)


def test_unreachable_url_raises_store_error(taxonomy, small_exemplars) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError) as exc:
        s = KnowledgeStore(taxonomy, embedder=FakeEmbedder(), exemplars=small_exemplars, url=url)
        s.ensure()  # in case the client connects lazily
    msg = str(exc.value)
    assert url in msg
    assert "\n" not in msg

"""Crash safety: a process SIGKILLed mid-way through a build, a cache write, `motai tag`
with the local model or `motai eval run`, then the same command again.

What must hold: every row exactly once and in order, the rows finished before the kill
kept byte for byte (not redone), the SQLite cache in WAL mode and intact, and a store
whose build was killed halfway seen as stale and built again. (The LLM path's kill test
is in tests/llm/test_faults_llama.py: it needs the llama.cpp server.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from motai.llm.cache import ResponseCache
from motai.store import KnowledgeStore
from motai.taxonomy import Taxonomy
from motai.testing import FakeEmbedder

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings(
    "ignore:legacy embedding function config:DeprecationWarning"
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"}


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300.0) -> None:
    """SIGKILL `proc` as soon as `ready()` is true; fail if it ends first."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        assert ready(), "the run never got far enough to be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


_BUILD_KILLED = """
import os, signal, sys
from motai.store import KnowledgeStore
from motai.taxonomy import load_taxonomy
from motai.testing import FakeEmbedder

class DiesMidBuild(FakeEmbedder):
    calls = 0
    def embed(self, texts):
        DiesMidBuild.calls += 1
        if DiesMidBuild.calls == {kill_at}:  # the exemplars' first batch: taxonomy done
            os.kill(os.getpid(), signal.SIGKILL)
        return super().embed(texts)

KnowledgeStore(load_taxonomy(), embedder=DiesMidBuild(), exemplars=sys.argv[1],
               path=sys.argv[2]).ensure()
"""


def test_store_build_killed_halfway_is_detected_and_redone(
    tmp_path: Path, taxonomy: Taxonomy, small_exemplars: Path
) -> None:
    path = tmp_path / "index"
    script = _BUILD_KILLED.format(kill_at=2)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(small_exemplars), str(path)], env=_env(), timeout=300
    )
    assert proc.returncode == -signal.SIGKILL
    store = KnowledgeStore(taxonomy, embedder=FakeEmbedder(), exemplars=small_exemplars, path=path)
    half = store._collection("exemplars")
    assert half is not None and half.count() == 0  # created, killed before its rows
    assert not store.is_fresh()  # the fingerprint matches, the rows do not
    assert store.ensure() is True
    assert store.is_fresh()
    assert store._collection("exemplars").count() == len(store._exemplar_rows())


_CACHE_WRITER = """
import sys
from motai.llm.cache import ResponseCache
cache = ResponseCache(sys.argv[1])
i = 0
while True:
    cache.put(f"k{i}", {"reply": {"stage": "SMOT", "n": i, "pad": "x" * 2000}})
    i += 1
"""


def test_cache_is_wal_and_intact_after_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", _CACHE_WRITER, str(db)], env=_env())

    def written() -> bool:
        if not db.exists():
            return False
        try:
            with sqlite3.connect(db, timeout=5) as c:
                return c.execute("SELECT COUNT(*) FROM responses").fetchone()[0] >= 300
        except sqlite3.OperationalError:
            return False

    _kill_when(proc, written, timeout=120)
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    cache = ResponseCache(db)
    n = len(cache)
    assert n >= 300
    for i in range(n):  # every committed row reads back whole
        assert cache.get(f"k{i}") == {"reply": {"stage": "SMOT", "n": i, "pad": "x" * 2000}}
    cache.put("after", {"ok": True})
    assert cache.get("after") == {"ok": True}


def _dataset(path: Path, n: int) -> list[str]:
    """n labelled dev-set texts under new ids (so the model was not trained on this file)."""
    rows = [json.loads(x) for x in (REPO / "evals/datasets/dev.jsonl").read_text().splitlines()]
    out = []
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = dict(rows[i % len(rows)], id=f"k{i:04d}")
            out.append(row["id"])
            f.write(json.dumps(row) + "\n")
    return out


def test_tag_with_the_local_model_killed_then_resumed(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = _dataset(src, 120)
    cmd = [sys.executable, "-m", "motai", "tag", str(src), "-o", str(out), "--batch-size", "8"]
    proc = subprocess.Popen([*cmd, "-q"], env=_env(), cwd=tmp_path)
    _kill_when(proc, lambda: _lines(out) >= 16)
    before = out.read_bytes()
    finished = before[: before.rfind(b"\n") + 1].splitlines(keepends=True)

    again = subprocess.run(cmd, env=_env(), cwd=tmp_path, capture_output=True, timeout=600)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    kept = int(re.search(rb"resumed .*?: (\d+) finished row", again.stderr).group(1))  # type: ignore[union-attr]
    assert kept == len(finished) and 16 <= kept < len(ids)
    after = out.read_bytes().splitlines(keepends=True)
    assert after[:kept] == finished  # not redone: byte for byte
    assert [json.loads(x)["id"] for x in after] == ids  # every row once, in order


def test_eval_run_killed_then_resumed(tmp_path: Path) -> None:
    data, run = tmp_path / "set.jsonl", tmp_path / "run"
    ids = _dataset(data, 120)
    cmd = [sys.executable, "-m", "motai", "eval", "run", str(data), "-o", str(run)]
    cmd += ["--no-progress"]
    preds = run / "predictions.jsonl"
    proc = subprocess.Popen(cmd, env=_env(), cwd=tmp_path)
    _kill_when(proc, lambda: _lines(preds) >= 16)
    before = preds.read_bytes()
    finished = before[: before.rfind(b"\n") + 1].splitlines(keepends=True)

    again = subprocess.run(cmd, env=_env(), cwd=tmp_path, capture_output=True, timeout=600)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    after = preds.read_bytes().splitlines(keepends=True)
    assert after[: len(finished)] == finished  # kept, not redone
    assert sorted(json.loads(x)["id"] for x in after) == sorted(ids)  # every item once
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == len(ids) and metrics["resumed"] == len(finished)

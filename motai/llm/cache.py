"""The response cache: model replies on disk (SQLite), so a re-run costs no request.

The key is a sha256 of the canonical JSON of everything that decides the reply (model,
prompt hash, taxonomy hash, retrieved context, text...), built by `ResponseCache.key`.
Values are the final outcome of a row only (the parsed answer, or the error of an
answer still invalid after its repair): never request headers, never an API key, never
a transient failure. One SQLite file in WAL mode, shared safely by threads and
asyncio tasks of one process (a lock serialises access to the one connection) and by
several processes (SQLite's own locking).

    cache = ResponseCache()                       # $MOTAI_HOME/cache.sqlite
    k = cache.key(model="gpt-4o-mini", prompt=h, text=text)
    if (hit := cache.get(k)) is None:
        cache.put(k, reply)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from motai.paths import motai_home

__all__ = ["ResponseCache", "default_cache_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_path() -> Path:
    """`$MOTAI_HOME/cache.sqlite`, else `~/.cache/motai/cache.sqlite`."""
    return motai_home() / "cache.sqlite"


class ResponseCache:
    """A key-value store of model replies in one SQLite file; thread- and task-safe."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), check_same_thread=False, timeout=30.0, isolation_level=None
        )
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(**parts: Any) -> str:
        """sha256 of the canonical JSON of `parts` (sorted keys, no whitespace)."""
        blob = json.dumps(
            parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict | None:
        """The stored reply, or None (counted as a hit or a miss of this instance)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            try:
                value = json.loads(row[0])
            except json.JSONDecodeError:  # a damaged row is a miss, never an error
                self.misses += 1
                return None
            self.hits += 1
            return value

    def put(self, key: str, value: dict) -> None:
        """Store a reply (JSON-serialisable dict), replacing any previous one."""
        if not isinstance(value, dict):
            raise TypeError(f"cache values are dicts, not {type(value).__name__}")
        blob = json.dumps(value, ensure_ascii=False, sort_keys=True)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                (key, blob, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def stats(self) -> dict[str, Any]:
        """Entries and size on disk, plus this instance's hits and misses."""
        size = 0
        for suffix in ("", "-wal", "-shm"):
            f = Path(str(self.path) + suffix)
            if f.exists():
                size += f.stat().st_size
        return {
            "path": str(self.path),
            "entries": len(self),
            "size_bytes": size,
            "hits": self.hits,
            "misses": self.misses,
        }

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        with self._lock:
            n = self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            self._conn.execute("DELETE FROM responses")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with self._lock:
            self._conn.execute("VACUUM")
        return n

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

"""Test helpers: fast, deterministic embedders for unit tests of code that needs a store.

    from motai.testing import FakeEmbedder, RecordingEmbedder
    store = KnowledgeStore(taxonomy, embedder=RecordingEmbedder(FakeEmbedder()), path=tmp)

`FakeEmbedder` hashes words into a bag-of-words vector: texts that share words are near,
texts that share none are orthogonal. It needs no model and no network, and embeds
thousands of texts in milliseconds. `RecordingEmbedder` wraps any embedder and counts what
it was asked to embed, to prove (say) that a fresh store is reused rather than re-embedded.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence

import numpy as np

from motai.embeddings import Embedder

__all__ = ["FakeEmbedder", "RecordingEmbedder"]

_WORD = re.compile(r"[a-z0-9']+")


class FakeEmbedder:
    """Deterministic hashed bag-of-words embedder, L2-normalised (`id = "fake:bow"`).

    The same text always gives the same vector, in every process (blake2b, not `hash()`).
    A text with no words maps to a fixed unit vector so that every row has unit length.
    """

    id = "fake:bow"

    def __init__(self, dim: int = 256) -> None:
        if dim < 2:
            raise ValueError("dim must be at least 2")
        self.dim = dim

    def _bucket(self, word: str) -> int:
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little") % self.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            if not words:
                out[i, 0] = 1.0
                continue
            for w in words:
                out[i, self._bucket(w)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


class RecordingEmbedder:
    """Wraps an embedder and counts its calls and texts; keeps the wrapped embedder's id."""

    def __init__(self, inner: Embedder | None = None) -> None:
        self.inner: Embedder = inner if inner is not None else FakeEmbedder()
        self.id = self.inner.id
        self.calls = 0
        self.texts: list[str] = []
        self._lock = threading.Lock()

    @property
    def n_texts(self) -> int:
        return len(self.texts)

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.texts = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.calls += 1
            self.texts.extend(texts)
        return self.inner.embed(texts)

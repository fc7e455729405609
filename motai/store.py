"""The knowledge store: the taxonomy and the labelled exemplars, embedded, in chroma.

On disk by default (one folder, reused across runs), or a shared chroma server with
`url`. Every collection carries a fingerprint of the taxonomy, the exemplar file and the
embedder; when any of them changes, the store is rebuilt before it is used, so a stale
index can never answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from chromadb.api.types import EmbeddingFunction
from chromadb.errors import NotFoundError
from chromadb.utils.embedding_functions import register_embedding_function

from motai.embeddings import Embedder, get_embedder
from motai.errors import StoreError
from motai.labelled import exemplars_path, file_hash, load_labelled
from motai.paths import motai_home
from motai.segment import moment_counts, segment_label, segments
from motai.taxonomy import Taxonomy

# Part of the fingerprint: bump it when the stored rows change for the same inputs
# (2: sentence splitting keeps abbreviations whole; segment labels from the data's counts).
STORE_SCHEMA = "2"
_ADD_BATCH = 1000


def default_store_path() -> Path:
    """`$MOTAI_HOME/index`, else the user's cache folder."""
    return motai_home() / "index"


@register_embedding_function
class ChromaEmbedding(EmbeddingFunction):
    """A motai embedder as chroma's embedding function, so `query_texts` works too."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: list[str]) -> list[np.ndarray]:
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "motai"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self._embedder.id}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        return ChromaEmbedding(get_embedder(config.get("embedder")))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"


@dataclass
class Entries:
    """Rows of one collection, vectors included, in insertion order."""

    ids: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ids)


class KnowledgeStore:
    """Chroma collections for one taxonomy: its definitions and its labelled exemplars."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        embedder: Embedder | str | None = None,
        exemplars: str | Path | None = None,
        path: str | Path | None = None,
        url: str | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.embedder = get_embedder(embedder)
        self.exemplars_file = exemplars_path(exemplars)
        if not self.exemplars_file.is_file():
            raise StoreError(f"{self.exemplars_file}: no such exemplar file")
        self.url = url
        self.path = None if url else Path(path) if path else default_store_path()
        self._client = self._connect()
        self._lock = threading.Lock()
        self.fingerprint = hashlib.sha256(
            "|".join(
                [STORE_SCHEMA, taxonomy.hash, file_hash(self.exemplars_file), self.embedder.id]
            ).encode()
        ).hexdigest()[:16]

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        try:
            if self.url:
                u = urlparse(self.url if "://" in self.url else f"http://{self.url}")
                port = u.port or (443 if u.scheme == "https" else 8000)
                return chromadb.HttpClient(
                    host=u.hostname or "localhost",
                    port=port,
                    ssl=u.scheme == "https",
                    settings=settings,
                )
            self.path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.path), settings=settings)
        except Exception as exc:  # chroma raises many types; the user needs one line
            where = self.url or str(self.path)
            raise StoreError(f"cannot open the chroma store at {where}: {exc}") from None

    @property
    def location(self) -> str:
        return self.url or str(self.path)

    def _name(self, what: str) -> str:
        return f"motai-{self.taxonomy.id}-{what}"

    def _collection(self, what: str, create: bool = False, rows: int = 0) -> Any:
        name = self._name(what)
        try:
            if create:
                meta = {"hnsw:space": "cosine", "fingerprint": self.fingerprint, "rows": rows}
                return self._client.get_or_create_collection(
                    name, embedding_function=ChromaEmbedding(self.embedder), metadata=meta
                )
            return self._client.get_collection(
                name, embedding_function=ChromaEmbedding(self.embedder)
            )
        except NotFoundError:
            if not create:
                return None  # not built yet
            raise StoreError(f"chroma at {self.location}: collection {name} not found") from None
        except Exception as exc:  # unreachable server, bad reply: one line naming where
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise StoreError(f"chroma at {self.location}: {detail}") from None

    def is_fresh(self) -> bool:
        """Built for this fingerprint and complete: a build killed halfway left fewer rows
        than its collection's `rows` promise, and is built again."""
        for what in ("taxonomy", "exemplars"):
            col = self._collection(what)
            meta = (col.metadata or {}) if col is not None else {}
            if col is None or meta.get("fingerprint") != self.fingerprint:
                return False
            if meta.get("rows") is None or col.count() != meta["rows"]:
                return False
        return True

    def ensure(self) -> bool:
        """Build the store if it is missing or stale. Returns True when it was (re)built."""
        with self._lock:
            if self.is_fresh():
                return False
            self.build()
            return True

    def build(self) -> None:
        for what in ("taxonomy", "exemplars"):
            with contextlib.suppress(Exception):  # absent: nothing to delete
                self._client.delete_collection(self._name(what))
        self._add("taxonomy", self._taxonomy_rows())
        self._add("exemplars", self._exemplar_rows())

    def _add(self, what: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
        col = self._collection(what, create=True, rows=len(rows))
        for b in range(0, len(rows), _ADD_BATCH):
            batch = rows[b : b + _ADD_BATCH]
            docs = [r[1] for r in batch]
            col.add(
                ids=[r[0] for r in batch],
                documents=docs,
                metadatas=[r[2] for r in batch],
                embeddings=self.embedder.embed(docs),
            )

    def _taxonomy_rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        rows = []
        for s in self.taxonomy.stages:
            rows.append((f"{s.id}:definition", s.definition, {"stage": s.id, "type": "definition"}))
            for i, sig in enumerate(s.signals):
                rows.append((f"{s.id}:signal:{i}", sig, {"stage": s.id, "type": "signal"}))
            for valence, texts in s.examples.items():
                for i, t in enumerate(texts):
                    meta = {"stage": s.id, "valence": valence, "type": "example"}
                    rows.append((f"{s.id}:example:{valence}:{i}", t, meta))
        none = self.taxonomy.none
        rows.append(
            (f"{none.id}:definition", none.definition, {"stage": none.id, "type": "definition"})
        )
        for i, t in enumerate(none.examples):
            rows.append((f"{none.id}:example:{i}", t, {"stage": none.id, "type": "example"}))
        return rows

    def _exemplar_rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        """One row per segment of each labelled text, labelled from the gold evidence."""
        rows = []
        items = list(load_labelled(self.exemplars_file, self.taxonomy))
        counts = moment_counts(items)
        for item in items:
            spans = item.spans()
            for n, seg in enumerate(segments(item.text, item.kind)):
                stage, valence = segment_label(seg.start, seg.end, spans, counts)
                meta = {
                    "item": item.id,
                    "n": n,
                    "kind": item.kind or "",
                    "item_stage": item.stage,
                    "item_valence": item.valence,
                    "stage": stage,
                    "valence": valence,
                    "start": seg.start,
                    "end": seg.end,
                }
                rows.append((f"{item.id}#{n}", seg.text, meta))
        return rows

    def entries(self, what: str) -> Entries:
        """Every row of `taxonomy` or `exemplars`, vectors included (builds if stale): for
        checks and tools. Tagging never reads the vectors back: the LLM's retrieval asks
        chroma (`query`), and the local model keeps its own arrays in its bundle."""
        self.ensure()
        col = self._collection(what)
        got = col.get(include=["documents", "metadatas", "embeddings"])
        order = np.arange(len(got["ids"]))
        if what == "exemplars":  # chroma does not keep insertion order
            order = sorted(
                order, key=lambda i: (got["metadatas"][i]["item"], got["metadatas"][i]["n"])
            )
        return Entries(
            ids=[got["ids"][i] for i in order],
            documents=[got["documents"][i] for i in order],
            metadatas=[got["metadatas"][i] for i in order],
            embeddings=np.asarray(got["embeddings"], dtype=np.float32)[list(order)],
        )

    def query(self, what: str, texts: list[str], n: int = 5, where: dict | None = None) -> dict:
        """Nearest rows to each text, for prompts and explanations: chroma's own query, the
        texts embedded by the collection's embedding function (motai's embedder)."""
        self.ensure()
        col = self._collection(what)
        return col.query(
            query_texts=texts,
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "location": self.location,
            "taxonomy": self.taxonomy.ref,
            "embedder": self.embedder.id,
            "exemplars": str(self.exemplars_file),
            "fingerprint": self.fingerprint,
            "fresh": self.is_fresh(),
        }
        for what in ("taxonomy", "exemplars"):
            col = self._collection(what)
            out[f"{what}_rows"] = col.count() if col is not None else 0
        return out

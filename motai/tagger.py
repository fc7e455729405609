"""`Tagger`: the public entry point. `Tagger()` is the offline local classifier.

The store and the classifier load once, on first use, under a lock; after that `tag`
and `tag_many` only read shared state, so one Tagger can serve several threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path

from motai.embeddings import Embedder
from motai.errors import MotaiError
from motai.local import LocalClassifier, LocalSettings
from motai.models import TagResult, TextItem
from motai.store import KnowledgeStore
from motai.taxonomy import Taxonomy, load_taxonomy

DEFAULT_MODEL = "local"


class Tagger:
    """Tag customer texts with their moments of truth.

    >>> tagger = Tagger()                       # offline, no key
    >>> tagger.tag("Arrived two weeks late. Love the fabric though!").stage
    'AMOT'
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        taxonomy: str | Path | Taxonomy | None = None,
        exemplars: str | Path | None = None,
        embedder: str | Embedder | None = None,
        store_path: str | Path | None = None,
        chroma_url: str | None = None,
        batch_size: int = 32,
        settings: LocalSettings | None = None,
    ) -> None:
        self.model = model or DEFAULT_MODEL
        if self.model not in {"local", "local:default"}:
            raise MotaiError(
                f"unknown model {self.model!r}: this version tags with the local classifier "
                "('local'); LLM providers are not available yet"
            )
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.batch_size = max(1, batch_size)
        self._store_args = {
            "embedder": embedder,
            "exemplars": exemplars,
            "path": store_path,
            "url": chroma_url,
        }
        self._settings = settings
        self._classifier: LocalClassifier | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> KnowledgeStore:
        return self.classifier.store

    @property
    def classifier(self) -> LocalClassifier:
        """The fitted classifier, loaded on first use (builds the store if stale)."""
        if self._classifier is None:
            with self._lock:
                if self._classifier is None:
                    store = KnowledgeStore(self.taxonomy, **self._store_args)
                    self._classifier = LocalClassifier(store, settings=self._settings)
        return self._classifier

    def tag(self, text: str, *, id: str = "0", kind: str | None = None) -> TagResult:
        """Tag one text."""
        return next(self.tag_many([TextItem(id=id, text=text, kind=kind)]))

    def tag_many(
        self, items: Iterable[str | Mapping[str, object] | TextItem], batch_size: int | None = None
    ) -> Iterator[TagResult]:
        """Tag texts lazily, in batches, in input order; one result per input, errors included."""
        it = (_as_item(x, n) for n, x in enumerate(items, start=1))
        size = batch_size or self.batch_size
        while batch := list(islice(it, size)):
            yield from self._tag_batch(batch)

    def _tag_batch(self, batch: list[TextItem]) -> list[TagResult]:
        good = [x for x in batch if x.error is None]
        try:
            done = {id(x): r for x, r in zip(good, self.classifier.classify(good), strict=True)}
        except MotaiError:
            raise
        except Exception:
            # One bad text must not cost the batch: retry one by one, keeping each error.
            done = {id(x): self._tag_one(x) for x in good}
        return [done.get(id(x)) or self._failed(x, x.error or "not tagged") for x in batch]

    def _tag_one(self, item: TextItem) -> TagResult:
        try:
            return self.classifier.classify([item])[0]
        except Exception as exc:
            return self._failed(item, f"{type(exc).__name__}: {exc}".splitlines()[0])

    def _failed(self, item: TextItem, error: str) -> TagResult:
        return TagResult(
            id=item.id,
            kind=item.kind,
            provider="local",
            taxonomy_version=self.taxonomy.ref,
            error=error,
        )


def _as_item(x: str | Mapping[str, object] | TextItem, n: int) -> TextItem:
    from motai.io import detect_kind

    if isinstance(x, TextItem):
        item = x
    elif isinstance(x, str):
        item = TextItem(id=str(n), text=x)
    else:
        item = TextItem(
            id=str(x.get("id", n)),
            text=str(x.get("text") or ""),
            kind=x.get("kind") or None,  # type: ignore[arg-type]
        )
    if item.error is None and not item.text.strip():
        where = f"{item.file}: row {item.row}: " if item.file else ""
        return item.model_copy(update={"error": f"{where}field 'text': empty text"})
    if item.kind is None and item.error is None:
        return item.model_copy(update={"kind": detect_kind(item.text)})
    return item

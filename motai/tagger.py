"""`Tagger`: the public entry point. `Tagger()` is the offline local model.

The store and the classifier load once, on first use, under a lock; after that `tag`
and `tag_many` only read shared state, so one Tagger can serve several threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motai.embeddings import Embedder
from motai.errors import InputError, MotaiError
from motai.io import detect_kind
from motai.local import LocalModel, bundle_taxonomy, default_model_dir
from motai.models import TagResult, TextItem
from motai.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:  # chromadb takes seconds to import; the local model never needs it
    from motai.store import KnowledgeStore

DEFAULT_MODEL = "local"
LOCAL_MODELS = {"local", "local:default"}


def local_model_path(model: str) -> Path | None:
    """The bundle folder of a local model id (`local`, `local:default`, `local:PATH`), or
    None when the id names an LLM."""
    if model in LOCAL_MODELS:
        return default_model_dir()
    if model.startswith("local:"):
        return Path(model.removeprefix("local:")).expanduser()
    return None


class Tagger:
    """Tag customer texts with their moments of truth.

    >>> tagger = Tagger()                       # the shipped model: offline, no key
    >>> tagger.tag("My parcel still hasn't shipped after two weeks.").stage
    'AMOT'
    >>> Tagger("local:my-model")                # a model from `motai train`

    With an LLM (any OpenAI-compatible endpoint; key from OPENAI_API_KEY or `api_key`):

        Tagger("openai:gpt-4o-mini")
        Tagger("qwen2.5", base_url="http://localhost:8000/v1", concurrency=8, redact=True)
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
        base_url: str | None = None,
        api_key: str | None = None,
        prompt: str | None = None,
        concurrency: int = 4,
        cache: bool | object = True,
        redact: bool = False,
        k_examples: int = 4,
        exclude_items: Collection[str] = (),
        chat: object | None = None,
        timeout: float = 120.0,
        max_retries: int = 6,
    ) -> None:
        self.model = model or DEFAULT_MODEL
        self.model_path = local_model_path(self.model)
        self.is_local = self.model_path is not None
        if self.is_local and (base_url or prompt or redact or chat is not None):
            raise MotaiError(
                "--base-url, --prompt and --redact need an LLM model, e.g. "
                "--model openai:gpt-4o-mini (the local model sends nothing anywhere)"
            )
        if self.is_local and exemplars is not None:
            raise MotaiError(
                "--exemplars feed an LLM's retrieval; the local model learns from labelled "
                "data instead: motai train DATA.jsonl -o MODEL_DIR, then --model local:MODEL_DIR"
            )
        if not self.is_local:
            from motai.llm.providers import parse_model_id

            parse_model_id(self.model, base_url or os.environ.get("OPENAI_BASE_URL"))
        # LLMClassifier options (the key is kept here only to hand it to the provider).
        self._llm_args = {
            "base_url": base_url,
            "api_key": api_key,
            "prompt": prompt or "classify.v1",
            "concurrency": concurrency,
            "cache": cache,
            "redact": redact,
            "k_examples": k_examples,
            "exclude_items": exclude_items,
            "chat": chat,
            "timeout": timeout,  # seconds per request
            "max_retries": max_retries,  # per request, for 429, 5xx, timeouts, drops
        }
        if self.is_local and taxonomy is None:
            assert self.model_path is not None
            self.taxonomy = bundle_taxonomy(self.model_path)  # the model knows its stages
        else:
            self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.batch_size = max(1, batch_size)
        self._store_args = {
            "embedder": embedder,
            "exemplars": exemplars,
            "path": store_path,
            "url": chroma_url,
        }
        self._classifier: Any = None
        self._lock = threading.Lock()

    @property
    def store(self) -> KnowledgeStore:
        """The LLM's retrieval store (the local model needs none)."""
        return self.classifier.store

    @property
    def classifier(self) -> Any:
        """The classifier, loaded on first use: the local model's bundle (nothing is fitted),
        or an LLMClassifier (which builds the retrieval store if stale)."""
        if self._classifier is None:
            with self._lock:
                if self._classifier is None:
                    self._classifier = self._load_classifier()
        return self._classifier

    def _load_classifier(self) -> Any:
        if self.model_path is not None:
            model = LocalModel.load(self.model_path, self._store_args["embedder"])
            return model.for_taxonomy(self.taxonomy)
        from motai.llm.classifier import LLMClassifier
        from motai.store import KnowledgeStore

        store = KnowledgeStore(self.taxonomy, **self._store_args)
        return LLMClassifier(store, self.model, **self._llm_args)

    @property
    def ledger(self) -> Any:
        """Requests, retries, repairs, cache hits, tokens and cost so far (None if local)."""
        return None if self.is_local else self.classifier.ledger

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
            provider="local" if self.is_local else "openai",
            taxonomy_version=self.taxonomy.ref,
            error=error,
        )


def _as_item(x: str | Mapping[str, object] | TextItem, n: int) -> TextItem:
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
        error = InputError("empty text", file=item.file, row=item.row, field="text")
        return item.model_copy(update={"error": str(error)})
    if item.kind is None and item.error is None:
        return item.model_copy(update={"kind": detect_kind(item.text)})
    return item

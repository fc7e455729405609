"""`Tagger`: the public entry point. `Tagger()` is the offline local model.

The store and the classifier load once, on first use, under a lock; after that `tag`
and `tag_many` only read shared state, so one Tagger can serve several threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motai.classifiers import (
    Classifier,
    ClassifierOptions,
    build,
    check_local_options,
    resolve,
)
from motai.errors import InputError, MotaiError
from motai.io import detect_kind
from motai.llm.provider import require_llm_extra
from motai.local import bundle_taxonomy, default_model_dir
from motai.models import TagResult, TextItem
from motai.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:  # chromadb takes seconds to import; the local model never needs it
    import pandas as pd

    from motai.langchain import TaggerRunnable
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
    >>> Tagger("keyword:strict")                # a plugin's (entry point motai.classifiers)

    With an LLM (any OpenAI-compatible endpoint; key from OPENAI_API_KEY or `api_key`):

        Tagger("openai:gpt-4o-mini")
        Tagger("qwen2.5", base_url="http://localhost:8000/v1", concurrency=8, redact=True)
    """

    def __init__(
        self,
        model: str | Classifier | None = None,
        *,
        taxonomy: str | Path | Taxonomy | None = None,
        batch_size: int = 32,
        **options: Any,
    ) -> None:
        """`model`: an id the registry resolves (`motai.classifiers`) or a Classifier.

        `options` go to the classifier's factory (`ClassifierOptions`): for an LLM
        `base_url`, `api_key`, `prompt`, `concurrency`, `rpm`, `cache`, `redact`,
        `k_examples`, `timeout` and `max_retries` (per request), `exemplars`, `store_path`,
        `chroma_url`; for any model `embedder`. An option the model cannot use is refused
        with one line, before any text is read.
        """
        unknown = sorted(set(options) - ClassifierOptions.names())
        if unknown:
            raise TypeError(f"Tagger() got unknown option(s): {', '.join(unknown)}")
        self.batch_size = max(1, batch_size)
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()
        if isinstance(model, Classifier):
            self._classifier, self.model, self.provider = model, model.model, model.provider
            self.model_path, self.is_local = None, model.provider == "local"
            self.options = ClassifierOptions(taxonomy=model.taxonomy)
            self.taxonomy = model.taxonomy
            return
        self.model = model or DEFAULT_MODEL
        self.model_path = local_model_path(self.model)
        self.is_local = self.model_path is not None
        prefix, _ = resolve(self.model, options.get("base_url"))
        if self.is_local and taxonomy is None:
            assert self.model_path is not None
            tax: Taxonomy | None = bundle_taxonomy(self.model_path)  # the model knows its stages
        elif taxonomy is not None or prefix == "openai":
            tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        else:
            tax = None  # a plugin's model brings its own taxonomy
        self.options = ClassifierOptions(taxonomy=tax, **options)
        self.provider = prefix
        if self.is_local:
            check_local_options(self.options)
        elif prefix == "openai":
            require_llm_extra()
        self.taxonomy = tax if tax is not None else self.classifier.taxonomy

    def options_to_rebuild(self) -> dict[str, Any]:
        """The arguments that make an equal Tagger elsewhere (another process, a Ray actor):
        `Tagger(**tagger.options_to_rebuild())`. Its model loads there, once."""
        given = {
            f.name: getattr(self.options, f.name)
            for f in fields(self.options)
            if f.name != "taxonomy" and getattr(self.options, f.name) not in (None, ())
        }
        return {
            "model": self.model,
            "taxonomy": self.taxonomy,
            "batch_size": self.batch_size,
            **given,
        }

    @property
    def store(self) -> KnowledgeStore:
        """The LLM's retrieval store (the local model needs none)."""
        return self.classifier.store  # type: ignore[attr-defined]

    @property
    def classifier(self) -> Classifier:
        """The classifier, built on first use: the local model's bundle (nothing is fitted),
        an LLMClassifier (which builds the retrieval store if stale), or a plugin's."""
        if self._classifier is None:
            with self._lock:
                if self._classifier is None:
                    self._classifier = build(self.model, self.options)
        return self._classifier

    @property
    def ledger(self) -> Any:
        """Requests, retries, repairs, cache hits, tokens and cost so far (None if local)."""
        return None if self.is_local else getattr(self.classifier, "ledger", None)

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

    async def atag(self, text: str, *, id: str = "0", kind: str | None = None) -> TagResult:
        """Tag one text without blocking the caller's event loop."""
        return (await self.atag_many([TextItem(id=id, text=text, kind=kind)]))[0]

    async def atag_many(
        self, items: Iterable[str | Mapping[str, object] | TextItem]
    ) -> list[TagResult]:
        """`tag_many` in a worker thread, awaited: the caller's loop keeps serving (an LLM
        classifier runs its requests on its own loop, concurrently, as in `tag_many`)."""
        import asyncio

        return await asyncio.to_thread(lambda: list(self.tag_many(items)))

    def as_runnable(self) -> TaggerRunnable:
        """This tagger as a LangChain Runnable (`invoke`, `batch`, `ainvoke`, LCEL `|`)."""
        from motai.langchain import TaggerRunnable

        return TaggerRunnable(self)

    def tag_dataframe(
        self,
        df: pd.DataFrame,
        *,
        text_column: str = "text",
        id_column: str | None = None,
        kind: str | None = None,
        prefix: str = "",
    ) -> pd.DataFrame:
        """A copy of a pandas DataFrame with motai's columns added (pandas: the extra).

        >>> Tagger().tag_dataframe(df, text_column="body", id_column="id")[["id", "stage"]]
        """
        from motai.dataframe import tag_dataframe

        return tag_dataframe(
            self, df, text_column=text_column, id_column=id_column, kind=kind, prefix=prefix
        )

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
            provider=self.provider,
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

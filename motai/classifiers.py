"""The classifier protocol and the registry that resolves model ids to classifiers.

A model id is `PREFIX:NAME`: `local` (the shipped model), `local:PATH` (a bundle from
`motai train`), `openai:gpt-4o-mini`, or a prefix that a plugin registers. With a base URL
(`--base-url` or OPENAI_BASE_URL) a bare name (`qwen2.5`, `llama3.1:8b`) is the server's.

Plugins register through entry points, as llm's plugins and spaCy's registry do, so a
pip-installed package adds a provider without touching motai:

    [project.entry-points."motai.classifiers"]
    keyword = "motai_keyword:make_classifier"   # make_classifier(name, options) -> Classifier

    [project.entry-points."motai.taxonomies"]
    retail-lite = "motai_keyword:taxonomy_path"  # a path, a Taxonomy, or a callable giving one

    [project.entry-points."motai.embedders"]
    hashing = "motai_keyword:make_embedder"      # make_embedder(name) -> Embedder
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, fields
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from motai.errors import MotaiError

if TYPE_CHECKING:
    from motai.embeddings import Embedder
    from motai.models import TagResult, TextItem
    from motai.taxonomy import Taxonomy

CLASSIFIERS_GROUP = "motai.classifiers"
TAXONOMIES_GROUP = "motai.taxonomies"
EMBEDDERS_GROUP = "motai.embedders"


@runtime_checkable
class Classifier(Protocol):
    """What a Tagger needs: who answers, which model, in which taxonomy, and `classify`.

    `classify` returns one TagResult per item, in order. Optional: `dry_run(items)` (an
    estimate, nothing sent) and `ledger` (requests, tokens, cost) for classifiers that
    call a service.
    """

    provider: str
    model: str
    taxonomy: Taxonomy

    def classify(self, items: Sequence[TextItem]) -> list[TagResult]: ...


@dataclass(frozen=True)
class ClassifierOptions:
    """Everything a factory may use. None means "not given": the factory's default."""

    taxonomy: Taxonomy | None = None
    embedder: str | Embedder | None = None
    exemplars: str | Path | None = None
    store_path: str | Path | None = None
    chroma_url: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    prompt: str | None = None
    concurrency: int | None = None
    rpm: float | None = None
    timeout: float | None = None  # seconds per request
    max_retries: int | None = None  # per request, for 429, 5xx, timeouts, drops
    cache: bool | object | None = None
    redact: bool | None = None
    k_examples: int | None = None
    exclude_items: Collection[str] = ()
    chat: object | None = None

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    def given(self, *names: str) -> list[str]:
        """Which of `names` were set: for a factory to refuse what it cannot use."""
        return [n for n in names if getattr(self, n) not in (None, False, ())]


Factory = Callable[[str, ClassifierOptions], Classifier]

# Options only an LLM can use; the local model refuses them (it sends nothing anywhere).
LLM_ONLY = ("base_url", "api_key", "prompt", "redact", "rpm", "timeout", "max_retries", "chat")


def check_local_options(options: ClassifierOptions) -> None:
    """One line for an option the local model cannot use, before any text is read."""
    bad = options.given(*LLM_ONLY)
    if bad:
        flags = ", ".join("--" + n.replace("_", "-") for n in bad)
        raise MotaiError(
            f"{flags}: need an LLM model, e.g. --model openai:gpt-4o-mini (the local model "
            "sends nothing anywhere)"
        )
    if options.exemplars is not None:
        raise MotaiError(
            "--exemplars feed an LLM's retrieval; the local model learns from labelled "
            "data instead: motai train DATA.jsonl -o MODEL_DIR, then --model local:MODEL_DIR"
        )


def _local(name: str, options: ClassifierOptions) -> Classifier:
    from motai.local import LocalModel, default_model_dir

    check_local_options(options)
    path = default_model_dir() if name in ("", "default") else Path(name).expanduser()
    loaded = LocalModel.load(path, options.embedder)
    return loaded.for_taxonomy(options.taxonomy) if options.taxonomy else loaded


def _openai(name: str, options: ClassifierOptions) -> Classifier:
    from motai.llm.classifier import LLMClassifier
    from motai.store import KnowledgeStore
    from motai.taxonomy import load_taxonomy

    store = KnowledgeStore(
        options.taxonomy or load_taxonomy(),
        embedder=options.embedder,
        exemplars=options.exemplars,
        path=options.store_path,
        url=options.chroma_url,
    )
    kw = {
        k: getattr(options, k)
        for k in (
            "base_url",
            "api_key",
            "concurrency",
            "rpm",
            "cache",
            "redact",
            "k_examples",
            "chat",
        )
        if getattr(options, k) is not None
    }
    return LLMClassifier(
        store,
        name,
        prompt=options.prompt or "classify.v1",
        exclude_items=options.exclude_items,
        **kw,
    )


_BUILTIN: dict[str, Factory] = {"local": _local, "openai": _openai}
_registry: dict[str, Factory] = {}
_loaded = False
_lock = threading.Lock()


def register(prefix: str, factory: Factory) -> None:
    """Add a classifier under `prefix` (what entry points do; handy in tests)."""
    _registry[prefix] = factory


def _plugins(group: str) -> dict[str, Any]:
    """The entry points of `group` by name, each loaded; a broken plugin is one line."""
    found: dict[str, Any] = {}
    for ep in entry_points(group=group):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:
            raise MotaiError(
                f"plugin {ep.name!r} ({ep.value}, entry point {group}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from None
    return found


def classifier_prefixes() -> dict[str, Factory]:
    """Built-in and plugin prefixes; plugins are looked up once, on first use."""
    global _loaded
    with _lock:
        if not _loaded:
            for name, factory in _plugins(CLASSIFIERS_GROUP).items():
                _registry.setdefault(name, factory)
            _loaded = True
    return {**_registry, **_BUILTIN}


def resolve(model: str, base_url: str | None = None) -> tuple[str, str]:
    """(prefix, name) of a model id; raises one line for an id nobody answers.

    Built-in prefixes win over plugins, so a plugin cannot take over `local` or `openai`.
    An LLM's name is the whole id, as its endpoint parses it (`openai:x`, `llama3.1:8b`).
    """
    prefix, sep, name = model.partition(":")
    if model in ("local", "local:default"):
        return "local", ""
    known = classifier_prefixes()
    if sep and prefix in known and prefix != "openai":
        return prefix, name
    from motai.llm.provider import parse_model_id

    try:  # what is left goes to an OpenAI-compatible endpoint, if the id can
        parse_model_id(model, base_url or os.environ.get("OPENAI_BASE_URL"))
    except MotaiError as exc:
        plugins = sorted(set(known) - set(_BUILTIN))
        extra = f" (plugin prefixes: {', '.join(plugins)})" if plugins else ""
        raise MotaiError(f"{exc}{extra}") from None
    return "openai", model


def build(model: str, options: ClassifierOptions) -> Classifier:
    """The classifier for a model id (see `resolve`)."""
    prefix, name = resolve(model, options.base_url)
    if prefix == "openai":
        from motai.llm.provider import require_llm_extra

        require_llm_extra()
    classifier = classifier_prefixes()[prefix](name, options)
    if not isinstance(classifier, Classifier):
        raise MotaiError(
            f"{prefix!r} returned {type(classifier).__name__}, which is not a Classifier "
            "(it needs provider, model, taxonomy and classify(items))"
        )
    return classifier


def plugin_taxonomy(name: str) -> Taxonomy | None:
    """A taxonomy a plugin registers under `name`, or None."""
    from motai.taxonomy import Taxonomy, load_taxonomy

    found = _plugins(TAXONOMIES_GROUP).get(name)
    if found is None:
        return None
    if callable(found) and not isinstance(found, Taxonomy):
        found = found()
    return found if isinstance(found, Taxonomy) else load_taxonomy(Path(found))


def plugin_embedder(spec: str) -> Embedder | None:
    """An embedder a plugin registers under the prefix of `spec` (`prefix:name`), or None."""
    prefix, _, name = spec.partition(":")
    factory = _plugins(EMBEDDERS_GROUP).get(prefix)
    return None if factory is None else factory(name)

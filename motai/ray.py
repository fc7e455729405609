"""Tag on Ray: the same `Tagger` in an actor pool, for feeds one machine cannot finish.

    import ray, motai.ray
    ds = ray.data.read_parquet("s3://feed/")            # any Ray Dataset with a text column
    motai.ray.tag_dataset(ds).write_parquet("s3://tagged/")

Each actor builds its `Tagger` once (the trained bundle loads, nothing is fitted) and tags
batch after batch. Actors never take every CPU: Ray Data's read and write tasks need one,
and a pipeline whose actors hold all CPUs waits for them forever. `tag_files` is
`motai tag --ray`: the CLI's readers and writers in this process, batches streamed to
actors (`tag_items`).

Ray is an optional extra: importing this module without it fails with one line naming
`pip install "motai[ray]"`; importing `motai` never imports Ray.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from motai.errors import MotaiError
from motai.models import TagResult, TextItem

INSTALL_HINT = 'motai.ray needs Ray: pip install "motai[ray]"'

try:
    import pyarrow as pa
    import ray
    import ray.data
    from ray.data import ActorPoolStrategy
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(INSTALL_HINT) from None

if TYPE_CHECKING:
    from ray.data import Dataset

    from motai.tagger import Tagger

__all__ = [
    "RESULT_COLUMNS",
    "SharedCache",
    "connect",
    "tag_dataset",
    "tag_files",
    "tag_items",
    "tagger_options",
]

# motai's columns, as `TagResult.flat()` gives them: moments as a JSON string, so a block
# writes to CSV, JSON and Parquet alike and reads back as the CLI's CSV does.
RESULT_COLUMNS: tuple[str, ...] = tuple(TagResult.model_fields)
_FLOAT_COLUMNS = {"confidence"}
_SCHEMA = pa.schema(
    [(c, pa.float64() if c in _FLOAT_COLUMNS else pa.string()) for c in RESULT_COLUMNS]
)
_KINDS = {"review", "social", "transcript"}


def connect(address: str | None = None, *, workers: int = 1) -> bool:
    """Join the cluster at `address`, or start a local runtime (`None` or "local"; no
    dashboard), unless Ray is running already. Returns True when this call started Ray.

    A local runtime gets at least `workers + 1` CPUs, so the actors never hold them all.
    Its workers import this very `motai`: an installed one, else (a checkout on
    `PYTHONPATH`) the folder it was imported from, passed on in their `PYTHONPATH`.
    """
    if ray.is_initialized():
        return False
    if address not in (None, "local"):
        # Cluster nodes run their own install of motai (pip install "motai[ray]").
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        return True
    root = str(Path(__file__).resolve().parent.parent)
    env: dict[str, Any] = {}
    if Path(root).name not in ("site-packages", "dist-packages"):
        paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {"runtime_env": {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}}
    ray.init(
        num_cpus=max(os.cpu_count() or 1, workers + 1),
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        **env,
    )
    return True


def _actor_cpus(workers: int) -> float:
    """CPUs per actor so that the actors together leave one CPU (or half of a one-CPU
    cluster) to Ray Data's read and write tasks: a pool holding every CPU deadlocks."""
    total = float(ray.cluster_resources().get("CPU", 1.0))
    spare = min(1.0, total / 2)
    return max(0.01, min(1.0, (total - spare) / workers))


def default_workers() -> int:
    """One actor per CPU of the cluster but one (at least one)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1.0)) - 1)


def _actor_tagger(options: dict[str, Any]) -> Tagger:
    """The actor's `Tagger`, loaded now, once. The local encoder gets as many threads as
    the actor has CPUs: onnxruntime's default (up to 4) in every actor would
    oversubscribe a node (31 actors, 124 threads on 32 cores)."""
    from motai.embeddings import MiniLMEmbedder
    from motai.tagger import Tagger

    if options.get("embedder") in (None, "local", "local:minilm"):
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
        options = options | {"embedder": MiniLMEmbedder(threads=max(1, int(cpus)))}
    tagger = Tagger(**options)
    tagger.classifier  # noqa: B018 - load the bundle (or open the store) now
    return tagger


class _TagBatches:
    """The actor: one `Tagger`, built once, tagging each batch it is given.

    A batch is a pyarrow Table; the result is the same table with motai's columns added
    (an input column of the same name is replaced).
    """

    def __init__(
        self,
        tagger_options: dict[str, Any],
        text_column: str,
        id_column: str,
        kind_column: str,
    ) -> None:
        self.tagger = _actor_tagger(tagger_options)
        self.columns = (text_column, id_column, kind_column)

    def _items(self, rows: list[dict[str, Any]]) -> list[TextItem]:
        text_col, id_col, kind_col = self.columns
        items = []
        for r in rows:
            text = "" if r.get(text_col) is None else str(r[text_col])
            rid = r.get(id_col)
            if rid is None:  # no id column: a stable id from the text itself
                rid = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
            kind = r.get(kind_col)
            items.append(TextItem(id=str(rid), text=text, kind=kind if kind in _KINDS else None))
        return items

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        results = list(self.tagger.tag_many(self._items(rows), batch_size=len(rows) or 1))
        flat = [r.flat() for r in results]
        for name in RESULT_COLUMNS:
            column = pa.array([f[name] for f in flat], type=_SCHEMA.field(name).type)
            if name in batch.column_names:
                batch = batch.set_column(batch.column_names.index(name), name, column)
            else:
                batch = batch.append_column(name, column)
        return batch


def tag_dataset(
    ds: Dataset,
    model: str | None = None,
    *,
    workers: int | None = None,
    batch_size: int = 32,
    text_column: str = "text",
    id_column: str = "id",
    kind_column: str = "kind",
    **tagger_options: Any,
) -> Dataset:
    """`ds` with motai's columns (`RESULT_COLUMNS`) added, tagged by an actor pool.

    `workers` actors (default: the cluster's CPUs but one), each with its own `Tagger`
    built once from `model` and `tagger_options` (as `Tagger` takes them). Rows without
    an `id_column` get the first 16 hex digits of their text's sha1 as id. For an LLM, the
    retrieval store is built (if stale) here, once, before any actor opens it; give
    `chroma_url` so every node reads the same one. A killed actor is restarted and its
    batch tagged again (Ray's `max_restarts` / `max_task_retries`): no row is lost or
    written twice.
    """
    return _map(
        ds, model, workers, batch_size, (text_column, id_column, kind_column), tagger_options
    )


def _map(
    ds: Dataset,
    model: str | None,
    workers: int | None,
    batch_size: int,
    columns: tuple[str, str, str],
    tagger_options: dict[str, Any],
) -> Dataset:
    options = {"model": model, "batch_size": batch_size, **tagger_options}
    _prepare_llm(options)
    n = workers or default_workers()
    return ds.map_batches(
        _TagBatches,
        fn_constructor_args=(options, *columns),
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ActorPoolStrategy(size=n),
        num_cpus=_actor_cpus(n),
        # Ray Data's actor pools restart a killed actor (max_restarts=-1), which loads its
        # model again, and send it the batch it held (max_task_retries=-1).
    )


def _prepare_llm(options: dict[str, Any]) -> SharedCache | None:
    """For an LLM: build the retrieval store once, here, and share the answer cache.

    The actors then open a fresh store and never rebuild it. The cache (unless
    `cache=False` or a cache object is given) becomes one actor owning this machine's
    `$MOTAI_HOME/cache.sqlite`, so every worker on every node reads and writes the same
    answers: a re-run asks nothing already answered. Returns that cache, if started
    (it lives as long as the Ray session, or until its `server` is killed).
    """
    from motai.store import default_store_path
    from motai.tagger import Tagger

    tagger = Tagger(**options)
    if tagger.is_local:
        return None
    if not options.get("store_path") and not options.get("chroma_url"):
        # This machine's folder, named in full: an actor's MOTAI_HOME may differ.
        options["store_path"] = str(default_store_path())
        tagger = Tagger(**options)
    tagger.store.ensure()
    if options.get("cache", True) is not True:
        return None
    options["cache"] = SharedCache.start()
    return options["cache"]


class _CacheServer:
    """The one owner of the answer cache's SQLite file, on the driver's node."""

    def __init__(self, path: str | None) -> None:
        from motai.llm.cache import ResponseCache

        self.cache = ResponseCache(path)

    def get(self, key: str) -> dict | None:
        return self.cache.get(key)

    def put(self, key: str, value: dict) -> None:
        self.cache.put(key, value)

    def stats(self) -> dict[str, Any]:
        return self.cache.stats()


class SharedCache:
    """The LLM answer cache as every actor sees it: calls to the `_CacheServer` actor.

    A round trip per call (about 2 ms on one node) is nothing beside an LLM request; the
    SQLite file stays on one disk, never on a network filesystem (where SQLite's locks are
    not to be trusted).
    """

    def __init__(self, server: Any) -> None:
        self.server = server

    @classmethod
    def start(cls, path: str | Path | None = None) -> SharedCache:
        """The cache server for the file at `path` (default: this process's
        `$MOTAI_HOME/cache.sqlite`), on this node."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from motai.llm.cache import default_cache_path

        here = ray.get_runtime_context().get_node_id()
        server = (
            ray.remote(_CacheServer)
            .options(
                num_cpus=0,
                max_restarts=-1,
                max_task_retries=-1,
                scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
            )
            .remote(str(path or default_cache_path()))
        )
        return cls(server)

    @staticmethod
    def key(**parts: Any) -> str:
        from motai.llm.cache import ResponseCache

        return ResponseCache.key(**parts)

    def get(self, key: str) -> dict | None:
        return ray.get(self.server.get.remote(key))

    def put(self, key: str, value: dict) -> None:
        ray.get(self.server.put.remote(key, value))

    def stats(self) -> dict[str, Any]:
        return ray.get(self.server.stats.remote())


class _Tagging:
    """The actor of `tag_items`: one `Tagger`, built once, tagging the batches it is sent."""

    def __init__(self, tagger_options: dict[str, Any]) -> None:
        self.tagger = _actor_tagger(tagger_options)

    def tag(self, items: list[TextItem]) -> list[TagResult]:
        return list(self.tagger.tag_many(items, batch_size=len(items) or 1))


def tag_items(
    items: Iterable[TextItem],
    *,
    model: str | None = None,
    workers: int | None = None,
    batch_size: int = 32,
    ordered: bool = True,
    **tagger_options: Any,
) -> Iterator[tuple[TextItem, TagResult]]:
    """Each of `items` with its result, tagged by `workers` actors, streamed: at most two
    batches per actor are in flight, so memory stays flat however long the stream.

    In input order, or as batches finish with `ordered=False` (the id is in every row).
    A killed actor is restarted and sent the batches it held again (`max_restarts`,
    `max_task_retries`); each batch is yielded once, and each result is checked against
    its item's id, so a row is never lost, repeated or paired with another's result.

    Why not Ray Data here: it has no source that streams from an iterator in this
    process, and a file read by one read task reaches an actor pool as one input (one
    actor, nothing out before the end). `tag_dataset` is Ray Data's way in.
    """
    options = {"model": model, "batch_size": batch_size, **tagger_options}
    cache = _prepare_llm(options)
    n = workers or default_workers()
    actor = ray.remote(_Tagging).options(
        num_cpus=_actor_cpus(n), max_restarts=-1, max_task_retries=-1
    )
    pool = [actor.remote(options) for _ in range(n)]
    load = [0] * n  # batches in flight per actor
    pending: deque[tuple[list[TextItem], Any, int]] = deque()

    def done(entry: tuple[list[TextItem], Any, int]) -> Iterator[tuple[TextItem, TagResult]]:
        batch, ref, k = entry
        load[k] -= 1
        results = ray.get(ref)
        if [r.id for r in results] != [x.id for x in batch]:
            raise MotaiError("ray: a batch came back with other rows than were sent")
        yield from zip(batch, results, strict=True)

    def next_done() -> Iterator[tuple[TextItem, TagResult]]:
        if ordered:
            yield from done(pending.popleft())
            return
        [ready], _ = ray.wait([ref for _, ref, _ in pending], num_returns=1)
        entry = next(e for e in pending if e[1] == ready)
        pending.remove(entry)
        yield from done(entry)

    it = iter(items)
    try:
        while batch := list(islice(it, batch_size)):
            k = load.index(min(load))
            slim = [x.model_copy(update={"extra": {}}) for x in batch]  # the text, not the rest
            pending.append((batch, pool[k].tag.remote(slim), k))
            load[k] += 1
            if len(pending) >= 2 * n:
                yield from next_done()
        while pending:
            yield from next_done()
    finally:
        for a in pool:
            ray.kill(a)
        if cache is not None:
            ray.kill(cache.server)


def tagger_options(tagger: Tagger) -> dict[str, Any]:
    """The arguments that rebuild `tagger` in an actor (its model loads there, once).

    (On a cluster, give `chroma_url`: a store folder exists on one node only.)
    """
    return tagger.options_to_rebuild()


def tag_files(
    inputs: Sequence[str],
    *,
    tagger: Tagger | None = None,
    skip: int = 0,
    address: str | None = None,
    workers: int | None = None,
    ordered: bool = True,
    batch_size: int | None = None,
    **reader_options: Any,
) -> Iterator[tuple[TextItem, TagResult]]:
    """`motai tag --ray`: each item `read_items(inputs, **reader_options)` gives, past the
    first `skip` (already in a resumed output), with its result from a copy of `tagger`
    (default: `Tagger()`), tagged on a local runtime or the cluster at `address`. The files
    are read here, as without Ray; only the texts travel. Shuts down a runtime it started.
    """
    from motai.io import read_items
    from motai.tagger import Tagger

    options = tagger_options(tagger or Tagger())
    options["batch_size"] = batch_size or options["batch_size"]
    items = islice(read_items(list(inputs), **reader_options), skip, None)
    started = connect(address, workers=workers or 1)
    try:
        yield from tag_items(items, workers=workers, ordered=ordered, **options)
    finally:
        if started:
            ray.shutdown()

"""Honest figures for the local model: every text is predicted by a model trained without it.

`iter_folds` trains one model per fold (k folds, or one fold per `source` for
leave-one-source-out, the stand-in for texts unlike the training data); items in `always`
(e.g. the silver set when measuring on dev) are in every fold's training data and never
predicted. Segment vectors are computed once and shared by the folds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator, Sequence

import numpy as np
from pydantic import BaseModel

from motai.embeddings import Embedder, get_embedder
from motai.labelled import LabelledItem
from motai.local import TrainSettings, train
from motai.metrics import LabelScores, label_scores, set_scores
from motai.models import TagResult, TextItem
from motai.taxonomy import Taxonomy


class Accuracy(BaseModel):
    n: int
    stage: LabelScores
    valence: LabelScores
    joint_accuracy: float
    moment_stage: LabelScores
    moment_stage_valence: LabelScores
    ece: float | None = None


def accuracy(
    items: Sequence[LabelledItem], results: Sequence[TagResult], stages: list[str]
) -> Accuracy:
    """Text-level and moment-level scores of results against gold, matched by position."""
    from motai.evals.stats import expected_calibration_error  # motai.evals imports this module

    gold_s = [i.stage for i in items]
    pred_s = [r.stage for r in results]
    gold_v = [i.valence for i in items]
    pred_v = [r.valence for r in results]
    joint = sum(
        gs == ps and gv == pv for gs, ps, gv, pv in zip(gold_s, pred_s, gold_v, pred_v, strict=True)
    )
    g_m = [{m.stage for m in i.moments} for i in items]
    p_m = [{m.stage for m in r.moments} for r in results]
    g_mv = [{(m.stage, m.valence) for m in i.moments} for i in items]
    p_mv = [{(m.stage, m.valence) for m in r.moments} for r in results]
    pairs = sorted(set().union(*g_mv)) if g_mv else []
    conf = [r.confidence for r in results]
    return Accuracy(
        n=len(items),
        stage=label_scores(gold_s, pred_s),
        valence=label_scores(gold_v, pred_v),
        joint_accuracy=round(joint / len(items), 4) if items else 0.0,
        moment_stage=set_scores(g_m, p_m, stages),
        moment_stage_valence=set_scores(g_mv, p_mv, pairs),
        ece=expected_calibration_error(conf, [g == p for g, p in zip(gold_s, pred_s, strict=True)])[
            "ece"
        ]
        if items
        else None,
    )


class MemoEmbedder:
    """Remembers every vector it computed: folds share the texts, so embed them once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.id = inner.id
        self._memo: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def wrap(cls, embedder: Embedder | str | None) -> MemoEmbedder:
        """`embedder` remembering its vectors (itself if it already does: one memo a run)."""
        if isinstance(embedder, MemoEmbedder):
            return embedder
        return cls(get_embedder(embedder))

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        with self._lock:
            self._memo.update(zip(texts, vectors, strict=True))

    def remembered(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            texts = list(self._memo)
            return texts, np.array([self._memo[t] for t in texts], np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self._memo})
        if todo:
            self.remember(todo, self.inner.embed(todo))
        if not texts:
            return self.inner.embed([])
        return np.array([self._memo[t] for t in texts], dtype=np.float32)


def fold_of(items: Sequence[LabelledItem], folds: int, by_source: bool) -> list[int]:
    """Item i is in fold i % folds, or (by_source) in the fold of its source."""
    if by_source:
        sources = sorted({it.source or "" for it in items})
        return [sources.index(it.source or "") for it in items]
    return [i % folds for i in range(len(items))]


def iter_folds(
    items: Sequence[LabelledItem],
    taxonomy: Taxonomy,
    *,
    folds: int = 5,
    by_source: bool = False,
    always: Sequence[LabelledItem] = (),
    skip: Collection[str] = (),
    embedder: Embedder | str | None = None,
    settings: TrainSettings | None = None,
) -> Iterator[tuple[int, list[int], list[TagResult], float]]:
    """Per fold: its number, the positions of the items it predicts, their results and the
    seconds taken, training included. Items whose id is in `skip` are not predicted, and a
    fold with nothing left to predict is not trained (for resuming an interrupted run)."""
    emb = MemoEmbedder.wrap(embedder)
    fold = fold_of(items, folds, by_source)
    for k in sorted(set(fold)):
        idx = [i for i in range(len(items)) if fold[i] == k]
        todo = [i for i in idx if items[i].id not in skip]
        if not todo:
            continue
        started = time.perf_counter()
        kept = [it for i, it in enumerate(items) if fold[i] != k]
        model = train([*always, *kept], taxonomy, embedder=emb, settings=settings)
        batch = [TextItem(id=items[i].id, text=items[i].text, kind=items[i].kind) for i in todo]
        results = model.classify(batch)
        yield k, todo, results, time.perf_counter() - started


def cross_validate(
    items: Sequence[LabelledItem],
    taxonomy: Taxonomy,
    *,
    folds: int = 5,
    by_source: bool = False,
    always: Sequence[LabelledItem] = (),
    embedder: Embedder | str | None = None,
    settings: TrainSettings | None = None,
) -> list[TagResult]:
    """Predict every item with a model trained without its fold (or source)."""
    results: list[TagResult | None] = [None] * len(items)
    for _, idx, fold_results, _ in iter_folds(
        items,
        taxonomy,
        folds=folds,
        by_source=by_source,
        always=always,
        embedder=embedder,
        settings=settings,
    ):
        for i, r in zip(idx, fold_results, strict=True):
            results[i] = r
    return [r for r in results if r is not None]

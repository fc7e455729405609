"""Honest figures for the local classifier on its own exemplar bank.

When the eval set is also the exemplar bank, each fold's classifier is fitted without
that fold's items, so no item ever retrieves or learns from itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence

from pydantic import BaseModel

from motai.labelled import LabelledItem, load_labelled
from motai.local import LocalClassifier, LocalSettings
from motai.metrics import LabelScores, label_scores, set_scores
from motai.models import TagResult, TextItem
from motai.store import KnowledgeStore


class Accuracy(BaseModel):
    n: int
    stage: LabelScores
    valence: LabelScores
    joint_accuracy: float
    moment_stage: LabelScores
    moment_stage_valence: LabelScores


def accuracy(
    items: Sequence[LabelledItem], results: Sequence[TagResult], stages: list[str]
) -> Accuracy:
    """Text-level and moment-level scores of results against gold, matched by position."""
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
    return Accuracy(
        n=len(items),
        stage=label_scores(gold_s, pred_s),
        valence=label_scores(gold_v, pred_v),
        joint_accuracy=round(joint / len(items), 4) if items else 0.0,
        moment_stage=set_scores(g_m, p_m, stages),
        moment_stage_valence=set_scores(g_mv, p_mv, pairs),
    )


def iter_folds(
    store: KnowledgeStore,
    folds: int = 5,
    settings: LocalSettings | None = None,
    skip: Collection[str] = (),
    by_source: bool = False,
) -> Iterator[tuple[int, list[int], list[TagResult], float]]:
    """Per fold: its number, the positions (in the bank file) of the items it predicts,
    their results and the seconds taken, fitting included.

    Item `i` of the bank is in fold `i % folds`; each fold's classifier is fitted without
    the whole fold. Items whose id is in `skip` are not predicted, and a fold with nothing
    left to predict is not fitted at all (for resuming an interrupted run). With
    `by_source`, each fold is one `source` instead: every text is predicted by a classifier
    that never saw its source, a sterner test of texts unlike the bank.
    """
    items = list(load_labelled(store.exemplars_file, store.taxonomy))
    if by_source:
        sources = sorted({it.source or "" for it in items})
        fold_of = [sources.index(it.source or "") for it in items]
    else:
        fold_of = [i % folds for i in range(len(items))]
    for k in sorted(set(fold_of)):
        idx = [i for i in range(len(items)) if fold_of[i] == k]
        todo = [i for i in idx if items[i].id not in skip]
        if not todo:
            continue
        started = time.perf_counter()
        held = {items[i].id for i in idx}
        clf = LocalClassifier(store, exclude_items=held, settings=settings)
        batch = [TextItem(id=items[i].id, text=items[i].text, kind=items[i].kind) for i in todo]
        results = clf.classify(batch)
        yield k, todo, results, time.perf_counter() - started


def cross_validate(
    store: KnowledgeStore,
    folds: int = 5,
    settings: LocalSettings | None = None,
    progress: Callable[[int], None] | None = None,
    by_source: bool = False,
) -> tuple[list[LabelledItem], list[TagResult]]:
    """Predict every exemplar with a classifier fitted on the other folds (or sources)."""
    items = list(load_labelled(store.exemplars_file, store.taxonomy))
    results: list[TagResult | None] = [None] * len(items)
    for _, idx, fold_results, _ in iter_folds(store, folds, settings, by_source=by_source):
        for i, r in zip(idx, fold_results, strict=True):
            results[i] = r
        if progress:
            progress(len(idx))
    return items, [r for r in results if r is not None]

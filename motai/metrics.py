"""Accuracy measures shared by the README figures, `motai eval` and the tests.

Moment-level scores compare, text by text, the set of stages (or (stage, valence) pairs)
in the gold moments with the set predicted: a multi-label match per text, so they do not
depend on where a classifier cuts its evidence.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from pydantic import BaseModel


class ClassScore(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class LabelScores(BaseModel):
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScore]


def _score(tp: int, fp: int, fn: int) -> ClassScore:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return ClassScore(precision=round(p, 4), recall=round(r, 4), f1=round(f, 4), support=tp + fn)


def label_scores(gold: Sequence[str], pred: Sequence[str | None]) -> LabelScores:
    """Accuracy and macro-F1 over the classes present in gold or predictions."""
    if len(gold) != len(pred):
        raise ValueError("gold and predictions differ in length")
    classes = sorted({*gold, *(p for p in pred if p is not None)})
    per = {}
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        per[c] = _score(tp, fp, fn)
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0
    macro = sum(s.f1 for s in per.values()) / len(per) if per else 0.0
    return LabelScores(accuracy=round(acc, 4), macro_f1=round(macro, 4), per_class=per)


def set_scores(
    gold: Sequence[set[Hashable]], pred: Sequence[set[Hashable]], classes: Sequence[Hashable]
) -> LabelScores:
    """Per-class P/R/F1 of multi-label sets; macro over `classes`; accuracy = exact set match."""
    per = {}
    for c in classes:
        tp = sum(c in g and c in p for g, p in zip(gold, pred, strict=True))
        fp = sum(c not in g and c in p for g, p in zip(gold, pred, strict=True))
        fn = sum(c in g and c not in p for g, p in zip(gold, pred, strict=True))
        per[str(c) if not isinstance(c, tuple) else "/".join(c)] = _score(tp, fp, fn)
    exact = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0
    macro = sum(s.f1 for s in per.values()) / len(per) if per else 0.0
    return LabelScores(accuracy=round(exact, 4), macro_f1=round(macro, 4), per_class=per)

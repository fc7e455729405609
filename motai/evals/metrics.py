"""The figures of an eval run's `metrics.json`: accuracy, macro-F1, per-class scores,
confusion, kappa, bootstrap intervals, calibration, coverage and evidence overlap."""

from __future__ import annotations

from collections.abc import Sequence

from motai.crossval import accuracy
from motai.evals import stats
from motai.labelled import LabelledItem
from motai.models import TagResult
from motai.taxonomy import Taxonomy


def quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def compute_metrics(
    items: Sequence[LabelledItem], results: Sequence[TagResult], tax: Taxonomy
) -> dict:
    """Every figure of `metrics.json` except latency and provenance."""
    acc = accuracy(items, results, tax.stage_ids)
    gold_s = [i.stage for i in items]
    pred_s = [r.stage for r in results]
    gold_v = [i.valence for i in items]
    pred_v = [r.valence for r in results]
    correct = [g == p for g, p in zip(gold_s, pred_s, strict=True)]
    conf = [r.confidence for r in results]
    calib = stats.expected_calibration_error(conf, correct)
    return {
        "n": acc.n,
        "errors": sum(not r.ok for r in results),
        "stage": acc.stage.model_dump(),
        "valence": acc.valence.model_dump(),
        "joint_accuracy": acc.joint_accuracy,
        "moment_stage": acc.moment_stage.model_dump(),
        "moment_stage_valence": acc.moment_stage_valence.model_dump(),
        "evidence_overlap": evidence_overlap(items, results),
        "kappa": {
            "stage": stats.cohen_kappa(gold_s, pred_s),
            "valence": stats.cohen_kappa(gold_v, pred_v),
        },
        "confusion": {
            "stage": stats.confusion(gold_s, pred_s, tax.labels),
            "valence": stats.confusion(gold_v, pred_v, tax.valence_ids),
        },
        "ci95": {
            "stage_macro_f1": stats.bootstrap_ci(gold_s, pred_s, "macro_f1"),
            "valence_macro_f1": stats.bootstrap_ci(gold_v, pred_v, "macro_f1"),
            "stage_accuracy": stats.bootstrap_ci(gold_s, pred_s, "accuracy"),
            "valence_accuracy": stats.bootstrap_ci(gold_v, pred_v, "accuracy"),
            "method": f"percentile bootstrap, {stats.BOOTSTRAP_RESAMPLES} resamples, "
            f"seed {stats.BOOTSTRAP_SEED}",
        },
        "calibration": {
            "ece": calib["ece"],
            "bins": calib["bins"],
            "coverage": stats.accuracy_at_coverage(conf, correct),
            "on": "primary-stage correctness vs result confidence",
        },
    }


def evidence_overlap(items: Sequence[LabelledItem], results: Sequence[TagResult]) -> dict:
    """Per gold moment, the best character IoU with a predicted moment of the same stage."""
    best: list[float] = []
    for item, res in zip(items, results, strict=True):
        for start, end, m in item.spans():
            spans = [(p.start, p.end) for p in res.moments if p.stage == m.stage]
            best.append(max((stats.span_iou((start, end), s) for s in spans), default=0.0))
    return {
        "gold_moments": len(best),
        "mean_iou": round(sum(best) / len(best), 4) if best else 0.0,
        "hit_at_0.5": round(sum(b >= 0.5 for b in best) / len(best), 4) if best else 0.0,
    }

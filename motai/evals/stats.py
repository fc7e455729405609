"""Statistics for evals: agreement, calibration, bootstrap intervals, McNemar's test.

Everything here is plain numpy on label sequences, so it is exact on small hand-made
cases and fast enough to resample a few hundred items a thousand times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601
COVERAGES = (1.0, 0.9, 0.8, 0.7, 0.5)


def cohen_kappa(gold: Sequence[str], pred: Sequence[str | None]) -> float:
    """Cohen's kappa of predictions against gold (a missing prediction is its own label)."""
    if len(gold) != len(pred):
        raise ValueError("gold and predictions differ in length")
    n = len(gold)
    if n == 0:
        return 0.0
    labels = sorted({*gold, *(p for p in pred if p is not None)})
    po = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    pe = sum((gold.count(c) / n) * (list(pred).count(c) / n) for c in labels)
    if pe >= 1.0:
        return 1.0 if po >= 1.0 else 0.0
    return round((po - pe) / (1.0 - pe), 4)


def confusion(
    gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str]
) -> dict[str, object]:
    """Rows are gold, columns predicted, in `labels` order; a failed item goes to `(error)`."""
    cols = [*labels]
    if any(p is None for p in pred):
        cols.append("(error)")
    seen = set(labels)
    for x in [*gold, *(p for p in pred if p is not None)]:
        if x not in seen:
            seen.add(x)
            cols.insert(len(cols) - ("(error)" in cols), x)
    rows = [c for c in cols if c != "(error)"]
    m = [[0] * len(cols) for _ in rows]
    for g, p in zip(gold, pred, strict=True):
        m[rows.index(g)][cols.index(p if p is not None else "(error)")] += 1
    return {"rows": rows, "columns": cols, "matrix": m}


def _codes(
    gold: Sequence[str], *preds: Sequence[str | None]
) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Integer codes; a missing prediction gets code k (never a class of its own)."""
    labels = sorted({*gold, *(p for pr in preds for p in pr if p is not None)})
    index = {c: i for i, c in enumerate(labels)}
    k = len(labels)
    g = np.array([index[x] for x in gold], dtype=np.int64)
    ps = [np.array([index.get(x, k) if x is not None else k for x in p]) for p in preds]
    return g, ps, k


def _macro_f1(g: np.ndarray, p: np.ndarray, k: int) -> float:
    """Macro-F1 over the classes present in gold or predictions (as `label_scores`)."""
    cm = np.bincount(g * (k + 1) + p, minlength=k * (k + 1)).reshape(k, k + 1)
    tp = np.diag(cm[:, :k]).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm[:, :k].sum(axis=0).astype(float)
    present = (support + predicted) > 0
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def macro_f1(gold: Sequence[str], pred: Sequence[str | None]) -> float:
    g, (p,), k = _codes(gold, pred)
    return _macro_f1(g, p, k)


def _resamples(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _interval(values: np.ndarray, point: float) -> dict[str, float]:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return {"point": round(point, 4), "low": round(float(lo), 4), "high": round(float(hi), 4)}


def bootstrap_ci(
    gold: Sequence[str],
    pred: Sequence[str | None],
    metric: str = "macro_f1",
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float]:
    """Percentile bootstrap 95% interval of `macro_f1` or `accuracy` over items."""
    if not gold:
        return {"point": 0.0, "low": 0.0, "high": 0.0}
    g, (p,), k = _codes(gold, pred)
    idx = _resamples(len(g), resamples, seed)
    if metric == "accuracy":
        correct = (g == p).astype(float)
        return _interval(correct[idx].mean(axis=1), float(correct.mean()))
    if metric != "macro_f1":
        raise ValueError(f"unknown metric {metric!r}")
    values = np.array([_macro_f1(g[i], p[i], k) for i in idx])
    return _interval(values, _macro_f1(g, p, k))


def paired_bootstrap_diff(
    gold: Sequence[str],
    pred_a: Sequence[str | None],
    pred_b: Sequence[str | None],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float]:
    """Interval of macro-F1(B) - macro-F1(A), both scored on the same resampled items."""
    if not gold:
        return {"point": 0.0, "low": 0.0, "high": 0.0}
    g, (a, b), k = _codes(gold, pred_a, pred_b)
    idx = _resamples(len(g), resamples, seed)
    diffs = np.array([_macro_f1(g[i], b[i], k) - _macro_f1(g[i], a[i], k) for i in idx])
    return _interval(diffs, _macro_f1(g, b, k) - _macro_f1(g, a, k))


def mcnemar_exact(broken: int, fixed: int) -> float:
    """Exact two-sided McNemar p-value: the discordant pairs under Binomial(n, 1/2)."""
    n = broken + fixed
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(broken, fixed) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def _conf(c: float | None) -> float:
    return 0.0 if c is None else float(c)


def expected_calibration_error(
    confidence: Sequence[float | None], correct: Sequence[bool], bins: int = 10
) -> dict[str, object]:
    """ECE over equal-width confidence bins, with each bin's count, accuracy and confidence."""
    conf = np.array([_conf(c) for c in confidence], dtype=float)
    ok = np.array(correct, dtype=float)
    n = len(conf)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        row = {"low": round(b / bins, 2), "high": round((b + 1) / bins, 2), "n": count}
        if count:
            acc, mean_c = float(ok[mask].mean()), float(conf[mask].mean())
            ece += abs(acc - mean_c) * count / n
            row |= {"accuracy": round(acc, 4), "confidence": round(mean_c, 4)}
        table.append(row)
    return {"ece": round(ece, 4), "bins": table}


def accuracy_at_coverage(
    confidence: Sequence[float | None],
    correct: Sequence[bool],
    coverages: Sequence[float] = COVERAGES,
) -> list[dict[str, float]]:
    """Accuracy on the most confident share of items, the rest abstained."""
    conf = np.array([_conf(c) for c in confidence], dtype=float)
    ok = np.array(correct, dtype=float)
    order = np.argsort(-conf, kind="stable")
    out = []
    for cov in coverages:
        keep = max(1, math.ceil(cov * len(conf))) if len(conf) else 0
        kept = ok[order[:keep]]
        out.append(
            {
                "coverage": cov,
                "n": int(keep),
                "accuracy": round(float(kept.mean()), 4) if keep else 0.0,
                "min_confidence": round(float(conf[order[keep - 1]]), 4) if keep else 0.0,
            }
        )
    return out


def span_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


Z95 = 1.959963984540054  # the two-sided 95% normal quantile


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score 95% interval of the share k/n (None when n is 0).

    Unlike k/n ± z·se it stays inside [0, 1] and is honest for small n and shares near
    0 or 1, which is where report cells live (a stage with 3 moments, a share of 0).
    """
    if n <= 0:
        return None
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test of k1/n1 against k2/n2.

    None when either side is empty; 1.0 when the pooled share is 0 or 1 (nothing varies).
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return 1.0
    z = (k1 / n1 - k2 / n2) / math.sqrt(var)
    return math.erfc(abs(z) / math.sqrt(2))

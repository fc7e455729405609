"""Kappa, calibration, coverage, bootstrap and McNemar on hand-made cases with known answers."""

from __future__ import annotations

import random

import pytest
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score

from motai.evals import stats
from motai.metrics import label_scores


def test_kappa_known_value() -> None:
    # po = 3/4; pe = 1/2 * 1/4 + 1/2 * 3/4 = 1/2; kappa = (0.75 - 0.5) / 0.5
    assert stats.cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == 0.5


def test_kappa_perfect_chance_and_degenerate() -> None:
    assert stats.cohen_kappa(["a", "b", "c"], ["a", "b", "c"]) == 1.0
    # Predictions independent of gold: observed agreement equals chance.
    assert stats.cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    assert stats.cohen_kappa(["a", "a"], ["a", "a"]) == 1.0
    assert stats.cohen_kappa([], []) == 0.0


def test_kappa_matches_sklearn_with_missing_predictions() -> None:
    rng = random.Random(3)
    gold = [rng.choice("ABCD") for _ in range(200)]
    pred = [g if rng.random() < 0.6 else rng.choice(["A", "B", "C", "D", None]) for g in gold]
    expected = cohen_kappa_score(gold, [p or "<none>" for p in pred])
    assert stats.cohen_kappa(gold, pred) == pytest.approx(expected, abs=1e-4)


def test_confusion_rows_gold_columns_predicted() -> None:
    cm = stats.confusion(["A", "A", "B", "B"], ["A", "B", "B", None], ["A", "B", "C"])
    assert cm["rows"] == ["A", "B", "C"]
    assert cm["columns"] == ["A", "B", "C", "(error)"]
    assert cm["matrix"] == [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0]]


def test_ece_known_value() -> None:
    # Bin 0.9-1.0: 2 items, accuracy 0.5, confidence 0.95 -> |0.45| * 2/4
    # Bin 0.1-0.2: 2 items, accuracy 0.0, confidence 0.15 -> |0.15| * 2/4
    out = stats.expected_calibration_error([0.95, 0.95, 0.15, 0.15], [True, False, False, False])
    assert out["ece"] == pytest.approx(0.3)
    assert [b["n"] for b in out["bins"]] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert out["bins"][9]["accuracy"] == 0.5


def test_ece_perfectly_calibrated_is_zero() -> None:
    conf = [1.0] * 4 + [0.55] * 20
    correct = [True] * 4 + [True] * 11 + [False] * 9
    assert stats.expected_calibration_error(conf, correct)["ece"] == pytest.approx(0.0)


def test_ece_missing_confidence_counts_as_zero() -> None:
    out = stats.expected_calibration_error([None, None], [False, True])
    assert out["ece"] == pytest.approx(0.5)


def test_accuracy_at_coverage_abstains_least_confident() -> None:
    conf = [0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6, 0.5, 0.05]
    # Correct exactly when confidence >= 0.5.
    correct = [c >= 0.5 for c in conf]
    rows = {r["coverage"]: r for r in stats.accuracy_at_coverage(conf, correct)}
    assert rows[1.0]["accuracy"] == 0.5 and rows[1.0]["n"] == 10
    assert rows[0.5]["accuracy"] == 1.0 and rows[0.5]["n"] == 5
    assert rows[0.5]["min_confidence"] == 0.5
    assert rows[0.8]["accuracy"] == pytest.approx(5 / 8, abs=1e-4)
    assert rows[0.9]["accuracy"] == pytest.approx(5 / 9, abs=1e-4)


def test_numpy_macro_f1_matches_label_scores() -> None:
    rng = random.Random(7)
    for _ in range(20):
        gold = [rng.choice("ABCDE") for _ in range(rng.randint(1, 60))]
        pred = [rng.choice(["A", "B", "C", "F", None]) for _ in gold]
        assert stats.macro_f1(gold, pred) == pytest.approx(
            label_scores(gold, pred).macro_f1, abs=1e-3
        )


def test_bootstrap_ci_degenerate_and_deterministic() -> None:
    gold = ["A", "B", "C"] * 10
    ci = stats.bootstrap_ci(gold, gold, "accuracy")
    assert ci == {"point": 1.0, "low": 1.0, "high": 1.0}
    rng = random.Random(1)
    pred = [g if rng.random() < 0.7 else "A" for g in gold]
    first = stats.bootstrap_ci(gold, pred, "macro_f1")
    assert first == stats.bootstrap_ci(gold, pred, "macro_f1")  # fixed seed
    assert first["low"] <= first["point"] <= first["high"]
    assert first["low"] < first["high"]
    assert first["point"] == pytest.approx(label_scores(gold, pred).macro_f1, abs=1e-3)


def test_bootstrap_ci_of_accuracy_covers_truth_and_narrows_with_n() -> None:
    # 70% correct: the interval holds 0.7 and shrinks as the set grows.
    small = [True] * 7 + [False] * 3
    big = small * 40
    gold_s = ["A"] * len(small)
    gold_b = ["A"] * len(big)
    ci_s = stats.bootstrap_ci(gold_s, ["A" if ok else "B" for ok in small], "accuracy")
    ci_b = stats.bootstrap_ci(gold_b, ["A" if ok else "B" for ok in big], "accuracy")
    assert ci_s["low"] < 0.7 < ci_s["high"]
    assert ci_b["low"] < 0.7 < ci_b["high"]
    assert ci_b["high"] - ci_b["low"] < (ci_s["high"] - ci_s["low"]) / 3
    # Normal approximation: half-width ~ 1.96 * sqrt(0.21 / 400) = 0.045.
    assert ci_b["high"] - ci_b["low"] == pytest.approx(0.09, abs=0.02)


def test_paired_bootstrap_identical_is_zero_and_sign_follows_b() -> None:
    gold = ["A", "B", "C", "D"] * 25
    same = stats.paired_bootstrap_diff(gold, gold, gold)
    assert same == {"point": 0.0, "low": 0.0, "high": 0.0}
    worse = ["A"] * len(gold)
    d = stats.paired_bootstrap_diff(gold, gold, worse)
    assert d["high"] < 0 and d["point"] < 0
    d = stats.paired_bootstrap_diff(gold, worse, gold)
    assert d["low"] > 0


@pytest.mark.parametrize(
    ("broken", "fixed", "p"),
    [(0, 0, 1.0), (0, 5, 0.0625), (0, 6, 0.03125), (1, 9, 22 / 1024), (5, 5, 1.0)],
)
def test_mcnemar_exact_known_values(broken: int, fixed: int, p: float) -> None:
    assert stats.mcnemar_exact(broken, fixed) == pytest.approx(p)


def test_mcnemar_matches_scipy_binomtest_including_large_n() -> None:
    for broken, fixed in [(3, 12), (40, 61), (700, 820)]:
        expected = binomtest(broken, broken + fixed, 0.5).pvalue
        assert stats.mcnemar_exact(broken, fixed) == pytest.approx(expected, rel=1e-6)
        assert stats.mcnemar_exact(fixed, broken) == pytest.approx(expected, rel=1e-6)


def test_span_iou() -> None:
    assert stats.span_iou((0, 10), (0, 10)) == 1.0
    assert stats.span_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert stats.span_iou((0, 5), (5, 10)) == 0.0

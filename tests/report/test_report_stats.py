"""Wilson intervals and the two-proportion test against published values."""

from __future__ import annotations

import pytest

from motai.evals.stats import two_proportion_p, wilson_interval


def test_wilson_matches_published_values() -> None:
    # Newcombe (1998), table I: 81/263 -> 0.2553-0.3662; 15/148 -> 0.0624-0.1605.
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    # 0 of 10 is not "0% for sure": the interval reaches 27.8%.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(0, 0) is None


def test_two_proportion_p() -> None:
    # 50/100 vs 30/100: pooled 0.4, z = 0.2 / sqrt(0.4 * 0.6 * 0.02) = 2.8868, p = 0.00389.
    assert two_proportion_p(50, 100, 30, 100) == pytest.approx(0.00389, abs=1e-5)
    assert two_proportion_p(3, 10, 3, 10) == pytest.approx(1.0)
    assert two_proportion_p(0, 5, 0, 9) == 1.0  # nothing varies
    assert two_proportion_p(1, 0, 1, 2) is None

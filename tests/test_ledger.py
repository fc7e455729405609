"""The token and cost ledger."""

from __future__ import annotations

import threading

import pytest

from motai.llm.ledger import Ledger, estimate_tokens, format_summary, price


def test_prices() -> None:
    assert price("gpt-4o-mini") == (0.15, 0.60)
    assert price("openai:gpt-4o-mini") == (0.15, 0.60)
    assert price("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price("gpt-4.1") == (2.00, 8.00)
    assert price("text-embedding-3-small") == (0.02, 0.0)
    assert price("smollm2") is None


def test_summary_counts_and_cost() -> None:
    led = Ledger()
    led.add("gpt-4o-mini", 1_000_000, 0)
    led.add("gpt-4o-mini", 0, 1_000_000, kind="retry")
    led.add("gpt-4o-mini", 100, 10, kind="repair")
    led.add("gpt-4o-mini", 999, 999, kind="cache_hit")  # no tokens spent on a hit
    s = led.summary()
    assert s["requests"] == 1 and s["retries"] == 1 and s["repairs"] == 1
    assert s["cache_hits"] == 1
    assert s["prompt_tokens"] == 1_000_100
    assert s["completion_tokens"] == 1_000_010
    assert s["cost_usd"] == pytest.approx(0.15 + 0.60 + (100 * 0.15 + 10 * 0.60) / 1e6)


def test_unknown_price_is_none_not_zero() -> None:
    led = Ledger()
    led.add("smollm2", 10, 5)
    assert led.summary()["cost_usd"] is None
    assert "cost unknown" in format_summary(led.summary())
    hits_only = Ledger()
    hits_only.add("smollm2", kind="cache_hit")
    assert hits_only.summary()["cost_usd"] == 0.0  # nothing was sent


def test_bad_kind() -> None:
    with pytest.raises(ValueError, match="unknown ledger kind"):
        Ledger().add("gpt-4o", 1, 1, kind="bogus")  # type: ignore[arg-type]


def test_thread_safe() -> None:
    led = Ledger()

    def work() -> None:
        for _ in range(1000):
            led.add("gpt-4o", 3, 2)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = led.summary()
    assert s["requests"] == 8000 and s["prompt_tokens"] == 24000


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("x" * 400) == 100


def test_format_summary() -> None:
    led = Ledger()
    led.add("gpt-4o-mini", 812, 95)
    led.add("gpt-4o-mini", kind="cache_hit")
    line = format_summary(led.summary())
    assert line == (
        "1 request, 0 retries, 0 repairs, 1 cache hit; 812 prompt + 95 completion tokens; $0.000179"
    )

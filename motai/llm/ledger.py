"""The per-run token and cost ledger: every request, retry, repair and cache hit.

Prices are USD per 1M tokens (input, output) for OpenAI's standard tier, as published on
https://openai.com/api/pricing on 2025-06-01. A model not in the table (a local server,
another vendor) has an unknown price: its cost is reported as None, never as 0.

    ledger = Ledger()
    ledger.add("gpt-4o-mini", prompt_tokens=812, completion_tokens=95)
    ledger.add("gpt-4o-mini", 0, 0, kind="cache_hit")
    format_summary(ledger.summary())
    # '1 request, 0 retries, 0 repairs, 1 cache hit; 812 prompt + 95 completion tokens; $0.000179'
"""

from __future__ import annotations

import threading
from typing import Any, Literal

__all__ = [
    "PRICES",
    "PRICES_DATE",
    "Ledger",
    "estimate_tokens",
    "format_summary",
    "price",
]

Kind = Literal["request", "retry", "repair", "cache_hit"]
_KINDS: tuple[str, ...] = ("request", "retry", "repair", "cache_hit")

PRICES_DATE = "2025-06-01"
# model -> (input USD per 1M tokens, output USD per 1M tokens)
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "text-embedding-3-small": (0.02, 0.0),
}


def _bare(model: str) -> str:
    """'openai:gpt-4o-mini' -> 'gpt-4o-mini'; strips a dated suffix like '-2024-07-18'."""
    name = model.split(":", 1)[1] if model.startswith("openai:") else model
    parts = name.split("-")
    if len(parts) > 3 and all(p.isdigit() for p in parts[-3:]):
        name = "-".join(parts[:-3])
    return name


def price(model: str) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens, or None when the price is unknown."""
    return PRICES.get(_bare(model))


def estimate_tokens(text: str) -> int:
    """Rough token count for estimates (about 4 characters a token); no tokenizer download."""
    if not text:
        return 0
    return max(1, round(len(text) / 4))


class Ledger:
    """Counts requests and tokens of one run; safe to share across threads and tasks.

    `kind` is what the call was: `request` (a first request for a text), `retry` (the same
    request again after a 429, 5xx or timeout), `repair` (a follow-up asking the model to
    fix an invalid answer) or `cache_hit` (answered from the cache: no tokens spent).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(_KINDS, 0)
        self._prompt = 0
        self._completion = 0
        self._cost = 0.0
        self._unpriced: set[str] = set()

    def add(
        self,
        model: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        kind: Kind = "request",
    ) -> None:
        if kind not in self._counts:
            raise ValueError(f"unknown ledger kind {kind!r}; one of {', '.join(_KINDS)}")
        if kind == "cache_hit":  # nothing was sent, nothing spent
            prompt_tokens = completion_tokens = 0
        p = price(model)
        with self._lock:
            self._counts[kind] += 1
            self._prompt += int(prompt_tokens or 0)
            self._completion += int(completion_tokens or 0)
            if kind == "cache_hit":
                return
            if p is None:
                self._unpriced.add(model)
            else:
                self._cost += (prompt_tokens * p[0] + completion_tokens * p[1]) / 1_000_000

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._counts["request"],
                "retries": self._counts["retry"],
                "repairs": self._counts["repair"],
                "cache_hits": self._counts["cache_hit"],
                "prompt_tokens": self._prompt,
                "completion_tokens": self._completion,
                "cost_usd": None if self._unpriced else round(self._cost, 6),
            }


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def format_summary(summary: dict[str, Any]) -> str:
    """One line for the CLI's stderr summary."""
    cost = summary.get("cost_usd")
    money = "cost unknown (no price for this model)" if cost is None else f"${cost:.6f}"
    return (
        f"{_plural(summary.get('requests', 0), 'request')}, "
        f"{_plural(summary.get('retries', 0), 'retry', 'retries')}, "
        f"{_plural(summary.get('repairs', 0), 'repair')}, "
        f"{_plural(summary.get('cache_hits', 0), 'cache hit')}; "
        f"{summary.get('prompt_tokens', 0)} prompt + "
        f"{summary.get('completion_tokens', 0)} completion tokens; {money}"
    )

"""The few most representative evidence quotes of a cell, kept while streaming.

A cell sees every moment of its stage and valence, but shows a handful: the most
confident, without near duplicates ("Arrived late!" and "arrived late" are one complaint
told twice). `TopQuotes` holds at most `k` quotes, so memory is the same for a thousand
rows or a million.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
EVIDENCE_SHOWN = 300  # characters kept of each quote


@dataclass(slots=True)
class Quote:
    evidence: str
    confidence: float
    id: str
    file: str
    line: int
    tokens: frozenset[str]


def tokens(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """Same words up to case and punctuation, a Jaccard overlap of 0.7 or more, or the
    shorter quote's words (3 or more) all inside the longer one."""
    if a == b:
        return True
    if not a or not b:
        return False
    inter = len(a & b)
    if inter / len(a | b) >= 0.7:
        return True
    short = min(len(a), len(b))
    return short >= 3 and inter == short


class TopQuotes:
    """The `k` most confident distinct quotes offered so far, most confident first."""

    __slots__ = ("items", "k")

    def __init__(self, k: int) -> None:
        self.k = k
        self.items: list[Quote] = []

    def offer(self, evidence: str, confidence: float, id: str, file: str, line: int) -> None:
        items = self.items
        if self.k <= 0 or (len(items) >= self.k and confidence <= items[-1].confidence):
            return
        evidence = " ".join(evidence.split())[:EVIDENCE_SHOWN]
        if not evidence:
            return
        toks = tokens(evidence)
        for i, q in enumerate(items):
            if near_duplicate(toks, q.tokens):
                if confidence > q.confidence:
                    items[i] = Quote(evidence, confidence, id, file, line, toks)
                    items.sort(key=lambda x: -x.confidence)
                return
        items.append(Quote(evidence, confidence, id, file, line, toks))
        items.sort(key=lambda x: -x.confidence)
        del items[self.k :]

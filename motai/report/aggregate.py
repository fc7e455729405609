"""The report's streaming aggregator: one pass over tagged rows, memory bounded.

What is kept grows with the number of distinct periods, segments, stages and valences,
never with the number of rows: counters per (period, segment, stage, valence), at most
`quotes` quotes per cell (`TopQuotes`), the first `max_timelines` conversation timelines
and `MAX_EXAMPLES` example rows per quality problem. Segments past `max_segments`
distinct values are counted together as `(other)`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from motai.errors import InputError
from motai.report import PERIODS
from motai.report.quotes import EVIDENCE_SHOWN, TopQuotes
from motai.report.rows import Row

ALL = "(all)"  # the segment or period that covers every row
NO_DATE = "(no date)"
MISSING = "(missing)"
OTHER = "(other)"
MAX_EXAMPLES = 20
MAX_ERROR_KINDS = 50
TIMELINE_STEPS = 12


_WHERE = re.compile(r"^.*?\brow \d+(, field '[^']*')?: ")


def error_kind(error: str) -> str:
    """`empty text` of `a.csv, row 7, field 'text': empty text`: errors told apart by what
    went wrong, not where (numbers elsewhere count as N), so their kinds stay few."""
    return re.sub(r"\d+", "N", _WHERE.sub("", error, count=1))[:80]


@lru_cache(maxsize=8192)
def period_key(value: str, period: str) -> str:
    """`2026-03` (month) or `2026-W09` (ISO week) of an ISO date or date-time; ValueError
    for anything else."""
    text = value.strip().replace("/", "-")
    if len(text) == 7:  # 2026-03
        text += "-01"
    day = dt.date.fromisoformat(text[:10])
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


@dataclass
class Timeline:
    """One conversation's moments in the order they were said."""

    id: str
    file: str
    line: int
    steps: list[tuple[str, str, str, float]]  # stage, valence, evidence, confidence
    pain_to_glory: bool


def pain_then_glory(valences: list[str]) -> bool:
    """A pain followed, later in the same conversation, by a glory."""
    seen_pain = False
    for v in valences:
        if v == "pain":
            seen_pain = True
        elif v == "glory" and seen_pain:
            return True
    return False


@dataclass
class Aggregates:
    """Everything a report shows, as counts and bounded samples."""

    by: str | None
    period: str | None
    date_column: str
    low_confidence: float
    rows: int = 0
    moments: Counter = field(default_factory=Counter)  # (period, segment, stage, valence)
    texts: Counter = field(default_factory=Counter)  # (period, segment)
    quotes: dict[tuple[str, str, str], TopQuotes] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)  # error message -> rows
    low: int = 0
    no_moment: int = 0
    not_english: int = 0
    examples: dict[str, list[dict]] = field(default_factory=dict)
    conversations: int = 0
    with_pain: int = 0
    pain_to_glory: int = 0
    reason_outcome: Counter = field(default_factory=Counter)  # (stage, valence, outcome)
    timelines: list[Timeline] = field(default_factory=list)
    segments_folded: int = 0


class Aggregator:
    """Feed rows with `add`; `aggregates` holds the running result."""

    def __init__(
        self,
        *,
        by: str | None = None,
        period: str | None = None,
        date_column: str = "date",
        quotes: int = 3,
        low_confidence: float = 0.5,
        max_segments: int = 200,
        max_timelines: int = 30,
    ) -> None:
        if period is not None and period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
        self.agg = Aggregates(by, period, date_column, low_confidence)
        self.quotes, self.max_segments, self.max_timelines = quotes, max_segments, max_timelines
        self._segments: set[str] = set()

    def _segment(self, row: Row) -> str:
        if self.agg.by is None:
            return ALL
        value = row.value(self.agg.by) or MISSING
        if value not in self._segments:
            if len(self._segments) >= self.max_segments:
                self.agg.segments_folded += 1
                return OTHER
            self._segments.add(value)
        return value

    def _period(self, row: Row) -> str:
        if self.agg.period is None:
            return ALL
        value = row.value(self.agg.date_column)
        if not value:
            return NO_DATE
        try:
            return period_key(value, self.agg.period)
        except ValueError:
            raise InputError(
                f"not a date (YYYY-MM-DD or ISO date-time): {value[:40]!r}",
                file=row.file,
                row=row.line,
                field=self.agg.date_column,
            ) from None

    def _example(self, problem: str, row: Row, detail: str = "") -> None:
        shown = self.agg.examples.setdefault(problem, [])
        if len(shown) < MAX_EXAMPLES:
            shown.append(
                {
                    "problem": problem,
                    "id": row.id,
                    "file": row.file,
                    "row": row.line,
                    "detail": detail,
                }
            )

    def add(self, row: Row) -> None:
        a = self.agg
        a.rows += 1
        period, segment = self._period(row), self._segment(row)
        a.texts[(period, segment)] += 1
        if row.error is not None:
            kind = error_kind(row.error)
            if kind not in a.errors and len(a.errors) >= MAX_ERROR_KINDS:
                kind = OTHER
            a.errors[kind] += 1
            self._example("error", row, row.error[:200])
            return
        if row.confidence is not None and row.confidence < a.low_confidence:
            a.low += 1
            self._example("low confidence", row, f"{row.confidence:.2f}")
        if row.language not in (None, "en"):
            a.not_english += 1
            self._example("not English", row, row.language or "")
        if not row.moments:
            a.no_moment += 1
            self._example("no moment", row, row.stage or "")
        segments = (segment, ALL) if segment != ALL else (ALL,)
        for m in row.moments:
            a.moments[(period, segment, m.stage, m.valence)] += 1
            for seg in segments:
                cell = (seg, m.stage, m.valence)
                top = a.quotes.get(cell)
                if top is None:
                    top = a.quotes[cell] = TopQuotes(self.quotes)
                top.offer(m.evidence, m.confidence, row.id, row.file, row.line)
        if row.kind == "transcript":
            self._conversation(row)

    def _conversation(self, row: Row) -> None:
        a = self.agg
        a.conversations += 1
        steps = sorted(row.moments, key=lambda m: m.start)
        if not steps:
            return
        valences = [m.valence for m in steps]
        turned = pain_then_glory(valences)
        a.with_pain += "pain" in valences
        a.pain_to_glory += turned
        a.reason_outcome[(steps[0].stage, steps[0].valence, valences[-1])] += 1
        if len(a.timelines) < self.max_timelines:
            shown = [
                (m.stage, m.valence, " ".join(m.evidence.split())[:EVIDENCE_SHOWN], m.confidence)
                for m in steps[:TIMELINE_STEPS]
            ]
            a.timelines.append(Timeline(row.id, row.file, row.line, shown, turned))

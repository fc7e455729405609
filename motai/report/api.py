"""`build_report`: tagged files in, a `Report` of tables out (plain rows, or pandas).

Every table is a list of dicts, so the HTML page, `--format csv|json` and `to_frames()`
show the same numbers. Shares carry Wilson 95% intervals; a change is "beyond noise" when
a two-proportion z-test gives p < 0.05. Moments, not texts, are counted: a review that
praises the fabric and blames the courier counts once in each cell. Moments of one text
are not independent, so the intervals are somewhat narrower than they should be.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from motai.errors import MotaiError
from motai.evals.stats import two_proportion_p, wilson_interval
from motai.report.aggregate import ALL, NO_DATE, Aggregates, Aggregator
from motai.report.rows import iter_rows

__all__ = ["ALPHA", "TABLES", "Report", "build_report"]

ALPHA = 0.05  # a change with p below this is beyond noise
VALENCE_ORDER = ("pain", "neutral", "glory")
TABLES = (
    "journey",
    "hotspots",
    "verbatims",
    "trends",
    "compare",
    "transcripts",
    "timelines",
    "quality",
)


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _share(k: int, n: int) -> dict[str, float | None]:
    ci = wilson_interval(k, n)
    return {
        "share": _r(k / n) if n else None,
        "low": _r(ci[0]) if ci else None,
        "high": _r(ci[1]) if ci else None,
    }


def _change(k: int, n: int, k0: int, n0: int) -> dict[str, Any]:
    """The change of the share k/n against k0/n0 and whether it is beyond noise."""
    p = two_proportion_p(k, n, k0, n0)
    return {
        "change": _r(k / n - k0 / n0) if n and n0 else None,
        "p_value": _r(p),
        "beyond_noise": None if p is None else p < ALPHA,
    }


class Report:
    """The aggregates of one or more tagged files, as tables (see `TABLES`)."""

    def __init__(
        self,
        agg: Aggregates,
        stage_order: Sequence[str] = (),
        compare: tuple[str, str] | None = None,
        sources: Sequence[str] = (),
    ) -> None:
        self.agg = agg
        self.sources = list(sources)
        self._counts()
        seen = self.stage_seen
        self.stages = [s for s in stage_order if s in seen] + sorted(seen - set(stage_order))
        self.compare_groups = self._compare_groups(compare)

    # ---- indexes over the counters -------------------------------------------------------
    def _counts(self) -> None:
        self.stage_totals: Counter = Counter()  # (stage, valence) over everything
        self.stage_seen: set[str] = set()
        # (period, segment, stage, valence), with ALL periods and segments and None for
        # "any stage" or "any valence": every cell a table asks for is one look-up.
        self.cells: Counter = Counter()
        for (period, segment, stage, valence), n in self.agg.moments.items():
            self.stage_totals[(stage, valence)] += n
            self.stage_seen.add(stage)
            for p in {period, ALL}:
                for s in {segment, ALL}:
                    for st in (stage, None):
                        for v in (valence, None):
                            self.cells[(p, s, st, v)] += n
        valences = {v for _, v in self.stage_totals}
        self.valences = [v for v in VALENCE_ORDER if v in valences] + sorted(
            valences - set(VALENCE_ORDER)
        )
        self.periods = sorted({k[0] for k in self.agg.moments} - {ALL, NO_DATE})
        sizes: Counter = Counter()
        for (_, segment), n in self.agg.texts.items():
            sizes[segment] += n
        self.segments = [s for s, _ in sizes.most_common() if s != ALL]

    def _n(self, period: str, segment: str, stage: str | None, valence: str | None) -> int:
        """Moments in a cell; None for stage or valence sums over it."""
        return self.cells[(period, segment, stage, valence)]

    def _compare_groups(self, given: tuple[str, str] | None) -> tuple[str, str, str] | None:
        """(dimension, a, b): two periods or two segments, given or the obvious pair."""
        if given is not None:
            a, b = given
            if a in self.periods and b in self.periods:
                return ("period", a, b)
            if a in self.segments and b in self.segments:
                return ("segment", a, b)
            known = ", ".join([*self.periods, *self.segments][:20]) or "none"
            raise MotaiError(
                f"--compare {a},{b}: both must be periods or both values of the --by column "
                f"(known: {known})"
            )
        if len(self.periods) >= 2:
            return ("period", self.periods[-2], self.periods[-1])
        if len(self.segments) >= 2:
            return ("segment", self.segments[0], self.segments[1])
        return None

    @property
    def current_period(self) -> str:
        return self.periods[-1] if self.periods else ALL

    @property
    def previous_period(self) -> str | None:
        return self.periods[-2] if len(self.periods) >= 2 else None

    # ---- tables ----------------------------------------------------------------------------
    def journey(self) -> list[dict]:
        """Stage x valence of every moment: count, share of the stage, share of all."""
        total = sum(self.stage_totals.values())
        out = []
        for stage in self.stages:
            in_stage = sum(self.stage_totals[(stage, v)] for v in self.valences)
            for valence in self.valences:
                k = self.stage_totals[(stage, valence)]
                s, a = _share(k, in_stage), _share(k, total)
                out.append(
                    {
                        "stage": stage,
                        "valence": valence,
                        "moments": k,
                        "stage_moments": in_stage,
                        "share_of_stage": s["share"],
                        "share_of_stage_low": s["low"],
                        "share_of_stage_high": s["high"],
                        "share_of_all": a["share"],
                        "share_of_all_low": a["low"],
                        "share_of_all_high": a["high"],
                    }
                )
        return out

    def hotspots(self) -> list[dict]:
        """(segment, stage) cells of the latest period by pain: count, share, change."""
        now, before = self.current_period, self.previous_period
        segments = self.segments or [ALL]
        out = []
        for segment in segments:
            for stage in self.stages:
                n, k = self._n(now, segment, stage, None), self._n(now, segment, stage, "pain")
                if n == 0:
                    continue
                row = {
                    "period": now,
                    "segment": segment,
                    "stage": stage,
                    "moments": n,
                    "pain": k,
                } | {f"pain_{x}": v for x, v in _share(k, n).items()}
                if before is not None:
                    n0 = self._n(before, segment, stage, None)
                    k0 = self._n(before, segment, stage, "pain")
                    row |= {
                        "previous_period": before,
                        "previous_moments": n0,
                        "previous_pain": k0,
                        "previous_pain_share": _r(k0 / n0) if n0 else None,
                    }
                    row |= _change(k, n, k0, n0)
                out.append(row)
        by_count = sorted(out, key=lambda r: (-r["pain"], -(r["pain_low"] or 0)))
        for i, r in enumerate(by_count, 1):
            r["rank_by_count"] = i
        # By share: by the low end of its interval, so 1 pain of 1 moment does not top it.
        by_share = sorted(out, key=lambda r: (-(r["pain_low"] or 0), -r["pain"]))
        for i, r in enumerate(by_share, 1):
            r["rank_by_share"] = i
        return by_count

    def verbatims(self) -> list[dict]:
        """The most confident distinct quotes of each segment x stage x valence cell."""
        out = []
        order = {s: i for i, s in enumerate(self.stages)}
        vorder = {v: i for i, v in enumerate(self.valences)}
        segs = {s: i for i, s in enumerate([ALL, *self.segments])}
        cells = sorted(
            self.agg.quotes.items(),
            key=lambda kv: (
                segs.get(kv[0][0], 1e9),
                order.get(kv[0][1], 1e9),
                vorder.get(kv[0][2], 1e9),
            ),
        )
        for (segment, stage, valence), top in cells:
            for rank, q in enumerate(top.items, 1):
                out.append(
                    {
                        "segment": segment,
                        "stage": stage,
                        "valence": valence,
                        "rank": rank,
                        "evidence": q.evidence,
                        "confidence": round(q.confidence, 4),
                        "id": q.id,
                        "file": q.file,
                        "row": q.line,
                    }
                )
        return out

    def trends(self) -> list[dict]:
        """Per period and stage (and `(all)` stages): moments, pain and glory shares."""
        out = []
        for period in self.periods:
            for stage in [ALL, *self.stages]:
                st = None if stage == ALL else stage
                n = self._n(period, ALL, st, None)
                k, g = self._n(period, ALL, st, "pain"), self._n(period, ALL, st, "glory")
                row = {"period": period, "stage": stage, "moments": n, "pain": k, "glory": g}
                row |= {f"pain_{x}": v for x, v in _share(k, n).items()}
                row["glory_share"] = _r(g / n) if n else None
                out.append(row)
        return out

    def compare(self) -> list[dict]:
        """Pain share per stage of two periods or two segments, side by side."""
        if self.compare_groups is None:
            return []
        dim, a, b = self.compare_groups

        def cell(group: str, stage: str | None, valence: str | None) -> int:
            if dim == "period":
                return self._n(group, ALL, stage, valence)
            return self._n(ALL, group, stage, valence)

        out = []
        for stage in [ALL, *self.stages]:
            st = None if stage == ALL else stage
            na, ka = cell(a, st, None), cell(a, st, "pain")
            nb, kb = cell(b, st, None), cell(b, st, "pain")
            if na == 0 and nb == 0:
                continue
            sa, sb = _share(ka, na), _share(kb, nb)
            out.append(
                {
                    "dimension": dim,
                    "a": a,
                    "b": b,
                    "stage": stage,
                    "moments_a": na,
                    "pain_a": ka,
                    "pain_share_a": sa["share"],
                    "pain_a_low": sa["low"],
                    "pain_a_high": sa["high"],
                    "moments_b": nb,
                    "pain_b": kb,
                    "pain_share_b": sb["share"],
                    "pain_b_low": sb["low"],
                    "pain_b_high": sb["high"],
                }
                | _change(kb, nb, ka, na)
            )
        return out

    def transcripts(self) -> list[dict]:
        """Conversations by reason for contact (first moment) and how they ended (last)."""
        out = []
        for (stage, valence, outcome), n in sorted(
            self.agg.reason_outcome.items(), key=lambda kv: (-kv[1], kv[0])
        ):
            out.append(
                {
                    "reason_stage": stage,
                    "reason_valence": valence,
                    "outcome": outcome,
                    "conversations": n,
                }
            )
        return out

    def transcript_summary(self) -> dict[str, Any]:
        a = self.agg
        rate = _share(a.pain_to_glory, a.with_pain)
        return {
            "conversations": a.conversations,
            "with_pain": a.with_pain,
            "pain_to_glory": a.pain_to_glory,
            "pain_to_glory_share": rate["share"],
            "pain_to_glory_low": rate["low"],
            "pain_to_glory_high": rate["high"],
        }

    def timelines(self) -> list[dict]:
        """The moment timeline of the first conversations, step by step."""
        out = []
        for t in self.agg.timelines:
            for i, (stage, valence, evidence, conf) in enumerate(t.steps, 1):
                out.append(
                    {
                        "id": t.id,
                        "file": t.file,
                        "row": t.line,
                        "step": i,
                        "stage": stage,
                        "valence": valence,
                        "evidence": evidence,
                        "confidence": round(conf, 4),
                        "pain_to_glory": t.pain_to_glory,
                    }
                )
        return out

    def quality(self) -> list[dict]:
        """Rows with errors, low confidence, no moment or not in English: counted, with
        the first few of each named."""
        a = self.agg
        counts = {
            "rows": a.rows,
            "error": sum(a.errors.values()),
            "low confidence": a.low,
            "no moment": a.no_moment,
            "not English": a.not_english,
        }
        out = [
            {
                "problem": p,
                "rows": n,
                "share": _r(n / a.rows) if a.rows else None,
                "id": None,
                "file": None,
                "row": None,
                "detail": None,
            }
            for p, n in counts.items()
        ]
        for message, n in a.errors.most_common(10):
            out.append(
                {
                    "problem": "error kind",
                    "rows": n,
                    "share": _r(n / a.rows),
                    "id": None,
                    "file": None,
                    "row": None,
                    "detail": message,
                }
            )
        for examples in a.examples.values():
            out += [{"rows": None, "share": None} | e for e in examples]
        return out

    def tables(self) -> dict[str, list[dict]]:
        return {name: getattr(self, name)() for name in TABLES}

    def summary(self) -> dict[str, Any]:
        a = self.agg
        return {
            "sources": self.sources,
            "rows": a.rows,
            "moments": sum(self.stage_totals.values()),
            "by": a.by,
            "period": a.period,
            "periods": self.periods,
            "segments": self.segments,
            "segments_folded_rows": a.segments_folded,
            "rows_without_date": sum(n for (p, _), n in a.texts.items() if p == NO_DATE),
            "stages": self.stages,
            "compare": list(self.compare_groups) if self.compare_groups else None,
            "transcripts": self.transcript_summary(),
        }

    # ---- exports ---------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {"summary": self.summary(), **self.tables()}, ensure_ascii=False, indent=1
        )

    def to_frames(self) -> dict[str, Any]:
        """Every table as a pandas DataFrame (needs the `pandas` extra)."""
        try:
            import pandas as pd
        except ImportError:
            raise MotaiError('DataFrames need pandas: pip install "motai[pandas]"') from None
        return {name: pd.DataFrame(rows) for name, rows in self.tables().items()}

    def write_csv(self, folder: str | Path) -> list[Path]:
        """One CSV per table in `folder` (created), formula cells neutralised."""
        import csv

        from motai.io.writers import neutralise

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, rows in self.tables().items():
            path = out / f"{name}.csv"
            header = list(dict.fromkeys(k for r in rows for k in r))
            with open(path, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(header)
                for r in rows:
                    w.writerow(
                        ["" if r.get(h) is None else neutralise(str(r.get(h))) for h in header]
                    )
            written.append(path)
        return written

    def to_html(self) -> str:
        from motai.report.html import render_report_html

        return render_report_html(self)


def build_report(
    paths: Iterable[str | Path],
    *,
    by: str | None = None,
    period: str | None = None,
    date_column: str = "date",
    compare: tuple[str, str] | None = None,
    quotes: int = 3,
    low_confidence: float = 0.5,
    taxonomy: str | None = None,
    max_segments: int = 200,
    max_timelines: int = 30,
) -> Report:
    """Read motai's output files (JSONL or CSV) in one streaming pass and aggregate them.

    `by` groups by a kept input column, `period` (`week` or `month`) by the date in
    `date_column`, `compare` names two periods or two `by` values to set side by side.
    Raises InputError (file, row, field) on a bad file, MotaiError on bad options.
    """
    from motai.taxonomy import load_taxonomy

    paths = [str(p) for p in paths]
    agg = Aggregator(
        by=by,
        period=period,
        date_column=date_column,
        quotes=quotes,
        low_confidence=low_confidence,
        max_segments=max_segments,
        max_timelines=max_timelines,
    )
    required = [c for c in (by, date_column if period else None) if c]
    for row in iter_rows(paths, required):
        agg.add(row)
    order = load_taxonomy(taxonomy).labels
    return Report(agg.agg, order, compare, paths)

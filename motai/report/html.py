"""The journey report as one self-contained HTML page, built like the eval report
(`motai.evals.html`: its page shell, CSS, Content-Security-Policy and escaping): inline
CSS, plots as PNG data URIs, no script, nothing from the network. Every piece of text
from the data (quotes, ids, segment names) is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from motai.evals.html import _figure, _page, _table, esc
from motai.report import plots
from motai.report.aggregate import ALL

if TYPE_CHECKING:
    from motai.report.api import Report

HOTSPOTS_SHOWN = 10
HEATMAP_SEGMENTS = 15
TIMELINES_SHOWN = 12
EXTRA_CSS = """
.step { display: inline-block; padding: 1px 8px; border-radius: 10px; margin: 1px 2px;
        font-size: 12px; color: #fff; background: #9aa5b1; }
.step.pain { background: #c0392b; } .step.glory { background: #1e7b34; }
.arrow { color: var(--muted); }
blockquote { margin: 4px 0 8px; padding: 2px 10px; border-left: 3px solid var(--line); }
blockquote .ev { display: block; }
"""


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _ci(lo: float | None, hi: float | None) -> str:
    return "" if lo is None or hi is None else f"{lo:.0%}–{hi:.0%}"


def _change(row: dict) -> str:
    if row.get("change") is None:
        return "–"
    sign = "neg" if row["change"] > 0 else "pos"
    mark = " ●" if row.get("beyond_noise") else ""
    cls = sign if row.get("beyond_noise") else ""
    return f"<span class='{cls}'>{row['change']:+.0%}{mark}</span>"


def _noise(row: dict) -> str:
    if row.get("beyond_noise") is None:
        return "–"
    p = row["p_value"]
    return ("<b>beyond noise</b>" if row["beyond_noise"] else "within noise") + f" (p={p:.3f})"


def _card(label: str, value: str, sub: str = "") -> str:
    extra = f"<div class='ci'>{esc(sub)}</div>" if sub else ""
    return (
        f"<div class='card'><div class='label'>{esc(label)}</div>"
        f"<div class='value'>{esc(value)}</div>{extra}</div>"
    )


def _ref(row: dict) -> str:
    return f"<code>{esc(row['id'])}</code> <span class='ev'>{esc(row['file'])}:{row['row']}</span>"


def _journey(report: Report) -> list[str]:
    rows = report.journey()
    out = ["<h2 id='journey'>The journey at a glance</h2>"]
    if not rows:
        return [*out, "<p>No moments found.</p>"]
    counts = {(r["stage"], r["valence"]): r["moments"] for r in rows}
    out.append(
        _figure(
            plots.journey_bars(report.stages, report.valences, counts),
            "moments per stage and valence",
        )
    )
    header = ["stage", *(f"{v}" for v in report.valences), "moments", "pain share (95% CI)"]
    table = []
    for stage in report.stages:
        cells = {r["valence"]: r for r in rows if r["stage"] == stage}
        n = next(iter(cells.values()))["stage_moments"]
        pain = cells.get("pain")
        share = "–"
        if pain:
            ci = _ci(pain["share_of_stage_low"], pain["share_of_stage_high"])
            share = f"{_pct(pain['share_of_stage'])} ({ci})"
        table.append(
            [
                stage,
                *(
                    f"{cells[v]['moments']} · {_pct(cells[v]['share_of_stage'])}"
                    for v in report.valences
                ),
                n,
                share,
            ]
        )
    out.append(_table(header, table, numeric=range(1, len(header))))
    out.append(
        "<p class='meta'>Every moment counts, not only each text's primary one; a "
        "cell shows its count and its share of the stage.</p>"
    )
    return out


def _hotspots(report: Report) -> list[str]:
    rows = report.hotspots()
    out = ["<h2 id='hotspots'>Pain hot-spots</h2>"]
    if not rows:
        return [*out, "<p>No moments found.</p>"]
    period = "" if report.current_period == ALL else f" in {report.current_period}"
    prev = report.previous_period
    out.append(
        f"<p class='meta'>Stage and segment cells{esc(period)}"
        + (f", with the change against {esc(prev)}" if prev else "")
        + ". ● marks a change beyond noise (two-proportion test, p &lt; 0.05).</p>"
    )
    with_moments = {r["segment"] for r in rows}
    if report.segments:
        segs = [s for s in report.segments if s in with_moments][:HEATMAP_SEGMENTS]
        cells = {(r["segment"], r["stage"]): (r["pain"], r["moments"]) for r in rows}
        out.append(
            _figure(
                plots.pain_heatmap(segs, report.stages, cells), "pain share per segment and stage"
            )
        )
    header = ["segment", "stage", "pain", "moments", "pain share (95% CI)"]
    if prev:
        header += [f"pain share {prev}", "change", "noise"]

    def line(r: dict) -> list[object]:
        share = f"{_pct(r['pain_share'])} ({_ci(r['pain_low'], r['pain_high'])})"
        base = [esc(r["segment"]), esc(r["stage"]), r["pain"], r["moments"], share]
        if prev:
            base += [_pct(r.get("previous_pain_share")), _change(r), _noise(r)]
        return base

    by_share = sorted(rows, key=lambda r: r["rank_by_share"])
    raw = list(range(len(header)))
    num = (2, 3, 4, 5)
    out.append("<h3>Ranked by pain count</h3>")
    out.append(_table(header, [line(r) for r in rows[:HOTSPOTS_SHOWN]], num, raw=raw))
    out.append("<h3>Ranked by pain share (by the low end of its 95% CI)</h3>")
    out.append(_table(header, [line(r) for r in by_share[:HOTSPOTS_SHOWN]], num, raw=raw))
    return out


def _verbatims(report: Report) -> list[str]:
    rows = report.verbatims()
    out = [
        "<h2 id='verbatims'>Verbatims</h2>",
        "<p class='meta'>For each stage and valence, the most confident quotes, near "
        "duplicates removed, each with its row id and file:row.</p>",
    ]
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["segment"], r["stage"], r["valence"]), []).append(r)
    for segment in [ALL, *report.segments]:
        cells = [(k, v) for k, v in groups.items() if k[0] == segment]
        if not cells:
            continue
        block = []
        for (_, stage, valence), quotes in cells:
            block.append(
                f"<h3>{esc(stage)} · <span class='step {esc(valence)}'>{esc(valence)}</span></h3>"
            )
            for q in quotes:
                block.append(
                    f"<blockquote>“{esc(q['evidence'])}”<span class='ev'>"
                    f"{_ref(q)} · confidence {q['confidence']:.2f}</span></blockquote>"
                )
        if segment == ALL:
            out.append(
                "<div class='grid3'>"
                + "".join(f"<div>{b}</div>" for b in _chunks(block))
                + "</div>"
            )
        else:
            out.append(
                f"<details><summary>{esc(report.agg.by)} = {esc(segment)}</summary>"
                + "".join(block)
                + "</details>"
            )
    return out


def _chunks(block: Sequence[str]) -> list[str]:
    """Cells (a heading and its quotes) grouped per stage heading for the grid."""
    out: list[str] = []
    for piece in block:
        if piece.startswith("<h3>") or not out:
            out.append(piece)
        else:
            out[-1] += piece
    return out


def _trends(report: Report) -> list[str]:
    rows = report.trends()
    if not rows:
        return []
    out = ["<h2 id='trends'>Trends per period</h2>"]
    periods = report.periods
    series: dict[str, list[float | None]] = {}
    for r in rows:
        series.setdefault(r["stage"], [None] * len(periods))[periods.index(r["period"])] = r[
            "pain_share"
        ]
    overall = [r for r in rows if r["stage"] == ALL]
    band = ([r["pain_low"] for r in overall], [r["pain_high"] for r in overall])
    out.append(_figure(plots.trend_lines(periods, series, band), "pain share per period"))
    table = [
        [
            r["period"],
            r["moments"],
            r["pain"],
            _pct(r["pain_share"]),
            _ci(r["pain_low"], r["pain_high"]),
            _pct(r["glory_share"]),
        ]
        for r in overall
    ]
    out.append(
        _table(
            ["period", "moments", "pain", "pain share", "95% CI", "glory share"],
            table,
            numeric=(1, 2, 3, 5),
        )
    )
    return out


def _compare(report: Report) -> list[str]:
    rows = report.compare()
    if not rows or report.compare_groups is None:
        return []
    dim, a, b = report.compare_groups
    what = "periods" if dim == "period" else f"values of {report.agg.by}"
    out = [
        f"<h2 id='compare'>Side by side: {esc(a)} and {esc(b)}</h2>",
        f"<p class='meta'>Two {esc(what)}; the change is {esc(b)} minus {esc(a)}.</p>",
    ]
    stages = [r["stage"] for r in rows if r["stage"] != ALL]
    by_stage = {r["stage"]: r for r in rows}
    shares = (
        [by_stage[s]["pain_share_a"] for s in stages],
        [by_stage[s]["pain_share_b"] for s in stages],
    )

    def ci(s: str, g: str) -> tuple[float, float] | None:
        lo, hi = by_stage[s][f"pain_{g}_low"], by_stage[s][f"pain_{g}_high"]
        return None if lo is None else (lo, hi)

    intervals = ([ci(s, "a") for s in stages], [ci(s, "b") for s in stages])
    out.append(
        _figure(plots.compare_bars(stages, (a, b), shares, intervals), "pain share side by side")
    )
    table = [
        [
            esc(r["stage"]),
            f"{r['pain_a']}/{r['moments_a']}",
            _pct(r["pain_share_a"]),
            f"{r['pain_b']}/{r['moments_b']}",
            _pct(r["pain_share_b"]),
            _change(r),
            _noise(r),
        ]
        for r in rows
    ]
    header = [
        "stage",
        f"pain/moments {a}",
        "share",
        f"pain/moments {b}",
        "share",
        "change",
        "noise",
    ]
    out.append(_table(header, table, numeric=(1, 2, 3, 4), raw=range(7)))
    return out


def _transcripts(report: Report) -> list[str]:
    s = report.transcript_summary()
    if not s["conversations"]:
        return []
    out = ["<h2 id='transcripts'>Transcripts</h2>"]
    rate = s["pain_to_glory_share"]
    out.append(
        f"<p>{s['conversations']} conversation(s); {s['with_pain']} had a pain, and in "
        f"<b>{s['pain_to_glory']}</b> of them ({_pct(rate)}, 95% CI "
        f"{_ci(s['pain_to_glory_low'], s['pain_to_glory_high']) or '–'}) a pain turned into "
        "a glory later in the same conversation.</p>"
    )
    rows = report.transcripts()
    if rows:
        reasons = list(dict.fromkeys(f"{r['reason_stage']} {r['reason_valence']}" for r in rows))
        outcomes: dict[str, list[int]] = {}
        for r in rows:
            counts = outcomes.setdefault(r["outcome"], [0] * len(reasons))
            counts[reasons.index(f"{r['reason_stage']} {r['reason_valence']}")] += r[
                "conversations"
            ]
        order = {v: i for i, v in enumerate(report.valences)}
        outcomes = dict(sorted(outcomes.items(), key=lambda kv: order.get(kv[0], 99)))
        out.append(_figure(plots.outcome_bars(reasons, outcomes), "reason for contact and outcome"))
    steps: dict[str, list[dict]] = {}
    for r in report.timelines():
        steps.setdefault(f"{r['id']}\0{r['file']}\0{r['row']}", []).append(r)
    table = []
    for timeline in list(steps.values())[:TIMELINES_SHOWN]:
        chips = " <span class='arrow'>→</span> ".join(
            f"<span class='step {esc(t['valence'])}' title='{esc(t['evidence'])}'>"
            f"{esc(t['stage'])} {esc(t['valence'])}</span>"
            for t in timeline
        )
        first = timeline[0]
        quotes = "<br>".join(f"{i}. {esc(t['evidence'])}" for i, t in enumerate(timeline, 1))
        table.append(
            [
                _ref(first),
                chips,
                "yes" if first["pain_to_glory"] else "",
                f"<details><summary>quotes</summary><span class='ev'>{quotes}</span></details>",
            ]
        )
    if table:
        out.append("<h3>Moment timelines (reason for contact first)</h3>")
        out.append(
            _table(
                ["conversation", "timeline", "pain → glory", "evidence"],
                table,
                raw=range(4),
                cls="wide",
            )
        )
    return out


def _quality(report: Report) -> list[str]:
    rows = report.quality()
    out = ["<h2 id='quality'>Rows counted, not hidden</h2>"]
    totals = [r for r in rows if r["id"] is None and r["problem"] != "error kind"]
    out.append(
        _table(
            ["", "rows", "share"],
            [[r["problem"], r["rows"], _pct(r["share"])] for r in totals],
            numeric=(1, 2),
        )
    )
    kinds = [r for r in rows if r["problem"] == "error kind"]
    if kinds:
        out.append(_table(["error", "rows"], [[r["detail"], r["rows"]] for r in kinds], (1,)))
    named = [r for r in rows if r["id"] is not None]
    if named:
        out.append("<details><summary>The first rows of each kind</summary>")
        out.append(
            _table(
                ["problem", "row", "detail"],
                [[esc(r["problem"]), _ref(r), esc(r["detail"])] for r in named],
                raw=range(3),
            )
        )
        out.append("</details>")
    return out


def render_report_html(report: Report) -> str:
    """The whole page: summary cards, then each part of the report."""
    s = report.summary()
    total = {r["valence"]: 0 for r in report.journey()}
    for r in report.journey():
        total[r["valence"]] += r["moments"]
    moments = sum(total.values())
    quality = {r["problem"]: r["rows"] for r in report.quality() if r["id"] is None}
    body = ["<h1>Customer journey report</h1>"]
    grouping = [
        f"by <code>{esc(s['by'])}</code>" if s["by"] else "",
        f"per {esc(s['period'])}" if s["period"] else "",
    ]
    body.append(
        f"<p class='meta'>{s['rows']} rows from "
        + ", ".join(f"<code>{esc(p)}</code>" for p in s["sources"])
        + (" · " + " ".join(g for g in grouping if g) if any(grouping) else "")
        + "</p>"
    )
    cards = [_card("rows", str(s["rows"])), _card("moments", str(moments))]
    for v in report.valences:
        cards.append(
            _card(
                f"{v} moments",
                _pct(total[v] / moments if moments else None),
                f"{total[v]} of {moments}",
            )
        )
    cards.append(
        _card(
            "errors",
            str(quality.get("error", 0)),
            f"{quality.get('low confidence', 0)} low confidence",
        )
    )
    if s["transcripts"]["conversations"]:
        t = s["transcripts"]
        cards.append(
            _card(
                "pain → glory",
                _pct(t["pain_to_glory_share"]),
                f"{t['pain_to_glory']} of {t['with_pain']} conversations",
            )
        )
    body.append("<div class='cards'>" + "".join(cards) + "</div>")
    if s["segments_folded_rows"]:
        body.append(
            f"<div class='note'>{s['segments_folded_rows']} row(s) past the first "
            f"{len(report.segments) - 1} segments are counted as (other).</div>"
        )
    if s["rows_without_date"]:
        body.append(
            f"<div class='note warn'>{s['rows_without_date']} row(s) have no date: "
            "in the totals, in no period.</div>"
        )
    for part in (_journey, _hotspots, _verbatims, _trends, _compare, _transcripts, _quality):
        body += part(report)
    page = _page("motai journey report", body)
    return page.replace("</style>", EXTRA_CSS + "</style>", 1)

"""The report's aggregates on small hand-made tagged files whose answers are known."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from motai.errors import InputError, MotaiError
from motai.evals.stats import two_proportion_p, wilson_interval
from motai.report import build_report
from motai.report.aggregate import ALL, OTHER, period_key

Tagged = Callable[..., Path]


def _pain(stage: str, n: int, k: int, **fields: str) -> list[dict]:
    """n one-moment rows of a stage, k of them pain (the rest glory)."""
    return [
        {
            "id": f"{stage}-{fields}-{i}",
            "moments": [(stage, "pain" if i < k else "glory", f"quote {i} {stage}", 0.5)],
            "fields": fields,
        }
        for i in range(n)
    ]


def test_journey_counts_every_moment_in_journey_order(tagged: Tagged) -> None:
    path = tagged([
        {"id": "a", "moments": [("UMOT", "glory", "Tell everyone.", 0.9),
                                ("ZMOT", "neutral", "Read reviews first.", 0.8)]},
        {"id": "b", "moments": [("SMOT", "pain", "The zip broke.", 0.7),
                                ("SMOT", "pain", "Colour faded.", 0.6),
                                ("SMOT", "glory", "Fits well.", 0.6)]},
    ])  # fmt: skip
    rep = build_report([path])
    assert rep.stages == ["ZMOT", "SMOT", "UMOT"]  # the journey's order, not the file's
    cells = {(r["stage"], r["valence"]): r for r in rep.journey()}
    smot = cells[("SMOT", "pain")]
    assert (smot["moments"], smot["stage_moments"]) == (2, 3)  # not only the primary
    assert smot["share_of_stage"] == pytest.approx(2 / 3, abs=1e-4)
    lo, hi = wilson_interval(2, 3)
    assert (smot["share_of_stage_low"], smot["share_of_stage_high"]) == pytest.approx(
        (lo, hi), abs=1e-4
    )
    assert cells[("UMOT", "glory")]["share_of_all"] == pytest.approx(1 / 5)
    assert cells[("UMOT", "pain")]["moments"] == 0


def test_hotspots_ranked_by_count_and_by_share_with_the_change(tagged: Tagged) -> None:
    jan, feb = {"date": "2026-01-10"}, {"date": "2026-02-10"}
    rows = (
        _pain("AMOT", 10, 2, product="lamp", **jan)
        + _pain("AMOT", 10, 8, product="lamp", **feb)
        + _pain("SMOT", 5, 5, product="shirt", **feb)
        + _pain("AMOT", 2, 1, product="vacuum", **feb)
    )
    rep = build_report([tagged(rows)], by="product", period="month")
    hot = rep.hotspots()
    assert {r["period"] for r in hot} == {"2026-02"}  # the latest period
    by_count = [(r["segment"], r["stage"]) for r in hot]
    by_share = [(r["segment"], r["stage"]) for r in sorted(hot, key=lambda r: r["rank_by_share"])]
    assert by_count[:2] == [("lamp", "AMOT"), ("shirt", "SMOT")]  # 8 pains, then 5
    assert by_share[:2] == [("shirt", "SMOT"), ("lamp", "AMOT")]  # 5/5, then 8/10
    lamp = hot[0]
    assert lamp["previous_pain_share"] == pytest.approx(0.2)
    assert lamp["change"] == pytest.approx(0.6)
    assert lamp["p_value"] == pytest.approx(two_proportion_p(8, 10, 2, 10), abs=1e-4)
    assert lamp["beyond_noise"] is True
    vacuum = next(r for r in hot if r["segment"] == "vacuum")
    assert vacuum["change"] is None and vacuum["beyond_noise"] is None  # nothing in January
    trend = {(r["period"], r["stage"]): r for r in rep.trends()}
    assert (trend[("2026-01", ALL)]["pain"], trend[("2026-01", ALL)]["moments"]) == (2, 10)
    assert (trend[("2026-02", ALL)]["pain"], trend[("2026-02", ALL)]["moments"]) == (14, 17)
    assert trend[("2026-02", "SMOT")]["pain_share"] == 1.0
    assert ("2026-01", "SMOT") in trend and trend[("2026-01", "SMOT")]["moments"] == 0


def test_a_small_change_is_within_noise(tagged: Tagged) -> None:
    rows = _pain("AMOT", 10, 4, date="2026-01-03") + _pain("AMOT", 10, 5, date="2026-01-20")
    rep = build_report([tagged(rows)], period="week")
    assert rep.periods == ["2026-W01", "2026-W04"]
    (cell,) = rep.hotspots()
    assert cell["change"] == pytest.approx(0.1)
    assert cell["beyond_noise"] is False
    assert rep.compare_groups == ("period", "2026-W01", "2026-W04")
    total = rep.compare()[0]
    assert (total["pain_a"], total["pain_b"], total["beyond_noise"]) == (4, 5, False)


def test_verbatims_keep_the_most_confident_and_drop_near_duplicates(tagged: Tagged) -> None:
    quotes = [
        ("Arrived late!", 0.95),
        ("arrived  late", 0.90),  # the same complaint, told again
        ("The zip broke on day two.", 0.50),
        ("Support never answered my emails.", 0.70),
        ("Colour faded fast.", 0.30),
        ("ARRIVED LATE.", 0.99),  # a more confident copy replaces the first
    ]
    rows = [{"id": f"q{i}", "moments": [("SMOT", "pain", q, c)]} for i, q_c in
            enumerate(quotes) for q, c in [q_c]]  # fmt: skip
    rep = build_report([tagged(rows)], quotes=3)
    shown = [(v["evidence"], v["id"], v["rank"]) for v in rep.verbatims() if v["segment"] == ALL]
    assert shown == [
        ("ARRIVED LATE.", "q5", 1),
        ("Support never answered my emails.", "q3", 2),
        ("The zip broke on day two.", "q2", 3),
    ]
    assert {v["row"] for v in rep.verbatims()} == {6, 4, 3}  # each linked to its row


def test_transcripts_timeline_and_pain_turned_to_glory(tagged: Tagged) -> None:
    rows = [
        {"id": "c1", "kind": "transcript", "moments": [
            ("SMOT", "pain", "My order broke.", 0.9), ("SMOT", "glory", "Thanks, fixed!", 0.8)]},
        {"id": "c2", "kind": "transcript", "moments": [
            ("SMOT", "glory", "Love the app.", 0.9), ("SMOT", "pain", "But billing failed.", 0.8)]},
        {"id": "c3", "kind": "transcript", "moments": [("AMOT", "pain", "Still not here.", 0.9)]},
        {"id": "r1", "kind": "review", "moments": [
            ("AMOT", "pain", "Late.", 0.9), ("SMOT", "glory", "Great fit.", 0.8)]},
    ]  # fmt: skip
    path = tagged(rows)
    # Moments listed out of text order are put back in the order they were said.
    lines = path.read_text(encoding="utf-8").splitlines()
    import json

    first = json.loads(lines[0])
    first["moments"].reverse()
    lines[0] = json.dumps(first)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    rep = build_report([path])
    s = rep.transcript_summary()
    assert (s["conversations"], s["with_pain"], s["pain_to_glory"]) == (3, 3, 1)
    assert s["pain_to_glory_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert (s["pain_to_glory_low"], s["pain_to_glory_high"]) == pytest.approx(
        wilson_interval(1, 3), abs=1e-4
    )
    reasons = {(r["reason_stage"], r["reason_valence"], r["outcome"]) for r in rep.transcripts()}
    assert reasons == {
        ("SMOT", "pain", "glory"),
        ("SMOT", "glory", "pain"),
        ("AMOT", "pain", "pain"),
    }
    c1 = [(t["step"], t["valence"]) for t in rep.timelines() if t["id"] == "c1"]
    assert c1 == [(1, "pain"), (2, "glory")]


def test_errors_and_low_confidence_are_counted_not_hidden(tagged: Tagged) -> None:
    rows = [
        {"id": "ok", "moments": [("SMOT", "glory", "Fine.", 0.9)]},
        {"id": "bad", "error": "a.csv, row 2, field 'text': empty text"},
        {"id": "bad2", "error": "a.csv, row 9, field 'text': empty text"},
        {"id": "bad3", "error": "timed out after 30 s"},
        {"id": "unsure", "confidence": 0.2, "moments": [("SMOT", "pain", "Hmm.", 0.2)]},
        {"id": "spam", "moments": []},
        {"id": "fr", "language": "fr", "moments": [("SMOT", "pain", "Trop tard.", 0.6)]},
    ]
    rep = build_report([tagged(rows)], low_confidence=0.5)
    counts = {r["problem"]: r["rows"] for r in rep.quality() if r["id"] is None}
    assert counts["rows"] == 7
    assert (counts["error"], counts["low confidence"], counts["no moment"]) == (3, 1, 1)
    kinds = {r["detail"]: r["rows"] for r in rep.quality() if r["problem"] == "error kind"}
    assert kinds == {"empty text": 2, "timed out after N s": 1}  # what, not where
    assert counts["not English"] == 1
    named = {(r["problem"], r["id"]) for r in rep.quality() if r["id"] is not None}
    assert {("error", "bad"), ("low confidence", "unsure"), ("no moment", "spam")} <= named
    assert sum(r["moments"] for r in rep.journey()) == 3  # the error row adds nothing


def test_compare_two_largest_segments_or_the_ones_named(tagged: Tagged) -> None:
    rows = (
        _pain("AMOT", 6, 1, channel="web")
        + _pain("AMOT", 4, 4, channel="app")
        + _pain("AMOT", 2, 0, channel="store")
    )
    rep = build_report([tagged(rows)], by="channel")
    assert rep.compare_groups == ("segment", "web", "app")
    total = next(r for r in rep.compare() if r["stage"] == ALL)
    assert (total["pain_a"], total["moments_a"], total["pain_b"], total["moments_b"]) == (
        1,
        6,
        4,
        4,
    )
    rep = build_report([tagged(rows)], by="channel", compare=("store", "app"))
    assert rep.compare()[0]["a"] == "store"
    with pytest.raises(MotaiError, match="--compare"):
        build_report([tagged(rows)], by="channel", compare=("web", "fax"))


def test_segments_past_the_limit_are_folded(tagged: Tagged) -> None:
    rows = [{"id": f"x{i}", "moments": [("SMOT", "pain", f"q{i}", 0.5)],
             "fields": {"sku": f"s{i}"}} for i in range(7)]  # fmt: skip
    rep = build_report([tagged(rows)], by="sku", max_segments=3)
    assert set(rep.segments) == {"s0", "s1", "s2", OTHER}
    assert rep.summary()["segments_folded_rows"] == 4


def test_periods_and_bad_dates() -> None:
    assert period_key("2026-03-04", "month") == "2026-03"
    assert period_key("2026-03-04T10:00:00Z", "week") == "2026-W10"
    assert period_key("2026/01/01", "week") == "2026-W01"
    assert period_key("2027-01-01", "week") == "2026-W53"  # ISO weeks cross the year
    with pytest.raises(ValueError):
        period_key("March 4", "month")


def test_a_bad_date_names_file_row_and_field(tagged: Tagged) -> None:
    rows = _pain("AMOT", 2, 1, date="2026-01-01") + _pain("AMOT", 1, 1, date="yesterday")
    path = tagged(rows)
    with pytest.raises(InputError) as err:
        build_report([path], period="month")
    assert (err.value.file, err.value.row, err.value.field) == (str(path), 3, "date")
    # an empty date is counted apart, not an error
    rep = build_report([tagged(_pain("AMOT", 2, 1, date="") + rows[:2], "b.jsonl")], period="month")
    assert rep.summary()["rows_without_date"] == 2 and rep.periods == ["2026-01"]


def test_csv_and_jsonl_outputs_give_the_same_report(tagged: Tagged) -> None:
    rows = [
        *_pain("AMOT", 5, 2, product="lamp", date="2026-02-01"),
        {"id": "t", "kind": "transcript", "fields": {"product": "=cmd", "date": "2026-02-03"},
         "moments": [("SMOT", "pain", "Broken.", 0.9), ("SMOT", "glory", "Fixed, thanks!", 0.8)]},
    ]  # fmt: skip
    a = build_report([tagged(rows, "t.jsonl")], by="product", period="month")
    b = build_report([tagged(rows, "t.csv")], by="product", period="month")
    ta, tb = a.tables(), b.tables()
    for name in ("journey", "hotspots", "trends", "transcripts", "compare"):
        assert ta[name] == tb[name], name
    strip = [{k: v for k, v in r.items() if k != "file"} for r in ta["verbatims"]]
    assert strip == [{k: v for k, v in r.items() if k != "file"} for r in tb["verbatims"]]


def test_what_is_kept_does_not_grow_with_the_rows() -> None:
    from motai.report.aggregate import Aggregator
    from motai.report.rows import Row, RowMoment

    agg = Aggregator(by="product", period="month", quotes=2, max_timelines=5)
    for i in range(3000):
        moments = [RowMoment("SMOT", "pain", f"distinct complaint number {i} {i * 7}", 0, i / 3000),
                   RowMoment("SMOT", "glory", f"fixed it {i}", 50, 0.5)]  # fmt: skip
        agg.add(Row(id=f"r{i}", file="f.jsonl", line=i + 1, kind="transcript", stage="SMOT",
                    valence="pain", confidence=0.9, moments=moments, language="en",
                    error="x.csv, row 3: boom" if i % 10 == 0 else None,
                    fields={"product": f"p{i % 3}", "date": f"2026-0{1 + i % 2}-05"}))  # fmt: skip
    a = agg.agg
    assert a.rows == 3000 and a.conversations == 2700 and a.pain_to_glory == 2700
    assert len(a.timelines) == 5
    assert all(len(top.items) <= 2 for top in a.quotes.values())
    assert len(a.quotes) == 4 * 2  # (3 products + all) x 2 valences
    assert len(a.moments) == 2 * 3 * 2  # months x products x valences
    assert a.errors == {"boom": 300} and all(len(e) <= 20 for e in a.examples.values())
    best = [q.confidence for q in a.quotes[(ALL, "SMOT", "pain")].items]
    assert best == sorted(best, reverse=True) and best[0] == pytest.approx(2999 / 3000)

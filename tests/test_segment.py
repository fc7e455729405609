"""Segmentation: the spans evidence can quote, always exact slices of the original text."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from motai.labelled import LabelledMoment
from motai.segment import (
    MAX_WORDS,
    WINDOW_WORDS,
    customer_regions,
    moment_counts,
    segment_label,
    segments,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

PHONE_CALL = (
    "agent: thanks for calling how can i help you today\n"
    "customer: yeah hi so i ordered the grey armchair from your website about three weeks "
    "ago and it still has not arrived and nobody has called me back about it and i have "
    "been waiting at home every single day for the delivery van to show up\n"
    "agent: im really sorry about that let me look it up for you right now"
)


def _assert_exact(text: str, spans: list) -> None:
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip()


def test_sentences_with_exact_offsets() -> None:
    text = "The package arrived two weeks late. The fabric is great though. Highly recommend!"
    spans = segments(text, "review")
    assert [(s.start, s.end, s.text) for s in spans] == [
        (0, 35, "The package arrived two weeks late."),
        (36, 63, "The fabric is great though."),
        (64, 81, "Highly recommend!"),
    ]
    _assert_exact(text, spans)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Dr. Lee was kind. Mr. Bo too.", ["Dr. Lee was kind.", "Mr. Bo too."]),
        ("Cheaper, e.g. the blue one. Ok.", ["Cheaper, e.g. the blue one.", "Ok."]),
        ("Sent on Jan. 5 to the U.S. office.", ["Sent on Jan. 5 to the U.S. office."]),
        ("Booked for 3 p.m. as agreed.", ["Booked for 3 p.m. as agreed."]),
        ("Snacks, juice etc. Nothing hot.", ["Snacks, juice etc.", "Nothing hot."]),
        ("Gate A. The lounge is up.", ["Gate A.", "The lounge is up."]),
        ("It came from the U.S.", ["It came from the U.S."]),
        ("I said no. They left.", ["I said no.", "They left."]),
    ],
)
def test_abbreviations_do_not_end_sentences(text: str, sentences: list[str]) -> None:
    spans = segments(text, "review")
    assert [s.text for s in spans] == sentences
    _assert_exact(text, spans)


def test_segment_label_prefers_the_stage_rarest_in_the_data() -> None:
    text = "Saw it on TikTok and ordered at once."
    spans = [
        (0, 15, LabelledMoment(stage="ZMOT", valence="glory", evidence=text[:15])),
        (16, 37, LabelledMoment(stage="FMOT", valence="glory", evidence=text[16:])),
    ]
    both = segments(text)[0]
    assert segment_label(both.start, both.end, spans, {"ZMOT": 5, "FMOT": 50}) == (
        "ZMOT",
        "glory",
    )
    assert segment_label(both.start, both.end, spans, {"ZMOT": 50, "FMOT": 5})[0] == "FMOT"
    assert segment_label(both.start, both.end, [], {}) == ("", "")


def test_moment_counts() -> None:
    class Item:
        def __init__(self, *stages: str) -> None:
            self.moments = [LabelledMoment(stage=s, valence="pain", evidence="x") for s in stages]

    assert moment_counts([Item("SMOT", "AMOT"), Item("SMOT"), Item()]) == {"SMOT": 2, "AMOT": 1}


def test_newlines_end_sentences_and_spans_are_in_order() -> None:
    text = "Line one is here\n\nLine two is there\nand a third line"
    spans = segments(text)
    assert [s.text for s in spans] == ["Line one is here", "Line two is there", "and a third line"]
    _assert_exact(text, spans)
    assert [s.start for s in spans] == sorted(s.start for s in spans)


def test_long_sentence_is_cut_into_clauses() -> None:
    text = (
        "I love the color and the fit is perfect and the material feels expensive, but the "
        "zipper broke after two days and support never answered any of my emails about it "
        "even though I wrote to them three times."
    )
    assert len(text.split()) > MAX_WORDS
    spans = segments(text, "review")
    assert len(spans) >= 2
    _assert_exact(text, spans)
    assert spans[0].text.startswith("I love the color")
    assert any(s.text.startswith("but the zipper broke") for s in spans)
    # Clauses never overlap and never drop a word of the sentence.
    for a, b in itertools.pairwise(spans):
        assert a.end <= b.start
    assert " ".join(s.text for s in spans).split() == text.split()


def test_unicode_offsets_index_the_python_string() -> None:
    text = "Lieferung kam zu spät 😡. Qualität ist super 👍! Würde ich weiterempfehlen."
    spans = segments(text, "review")
    _assert_exact(text, spans)
    assert [s.text for s in spans] == [
        "Lieferung kam zu spät 😡.",
        "Qualität ist super 👍!",
        "Würde ich weiterempfehlen.",
    ]


def test_transcript_keeps_only_customer_turns() -> None:
    text = (
        "Customer: My order is late again.\n"
        "Agent: Sorry, let me check the tracking for you.\n"
        "Customer: Thanks, but this is the second time!"
    )
    spans = segments(text, "transcript")
    _assert_exact(text, spans)
    joined = " ".join(s.text for s in spans)
    assert "My order is late again." in joined
    assert "second time" in joined
    assert "tracking" not in joined and "Sorry" not in joined
    assert not any(s.text.lower().startswith(("customer:", "agent:")) for s in spans)


def test_transcript_from_examples_excludes_agent_lines() -> None:
    lines = (EXAMPLES / "transcripts.jsonl").read_text(encoding="utf-8").splitlines()
    text = json.loads(lines[3])["text"]  # t004: agent:/customer: phone call
    spans = segments(text, "transcript")
    assert spans
    _assert_exact(text, spans)
    agent_lines = [ln.split(":", 1)[1] for ln in text.splitlines() if ln.startswith("agent:")]
    for s in spans:
        assert not any(s.text in a or a.strip() in s.text for a in agent_lines)
    assert any("legs snapped" in s.text for s in spans)


def test_customer_regions_detects_labels_without_kind() -> None:
    text = "Agent: hello there\nCaller: my card was declined\nRep: try again"
    regions = customer_regions(text, None)
    assert [text[a:b].strip() for a, b in regions] == ["my card was declined"]


def test_one_speaker_rule_for_timestamped_turns() -> None:
    # Detected as a transcript and segmented by the same rule: only the customer's words.
    from motai.io import detect_kind

    text = (
        "[00:01] Agent: Thanks for calling, how can I help?\n"
        "[00:05] Customer: My parcel never arrived and nobody answers.\n"
        "[00:09] Agent: I am so sorry, that is terrible service."
    )
    assert detect_kind(text) == "transcript"
    assert [s.text for s in segments(text, "transcript")] == [
        "My parcel never arrived and nobody answers."
    ]


def test_agent_only_transcript_has_no_customer_words() -> None:
    text = "Agent: Hello, how can I help you today?\nOperator: Thanks for calling, goodbye."
    assert customer_regions(text, "transcript") == []
    assert segments(text, "transcript") == []


def test_one_label_in_a_review_is_not_a_transcript() -> None:
    text = "Support: what a joke. They never replied to me."
    assert customer_regions(text, "review") == [(0, len(text))]
    assert "They never replied to me." in [s.text for s in segments(text, "review")]


def test_unpunctuated_phone_call_is_cut_into_windows() -> None:
    spans = segments(PHONE_CALL, "transcript")
    _assert_exact(PHONE_CALL, spans)
    customer = PHONE_CALL.splitlines()[1].removeprefix("customer: ")
    assert len(customer.split()) > MAX_WORDS
    assert len(spans) >= 3
    for s in spans:
        assert len(s.text.split()) <= WINDOW_WORDS + 4
        assert "sorry" not in s.text and "thanks for calling" not in s.text
    # The windows cover the customer's words, in order, with nothing dropped.
    assert " ".join(s.text for s in spans).split() == customer.split()


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "...", "!!", "ok"])
def test_empty_or_trivial_text_gives_no_spans(text: str) -> None:
    assert segments(text) == []
    assert segments(text, "transcript") == []


def test_every_example_file_segments_exactly() -> None:
    from motai.io import read_items

    files = [str(EXAMPLES / n) for n in ("reviews.csv", "posts.jsonl", "transcripts.jsonl")]
    n = 0
    for item in read_items(files):
        spans = segments(item.text, item.kind)
        assert spans, item.id
        _assert_exact(item.text, spans)
        if item.kind == "transcript":
            assert not any(re.match(r"(?i)(agent|assistant)\s*:", s.text) for s in spans)
        n += 1
    assert n == 12 + 8 + 4

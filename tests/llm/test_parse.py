"""Parsing and validating model replies: garbage in, a clear error out, never a guess."""

from __future__ import annotations

import json
import math

import pytest

from motai.llm.parse import (
    InvalidReply,
    extract_json,
    find_evidence,
    parse_reply,
    stage_logprob_confidence,
)
from motai.llm.schema import reply_json_schema, reply_model

TEXT = "The parcel arrived two weeks late.  Love the fabric though! Highly recommend."
GOOD = {
    "stage": "AMOT",
    "valence": "pain",
    "confidence": 0.8,
    "moments": [
        {"stage": "AMOT", "valence": "pain", "evidence": "The parcel arrived two weeks late."},
        {"stage": "SMOT", "valence": "glory", "evidence": "Love the fabric though!"},
    ],
}


def test_valid_reply_offsets_computed_by_motai(taxonomy) -> None:
    r = parse_reply(json.dumps(GOOD), TEXT, taxonomy)
    assert (r.stage, r.valence, r.confidence) == ("AMOT", "pain", 0.8)
    for m in r.moments:
        assert TEXT[m.start : m.end] == m.evidence


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("I think this is about shipping, so AMOT pain.", "no JSON object"),
        ('{"stage": "AMOT", "valence": "pain", "confidence": 0.8, "moments": [{"st', "cut off"),
        ("[1, 2]", "not an object"),
    ],
)
def test_garbage_replies(raw: str, message: str, taxonomy) -> None:
    with pytest.raises(InvalidReply, match=message):
        parse_reply(raw, TEXT, taxonomy)


def test_fenced_and_prose_wrapped_json(taxonomy) -> None:
    fenced = "Here you go:\n```json\n" + json.dumps(GOOD) + "\n```\nHope it helps."
    assert parse_reply(fenced, TEXT, taxonomy).stage == "AMOT"
    prose = "Sure! " + json.dumps(GOOD) + " That's my answer {not json}."
    assert parse_reply(prose, TEXT, taxonomy).stage == "AMOT"
    assert extract_json('```\n{"a": "}"}\n```') == {"a": "}"}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"stage": "LMOT"}, "stage 'LMOT' is not a label; use one of ZMOT, FMOT"),
        ({"stage": "amot"}, "stage 'amot' is not a label"),
        ({"valence": "happy"}, "valence 'happy' is not a label"),
        ({"stage": 3}, "stage must be a string"),
        ({"confidence": "high"}, "confidence must be a number"),
        ({"confidence": 1.5}, "confidence must be from 0 to 1"),
        ({"confidence": True}, "confidence must be a number"),
        ({"moments": "AMOT"}, "moments must be a list"),
        ({"moments": ["AMOT"]}, r"moments\[0\] must be an object"),
        ({"extra": 1}, "unknown key"),
        (
            {"moments": [{"stage": "AMOT", "valence": "pain", "evidence": "never came"}]},
            r"moments\[0\]\.evidence 'never came' is not in the customer text",
        ),
        (
            {"moments": [{"stage": "NONE", "valence": "pain", "evidence": "Love the fabric"}]},
            r"moments\[0\]\.stage 'NONE' is not a label",
        ),
        (
            {"moments": [{"stage": "SMOT", "valence": "glory", "evidence": "Love the fabric"}]},
            "primary stage AMOT must be one of the moments",
        ),
        ({"stage": "NONE"}, "means no moment"),
    ],
)
def test_invalid_labels_and_types_are_errors_not_guesses(patch, message, taxonomy) -> None:
    with pytest.raises(InvalidReply, match=message):
        parse_reply({**GOOD, **patch}, TEXT, taxonomy)


def test_every_problem_is_listed_for_the_repair(taxonomy) -> None:
    with pytest.raises(InvalidReply) as exc:
        parse_reply({**GOOD, "stage": "XMOT", "valence": "meh"}, TEXT, taxonomy)
    assert "XMOT" in str(exc.value) and "meh" in str(exc.value)


def test_transcript_evidence_must_be_the_customer_s_words(taxonomy) -> None:
    from motai.segment import customer_regions

    text = (
        "Agent: So the parcel is late?\n"
        "Customer: Yes, the parcel is late.\n"
        "Agent: Sorry, that is terrible service."
    )
    regions = customer_regions(text, "transcript")
    reply = {
        "stage": "AMOT",
        "valence": "pain",
        "confidence": 0.7,
        "moments": [{"stage": "AMOT", "valence": "pain", "evidence": "the parcel is late"}],
    }
    [m] = parse_reply(reply, text, taxonomy, regions).moments
    assert text.index("Customer:") < m.start  # the customer's line, not the agent's echo
    agent = {**reply, "moments": [{**reply["moments"][0], "evidence": "terrible service"}]}
    with pytest.raises(InvalidReply, match="'terrible service' is not the customer's words"):
        parse_reply(agent, text, taxonomy, regions)
    with pytest.raises(InvalidReply, match="not the customer's words"):  # agent-only: none
        parse_reply(reply, text, taxonomy, [])
    assert parse_reply(agent, text, taxonomy).moments  # not a transcript: anywhere goes


def test_none_reply_with_no_moments(taxonomy) -> None:
    r = parse_reply(
        {"stage": "NONE", "valence": "neutral", "confidence": 1, "moments": []}, "lol", taxonomy
    )
    assert r.stage == "NONE" and r.moments == []


def test_evidence_exact_then_loose_mapped_to_original() -> None:
    assert find_evidence(TEXT, "Love the fabric") == (36, 51)
    # whitespace runs and case differ: the span is the exact original substring
    s, e = find_evidence(TEXT, "late. love THE fabric")
    assert TEXT[s:e] == "late.  Love the fabric"
    # quotation marks the model added around the quote
    s, e = find_evidence(TEXT, '"Highly recommend."')
    assert TEXT[s:e] == "Highly recommend."
    # curly apostrophe in the quote, straight in the text
    assert find_evidence("it's great", "it’s great") == (0, 10)
    assert find_evidence(TEXT, "arrived three weeks late") is None
    assert find_evidence(TEXT, "") is None and find_evidence(TEXT, "   ") is None


def test_schema_built_from_taxonomy(taxonomy) -> None:
    schema = reply_json_schema(taxonomy)
    assert schema["properties"]["stage"]["enum"] == taxonomy.labels
    item = schema["properties"]["moments"]["items"]
    assert item["properties"]["stage"]["enum"] == taxonomy.stage_ids
    assert schema["additionalProperties"] is False
    model = reply_model(taxonomy)
    assert model.model_validate(GOOD).stage == "AMOT"
    with pytest.raises(ValueError):
        model.model_validate({**GOOD, "stage": "LMOT"})


def test_logprob_confidence_of_the_stage_tokens() -> None:
    tokens = [('{"', 0.0), ("stage", 0.0), ('":"', 0.0), ("AM", -0.1), ("OT", -0.2), ('"}', 0.0)]
    assert stage_logprob_confidence(tokens, "AMOT") == pytest.approx(math.exp(-0.3))
    assert stage_logprob_confidence(tokens, "SMOT") is None
    assert stage_logprob_confidence(None, "AMOT") is None

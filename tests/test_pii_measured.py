"""`--redact` measured on the labelled PII set (evals/pii.jsonl): figures printed, floors held.

The floors sit just under today's figures, so a change that loses personal data fails
here; `python benchmarks/pii.py` prints the full tables.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from motai.evals.pii import load_pii_set, measure_redaction
from motai.prompts import build_messages, load_prompt
from motai.redact import KINDS, redact
from motai.retrieval import Retriever

PII_SET = Path(__file__).resolve().parent.parent / "evals" / "pii.jsonl"
FLOORS = {"dev": (0.97, 0.95), "heldout": (0.95, 0.95)}  # (recall, precision)


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return load_pii_set(PII_SET)


def test_set_is_big_enough(items: list[dict]) -> None:
    spans = [s for i in items for s in i["spans"]]
    assert len(spans) >= 100
    assert {s["type"] for s in spans} == set(KINDS)
    assert sum(not i["spans"] for i in items) >= 20  # hard negatives


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_redaction_recall_and_precision(items: list[dict], split: str, figures) -> None:
    part = [i for i in items if i["split"] == split]
    m = measure_redaction(part)
    table = {k: (v["spans"], v["recall"], v["precision"]) for k, v in m["per_kind"].items()}
    figures(
        f"PII {split}",
        f"{m['spans']} spans, recall {m['recall']:.2f}, precision "
        f"{m['precision']:.2f}, leaked {m['leaked']}; per kind (spans, recall, precision): "
        + json.dumps(table),
    )
    recall, precision = FLOORS[split]
    assert m["leaked"] == 0, m["leaked_items"]
    assert m["recall"] >= recall and m["precision"] >= precision
    for kind, v in m["per_kind"].items():
        if v["spans"]:
            assert v["recall"] >= 0.9, (kind, v)
        if v["precision"] is not None:
            assert v["precision"] >= 0.9, (kind, v)


def test_phonenumbers_measures_better_than_the_regex_alone(items: list[dict], figures) -> None:
    """Why phonenumbers is kept: national formats the regular expressions miss."""
    with_lib = measure_redaction(items)["per_kind"]["PHONE"]
    regex = measure_redaction(items, functools.partial(redact, national_phones=False))
    regex_phone = regex["per_kind"]["PHONE"]
    figures(
        "PII phone recall, regex -> with phonenumbers",
        f"{regex_phone['recall']:.2f} -> {with_lib['recall']:.2f}",
    )
    assert with_lib["recall"] > regex_phone["recall"] + 0.2
    assert with_lib["precision"] >= 0.95


def test_no_labelled_value_in_the_rendered_prompt(items: list[dict], fake_store) -> None:
    """What would be sent (system, exemplars, text) holds none of the labelled values."""
    prompt = load_prompt()
    retriever = Retriever(fake_store, k_examples=1)
    leaks = []
    for item in items:
        messages = build_messages(prompt, retriever, item["text"], redact=True)
        wire = json.dumps(messages, ensure_ascii=False)
        for s in item["spans"]:
            value = item["text"][s["start"] : s["end"]]
            if value in wire or json.dumps(value)[1:-1] in wire:
                leaks.append((item["id"], value))
    assert leaks == []

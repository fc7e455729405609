"""How well `--redact` finds personal data: recall and precision per kind on a labelled set.

The set (`evals/pii.jsonl`) holds texts with labelled spans (`start`, `end`, `type`) and
hard negatives (order numbers, dates, prices) with none. A labelled span is found when a
redaction of the same kind overlaps it; a redaction is correct when it overlaps a labelled
span of its kind. `leaked` counts labelled values still present, verbatim, in the
redacted text: what would have gone over the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from motai.redact import KINDS, Redaction, redact

__all__ = ["load_pii_set", "measure_redaction"]


def load_pii_set(path: str | Path) -> list[dict[str, Any]]:
    """The labelled items, each checked: spans inside the text, types known."""
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            for span in item["spans"]:
                if span["type"] not in KINDS or not 0 <= span["start"] < span["end"] <= len(
                    item["text"]
                ):
                    raise ValueError(f"{path}, line {n}: bad span {span}")
            items.append(item)
    return items


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def measure_redaction(
    items: Iterable[dict[str, Any]], redactor: Callable[[str], Redaction] = redact
) -> dict[str, Any]:
    """Per-kind recall and precision, overall figures and the leaked values' count."""
    counts = {k: {"spans": 0, "found": 0, "redacted": 0, "correct": 0} for k in KINDS}
    leaked: list[str] = []
    texts = 0
    for item in items:
        texts += 1
        text, gold = item["text"], item["spans"]
        r = redactor(text)
        preds = [(x.start, x.end, x.kind) for x in r.replacements]
        for g in gold:
            c = counts[g["type"]]
            c["spans"] += 1
            span = (g["start"], g["end"])
            c["found"] += any(k == g["type"] and _overlaps(span, (s, e)) for s, e, k in preds)
            if text[g["start"] : g["end"]] in r.text:
                leaked.append(g["id"] if "id" in g else f"{item['id']}:{g['type']}")
        for s, e, k in preds:
            counts[k]["redacted"] += 1
            counts[k]["correct"] += any(
                g["type"] == k and _overlaps((s, e), (g["start"], g["end"])) for g in gold
            )
    per_kind = {
        k: {
            "spans": c["spans"],
            "recall": c["found"] / c["spans"] if c["spans"] else None,
            "precision": c["correct"] / c["redacted"] if c["redacted"] else None,
            "false_positives": c["redacted"] - c["correct"],
        }
        for k, c in counts.items()
    }
    spans = sum(c["spans"] for c in counts.values())
    redacted = sum(c["redacted"] for c in counts.values())
    return {
        "texts": texts,
        "spans": spans,
        "recall": sum(c["found"] for c in counts.values()) / spans if spans else None,
        "precision": sum(c["correct"] for c in counts.values()) / redacted if redacted else None,
        "leaked": len(leaked),
        "leaked_items": leaked,
        "per_kind": per_kind,
    }

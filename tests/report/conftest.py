"""Tagged files for the report tests, written by motai's own writer (JSONL or CSV, the
input's columns passed through), so the report reads exactly what `motai tag` writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from motai.io.writers import open_writer
from motai.models import Moment, TagResult, TextItem

Spec = dict  # id, moments [(stage, valence, evidence, confidence)], kind, error, fields...


def make_rows(specs: Sequence[Spec]) -> list[tuple[TagResult, TextItem]]:
    out = []
    for s in specs:
        text, moments = "", []
        for stage, valence, evidence, conf in s.get("moments", []):
            start = len(text)
            text += evidence + " "
            moments.append(
                Moment(
                    stage=stage,
                    valence=valence,
                    evidence=evidence,
                    start=start,
                    end=start + len(evidence),
                    confidence=conf,
                )
            )
        primary = moments[0] if moments else None
        error = s.get("error")
        result = TagResult(
            id=s["id"],
            kind=s.get("kind", "review"),
            stage=None if error else (primary.stage if primary else "NONE"),
            valence=None if error else (primary.valence if primary else "neutral"),
            confidence=None if error else s.get("confidence", 0.9),
            moments=[] if error else moments,
            language=s.get("language", "en"),
            error=error,
        )
        item = TextItem(id=s["id"], text=text.strip() or "x", extra=s.get("fields", {}))
        out.append((result, item))
    return out


@pytest.fixture()
def tagged(tmp_path: Path) -> Callable[..., Path]:
    """tagged(specs, name="t.jsonl") -> the path of a motai output file of those rows."""

    def write(specs: Sequence[Spec], name: str = "tagged.jsonl") -> Path:
        path = tmp_path / name
        with open_writer(path) as w:
            for result, item in make_rows(specs):
                w.write(result, item)
        return path

    return write

"""A run folder's `predictions.jsonl`: one line per item, its gold labels and the
prediction. Read by `motai eval compare`, written by `motai eval run`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from motai.labelled import LabelledItem
from motai.models import TagResult


def prediction_row(item: LabelledItem, res: TagResult, latency_s: float) -> dict:
    """One line of `predictions.jsonl`: the item, its gold labels and the prediction."""
    return {
        "id": item.id,
        "kind": item.kind,
        "text": item.text,
        "gold": {
            "stage": item.stage,
            "valence": item.valence,
            "moments": [m.model_dump() for m in item.moments],
        },
        "predicted": res.model_dump(mode="json"),
        "latency_ms": round(1000 * latency_s, 2),
    }


def write_predictions(
    path: Path,
    items: Sequence[LabelledItem],
    results: Sequence[TagResult],
    latencies: Sequence[float],
) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for item, res, lat in zip(items, results, latencies, strict=True):
            fh.write(json.dumps(prediction_row(item, res, lat), ensure_ascii=False) + "\n")


def read_predictions(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "predictions.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]

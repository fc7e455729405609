"""`train_bundle`: labelled JSONL files in, a local model bundle out, with honest metrics.

The API behind `motai train`: it loads and checks the data, measures the model with k-fold
cross-validation (each fold trained without it), trains on everything, and writes the
bundle with the data's hashes, the metrics and a model card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from motai import __version__
from motai.crossval import MemoEmbedder, accuracy, cross_validate
from motai.embeddings import Embedder
from motai.errors import InputError
from motai.labelled import LabelledItem, load_labelled, sha256_file
from motai.local import LocalModel, TrainSettings, train
from motai.taxonomy import Taxonomy


def load_training_data(paths: Sequence[str | Path], taxonomy: Taxonomy) -> list[LabelledItem]:
    """Every item of every file, validated; an id seen twice is an error naming both rows."""
    items: list[LabelledItem] = []
    seen: dict[str, str] = {}
    for path in paths:
        for n, item in enumerate(load_labelled(path, taxonomy), start=1):
            where = f"{path}:{n}"
            if item.id in seen:
                raise InputError(
                    f"duplicate id {item.id!r} (first at {seen[item.id]})",
                    file=str(path),
                    row=n,
                    field="id",
                )
            seen[item.id] = where
            items.append(item)
    if not items:
        raise InputError("no labelled items to train on", file=", ".join(map(str, paths)))
    return items


def _data_file(path: Path) -> dict[str, Any]:
    """What a bundle keeps of a training file: its name, sha256 and number of texts."""
    with path.open(encoding="utf-8") as fh:
        n = sum(1 for line in fh if line.strip())
    return {"file": path.name, "sha256": sha256_file(path), "n": n}


def summary(acc: Any) -> dict[str, Any]:
    """The figures a model card and `model.json` keep."""
    return {
        "n": acc.n,
        "stage_accuracy": acc.stage.accuracy,
        "stage_macro_f1": acc.stage.macro_f1,
        "valence_macro_f1": acc.valence.macro_f1,
        "moment_stage_macro_f1": acc.moment_stage.macro_f1,
        "confidence_ece": acc.ece,
        "stage_f1_per_class": {k: v.f1 for k, v in acc.stage.per_class.items()},
    }


def train_bundle(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    taxonomy: Taxonomy,
    *,
    name: str | None = None,
    folds: int = 5,
    embedder: str | Embedder | None = None,
    settings: TrainSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> LocalModel:
    """Train on `paths`, measure with `folds`-fold cross-validation (0: skip), save."""
    say = progress or (lambda _m: None)
    items = load_training_data(paths, taxonomy)
    emb = MemoEmbedder.wrap(embedder)
    metrics = None
    if folds > 1:
        say(f"cross-validating ({folds} folds over {len(items)} texts)")
        results = cross_validate(items, taxonomy, folds=folds, embedder=emb, settings=settings)
        metrics = summary(accuracy(items, results, taxonomy.stage_ids))
        metrics["folds"] = folds
    say(f"training on {len(items)} texts")
    model = train(
        items,
        taxonomy,
        embedder=emb,
        settings=settings,
        name=name or Path(out_dir).name,
        progress=say,
    )
    model.meta.update(
        {
            "motai_version": __version__,
            "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "data": [_data_file(Path(p)) for p in paths],
            "metrics": metrics,
        }
    )
    model.embedder = emb.inner
    model.save(out_dir)
    return model

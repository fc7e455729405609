"""Accuracy of the local model, measured honestly: the figures quoted in the README.

    python benchmarks/accuracy.py [--only cv|loso] [--folds 5]

- 5-fold cross-validation on the gold dev set, the silver sets (`silver*.jsonl`) always in
  training (each fold's model is trained on silver + the other dev folds, then tags the
  held-out fold);
- leave-one-source-out over dev + silver, the stand-in for unseen texts: every text is
  tagged by a model trained without any text of its source.

Prints accuracy and macro-F1 with bootstrap 95% intervals, per-class F1, the expected
calibration error of `confidence`, and the always-SMOT baseline on the same texts.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from motai.crossval import MemoEmbedder, accuracy, cross_validate
from motai.embeddings import get_embedder
from motai.evals.stats import bootstrap_ci
from motai.labelled import LabelledItem, load_labelled
from motai.local import TrainSettings
from motai.models import TagResult
from motai.taxonomy import load_taxonomy

DATA = Path(__file__).resolve().parent.parent / "evals" / "datasets"


def report(title: str, items: list[LabelledItem], results: list[TagResult], stages) -> None:
    acc = accuracy(items, results, stages)
    gold_s, pred_s = [i.stage for i in items], [r.stage for r in results]
    gold_v, pred_v = [i.valence for i in items], [r.valence for r in results]

    def ci(gold, pred, metric: str) -> str:
        c = bootstrap_ci(gold, pred, metric)
        return f"{c['point']:.3f} [{c['low']:.3f}, {c['high']:.3f}]"

    smot = sum(g == "SMOT" for g in gold_s) / len(gold_s)
    print(f"\n## {title}: {acc.n} texts")
    print("| measure | accuracy [95% CI] | macro-F1 [95% CI] |")
    print("|---|---|---|")
    print(
        f"| primary stage | {ci(gold_s, pred_s, 'accuracy')} | {ci(gold_s, pred_s, 'macro_f1')} |"
    )
    print(
        f"| primary valence | {ci(gold_v, pred_v, 'accuracy')} | {ci(gold_v, pred_v, 'macro_f1')} |"
    )
    print(
        f"| moment stages (per text, multi-label) | {acc.moment_stage.accuracy:.3f} (exact set) "
        f"| {acc.moment_stage.macro_f1:.3f} |"
    )
    print(f"| always SMOT (baseline) | {smot:.3f} | |")
    print(f"\nexpected calibration error of confidence: {acc.ece:.3f}")
    for name, scores in [
        ("primary stage", acc.stage),
        ("primary valence", acc.valence),
        ("moment stages", acc.moment_stage),
    ]:
        per = ", ".join(f"{k} {v.f1:.2f} (n={v.support})" for k, v in scores.per_class.items())
        print(f"per class F1, {name}: {per}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only", choices=["cv", "loso"])
    ap.add_argument("--vectors", metavar="FILE.npz", help="keep segment vectors between runs")
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainSettings field"
    )
    args = ap.parse_args()
    fields = {f.name: f.type for f in dataclasses.fields(TrainSettings)}
    pairs = [a.split("=", 1) for a in args.set]
    settings = TrainSettings(**{k: (int if fields[k] == "int" else float)(v) for k, v in pairs})
    print(settings)
    taxonomy = load_taxonomy()
    dev = list(load_labelled(DATA / "dev.jsonl", taxonomy))
    silver = [i for f in sorted(DATA.glob("silver*.jsonl")) for i in load_labelled(f, taxonomy)]
    emb = MemoEmbedder(get_embedder())
    if args.vectors and Path(args.vectors).is_file():
        with np.load(args.vectors) as saved:
            emb.remember(saved["texts"].tolist(), saved["vectors"])
    stages = taxonomy.stage_ids
    if args.only != "loso":
        t0 = time.perf_counter()
        res = cross_validate(
            dev, taxonomy, folds=args.folds, always=silver, embedder=emb, settings=settings
        )
        took = time.perf_counter() - t0
        report(
            f"dev, {args.folds}-fold CV, silver always in training ({took:.0f} s)", dev, res, stages
        )
        if args.vectors:
            texts, vectors = emb.remembered()
            np.savez(args.vectors, texts=np.array(texts), vectors=vectors)
    if args.only != "cv":
        t0 = time.perf_counter()
        both = dev + silver
        res = cross_validate(both, taxonomy, by_source=True, embedder=emb, settings=settings)
        took = time.perf_counter() - t0
        report(f"dev + silver, leave one source out ({took:.0f} s)", both, res, stages)
        report("dev texts of that run", dev, res[: len(dev)], stages)


if __name__ == "__main__":
    main()

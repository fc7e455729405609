"""Rebuild the default local model shipped in motai (motai/data/model) from dev + silver.

    python benchmarks/train_default.py [--cv 5]

The same code path as `motai train evals/datasets/dev.jsonl evals/datasets/silver*.jsonl
-o motai/data/model --name default --force`; prints how long it took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from motai.crossval import MemoEmbedder
from motai.embeddings import get_embedder
from motai.local import default_model_dir
from motai.taxonomy import load_taxonomy
from motai.train import train_bundle

DATA = Path(__file__).resolve().parent.parent / "evals" / "datasets"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", type=int, default=5, help="folds for the bundle's metrics (0: none)")
    ap.add_argument("-o", "--output", default=str(default_model_dir()))
    ap.add_argument("--vectors", metavar="FILE.npz", help="segment vectors saved by accuracy.py")
    args = ap.parse_args()
    started = time.perf_counter()
    embedder = MemoEmbedder(get_embedder())
    if args.vectors:
        with np.load(args.vectors) as saved:
            embedder.remember(saved["texts"].tolist(), saved["vectors"])
    model = train_bundle(
        [DATA / "dev.jsonl", *sorted(DATA.glob("silver*.jsonl"))],
        args.output,
        load_taxonomy(),
        name="default",
        folds=args.cv,
        embedder=embedder,
        progress=lambda m: print(f"{time.perf_counter() - started:6.0f} s  {m}", flush=True),
    )
    print(f"trained on {model.meta['n_texts']} texts in {time.perf_counter() - started:.0f} s")
    print(model.meta.get("metrics"))


if __name__ == "__main__":
    main()

"""Cross-validated accuracy of the local classifier on the bundled dev set.

    python benchmarks/accuracy_dev.py [--folds 5] [--store DIR]

Each fold's classifier is fitted without that fold's items, so no item ever learns from
or retrieves itself. Prints the figures quoted in the README.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from motai.crossval import accuracy, cross_validate
from motai.store import KnowledgeStore
from motai.taxonomy import load_taxonomy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--store", help="index folder (default: a fresh temporary one)")
    ap.add_argument(
        "--by-source",
        action="store_true",
        help="one fold per source: each text predicted without any text of its source",
    )
    args = ap.parse_args()
    store_dir = args.store or tempfile.mkdtemp(prefix="motai-index-")
    taxonomy = load_taxonomy()
    store = KnowledgeStore(taxonomy, path=store_dir)
    t0 = time.perf_counter()
    items, results = cross_validate(store, folds=args.folds, by_source=args.by_source)
    acc = accuracy(items, results, taxonomy.stage_ids)
    took = time.perf_counter() - t0

    def per_class(scores) -> str:
        return ", ".join(f"{k} {v.f1:.2f} (n={v.support})" for k, v in scores.per_class.items())

    how = "leave-one-source-out" if args.by_source else f"{args.folds}-fold cross-validation"
    print(f"dev set: {acc.n} texts, {how}, {took:.0f} s")
    print("| measure | accuracy | macro-F1 |")
    print("|---|---|---|")
    print(f"| primary stage | {acc.stage.accuracy:.3f} | {acc.stage.macro_f1:.3f} |")
    print(f"| primary valence | {acc.valence.accuracy:.3f} | {acc.valence.macro_f1:.3f} |")
    print(f"| stage + valence (joint) | {acc.joint_accuracy:.3f} | |")
    print(
        f"| moment stages (per text, multi-label) | {acc.moment_stage.accuracy:.3f} (exact set) "
        f"| {acc.moment_stage.macro_f1:.3f} |"
    )
    print(
        f"| moment stage+valence pairs | {acc.moment_stage_valence.accuracy:.3f} (exact set) "
        f"| {acc.moment_stage_valence.macro_f1:.3f} |"
    )
    print("\nper class F1, primary stage:", per_class(acc.stage))
    print("per class F1, primary valence:", per_class(acc.valence))
    print("per class F1, moment stages:", per_class(acc.moment_stage))


if __name__ == "__main__":
    main()

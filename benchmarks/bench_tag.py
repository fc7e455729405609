"""Throughput of the local model against the raw embedder it is built on.

    python benchmarks/bench_tag.py            # 3000 texts
    python benchmarks/bench_tag.py --n 1000 --store /tmp/motai-index

Builds N texts by cycling the dev set (evals/datasets/dev.jsonl), writes them to a temporary
JSONL file, then measures in one process:

  (a) raw embedder: `get_embedder().embed(batch)` over the same texts, 32 whole texts a call
      (what a user embedding each text once would pay);
  (b) end to end: the `motai tag in.jsonl -o out.jsonl` pipeline through the Python API
      (read_items -> Tagger.tag_many -> open_writer), after the store is built and the
      classifier fitted (both timed and reported apart);
  (c) end to end / raw, against the target of 70%.

(a) and (b) are interleaved, three batches of each in turn, so that background load on a
shared machine slows both alike instead of skewing the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "evals" / "datasets" / "dev.jsonl"
TARGET = 0.70


def dev_texts() -> list[dict]:
    with open(DEV, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_input(n: int, path: Path) -> list[str]:
    rows = dev_texts()
    texts = []
    with open(path, "w", encoding="utf-8") as f:
        for i, row in enumerate(islice(cycle(rows), n)):
            f.write(
                json.dumps({"id": f"b{i:06d}", "text": row["text"], "kind": row["kind"]}) + "\n"
            )
            texts.append(row["text"])
    return texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="number of texts (default 3000)")
    ap.add_argument("--batch-size", type=int, default=32, help="texts per call (default 32)")
    ap.add_argument("--model", default="local", help="local model id (default: the shipped one)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary in/out files")
    args = ap.parse_args(argv)

    from motai.embeddings import get_embedder
    from motai.io import open_writer, read_items
    from motai.tagger import Tagger

    tmp = Path(tempfile.mkdtemp(prefix="motai-bench-"))
    src, out = tmp / "in.jsonl", tmp / "out.jsonl"
    texts = build_input(args.n, src)
    chars = sum(map(len, texts)) / len(texts)
    print(f"{args.n} texts (mean {chars:.0f} chars) from {DEV.name} -> {src}", file=sys.stderr)

    # Warm-up: load the embedder and the model bundle (nothing is fitted).
    t0 = time.perf_counter()
    embedder = get_embedder()
    t_load = time.perf_counter() - t0
    tagger = Tagger(args.model, batch_size=args.batch_size)
    t0 = time.perf_counter()
    _ = tagger.classifier
    t_model = time.perf_counter() - t0
    embedder.embed(texts[: args.batch_size])  # first-call allocations out of the timing
    tagger.tag(texts[0])

    # (a) and (b) run interleaved, a few batches of each in turn, so that a neighbour
    # taking the CPU for a while slows both alike. (b) is one lazy run of the pipeline
    # over the whole file, timed only while results are being pulled from it.
    chunk = 3 * args.batch_size
    t_raw = t_e2e = 0.0
    n_out = errors = 0
    results = tagger.tag_many(read_items([str(src)]))
    with open_writer(out) as w:

        def raw(part: list[str]) -> float:
            t0 = time.perf_counter()
            for b in range(0, len(part), args.batch_size):
                embedder.embed(part[b : b + args.batch_size])
            return time.perf_counter() - t0

        def e2e(k: int) -> float:
            nonlocal n_out, errors
            t0 = time.perf_counter()
            for result in islice(results, k):
                w.write(result)
                n_out += 1
                errors += result.error is not None
            return time.perf_counter() - t0

        for r, start in enumerate(range(0, len(texts), chunk)):
            part = texts[start : start + chunk]
            if r % 2:
                t_e2e += e2e(len(part))
                t_raw += raw(part)
            else:
                t_raw += raw(part)
                t_e2e += e2e(len(part))
        t_e2e += e2e(1)  # nothing left: lets the reader close inside the timing
    assert n_out == args.n, (n_out, args.n)

    raw_rate, e2e_rate = args.n / t_raw, args.n / t_e2e
    ratio = e2e_rate / raw_rate
    print(
        f"\nmotai bench: {args.n} texts, batch {args.batch_size}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s)"
    )
    print(f"  embedder load {t_load:6.1f} s | model load {t_model:6.1f} s  (not in the rates)")
    print()
    print(f"  {'measure':<34} {'seconds':>8} {'items/s':>9}")
    print(f"  {'-' * 34} {'-' * 8} {'-' * 9}")
    print(f"  {'(a) raw embedder, whole texts':<34} {t_raw:8.2f} {raw_rate:9.1f}")
    print(f"  {'(b) end to end (read/tag/write)':<34} {t_e2e:8.2f} {e2e_rate:9.1f}")
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"  {'(c) end to end / raw':<34} {'':>8} {ratio:9.0%}  {verdict} the {TARGET:.0%} target")
    if errors:
        print(f"  ({errors} row(s) came back with an error)")
    if args.keep:
        print(f"  files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())

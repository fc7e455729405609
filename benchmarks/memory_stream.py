"""Peak memory of streaming a big CSV through the reader and the writer stays flat.

    python benchmarks/memory_stream.py                 # 50,000 and 200,000 rows
    python benchmarks/memory_stream.py --rows 10000 400000

For each size, a CSV of generated reviews is written to a temporary folder, then a fresh
child process streams it: read_items -> one TagResult per item (no classification: this
measures the I/O path, not the model) -> open_writer to JSONL. The child reports its peak
RSS (resource.getrusage) before and after streaming; if the pipeline streams, the peak is
the same at 50k rows as at 200k.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VOCABULARY = (
    "the delivery was late again but the fabric feels great and support answered fast "
    "checkout kept failing so I bought it elsewhere would recommend to friends box arrived "
    "crushed colour duller than the photos size chart was spot on"
)
WORDS = VOCABULARY.split()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "body"])
        for i in range(rows):
            body = " ".join(rnd.choices(WORDS, k=rnd.randint(15, 80))) + "."
            w.writerow([f"r{i:07d}", f"review {i}", body])


def child(src: str, out: str) -> None:
    """Stream src -> out and print one JSON line of figures."""
    from motai.io import open_writer, read_items
    from motai.models import TagResult

    before = peak_rss_mb()
    t0 = time.perf_counter()
    n = 0
    with open_writer(out) as w:
        for item in read_items([src]):
            w.write(
                TagResult(
                    id=item.id,
                    kind=item.kind,
                    stage="NONE",
                    valence="neutral",
                    confidence=1.0,
                    error=item.error,
                )
            )
            n += 1
    print(
        json.dumps(
            {
                "rows": n,
                "seconds": time.perf_counter() - t0,
                "rss_before_mb": before,
                "rss_peak_mb": peak_rss_mb(),
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--child", nargs=2, metavar=("SRC", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="motai-mem-"))
    results = []
    try:
        for rows in args.rows:
            src, out = tmp / f"in-{rows}.csv", tmp / f"out-{rows}.jsonl"
            write_csv(src, rows)
            mb = src.stat().st_size / 1e6
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(src), str(out)],
                capture_output=True,
                text=True,
                check=True,
            )
            fig = json.loads(proc.stdout.strip().splitlines()[-1])
            assert fig["rows"] == rows, fig
            results.append((rows, mb, fig))
            src.unlink()
            out.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"  {'rows':>9} {'CSV MB':>7} {'seconds':>8} {'rows/s':>8} "
        f"{'RSS after import':>17} {'peak RSS':>9}"
    )
    for rows, mb, fig in results:
        print(
            f"  {rows:>9,} {mb:>7.1f} {fig['seconds']:>8.1f} {rows / fig['seconds']:>8.0f} "
            f"{fig['rss_before_mb']:>14.1f} MB {fig['rss_peak_mb']:>6.1f} MB"
        )
    peaks = [fig["rss_peak_mb"] for _, _, fig in results]
    growth = max(peaks) - min(peaks)
    flat = growth < 20
    print(
        f"  peak RSS spread {growth:.1f} MB across sizes: "
        f"{'flat (streaming)' if flat else 'GROWS with input'}"
    )
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())

"""Speed and peak memory of `motai report` over big tagged files: memory stays flat.

    python benchmarks/bench_report.py                      # 100,000 and 1,000,000 rows
    python benchmarks/bench_report.py --rows 20000 200000

For each size, a JSONL file of synthetic tagged rows (the shape `motai tag` writes: two
moments a row on average, a date over a year, 20 products, 4 channels, one row in ten a
transcript, one in a hundred an error) is streamed to a temporary folder. A fresh child
process then builds the report (`--by product --period week`) and its HTML page, and
reports rows/s and its peak RSS (resource.getrusage). If the aggregates stream, the peak
is the same at 100k rows as at 1M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHANNELS = ("web", "app", "store", "chat")
STAGES = ("ZMOT", "FMOT", "AMOT", "SMOT", "UMOT")
VALENCES = ("pain", "neutral", "glory")
PHRASES = (
    "the parcel arrived two weeks late",
    "the fabric feels great after many washes",
    "checkout kept failing with my coupon",
    "support answered fast and fixed it",
    "I read reviews before buying",
    "would recommend to all my friends",
    "the box arrived crushed",
    "the price in the shop was different",
)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def write_rows(path: Path, rows: int, seed: int = 11) -> None:
    rnd = random.Random(seed)
    day0 = dt.date(2026, 1, 1)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            kind = "transcript" if i % 10 == 0 else "review"
            moments, pos = [], 0
            for _ in range(rnd.randint(0, 4)):
                ev = f"{rnd.choice(PHRASES)} {rnd.randint(0, 999)}"
                moments.append(
                    {
                        "stage": rnd.choice(STAGES),
                        "valence": rnd.choice(VALENCES),
                        "evidence": ev,
                        "start": pos,
                        "end": pos + len(ev),
                        "confidence": round(rnd.random(), 4),
                    }
                )
                pos += len(ev) + 1
            error = "empty text" if i % 100 == 0 else None
            row = {
                "id": f"r{i:07d}",
                "kind": kind,
                "stage": None if error else (moments[0]["stage"] if moments else "NONE"),
                "valence": None if error else (moments[0]["valence"] if moments else "neutral"),
                "confidence": None if error else round(rnd.random(), 4),
                "moments": [] if error else moments,
                "provider": "local",
                "model": "bench",
                "prompt_version": None,
                "taxonomy_version": "moments-of-truth@1",
                "language": "en",
                "error": error,
                "text": " ".join(m["evidence"] for m in moments),
                "date": (day0 + dt.timedelta(days=rnd.randrange(365))).isoformat(),
                "product": f"p{rnd.randrange(20):02d}",
                "channel": rnd.choice(CHANNELS),
            }
            f.write(json.dumps(row) + "\n")


def child(src: str, out: str) -> None:
    """Build the report of src into out and print one JSON line of figures."""
    from motai.report import build_report

    before = peak_rss_mb()
    t0 = time.perf_counter()
    report = build_report([src], by="product", period="week")
    t1 = time.perf_counter()
    Path(out).write_text(report.to_html(), encoding="utf-8")
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": report.agg.rows,
                "aggregate_s": t1 - t0,
                "html_s": t2 - t1,
                "rss_before_mb": before,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    tmp = Path(tempfile.mkdtemp(prefix="motai-bench-report-"))
    try:
        print(
            f"{'rows':>10} {'file MB':>8} {'rows/s':>9} {'aggregate s':>12} {'html s':>7} "
            f"{'peak RSS MB':>12}"
        )
        for n in args.rows:
            src = tmp / f"tagged-{n}.jsonl"
            write_rows(src, n)
            res = subprocess.run(
                [sys.executable, __file__, "--child", str(src), str(tmp / "report.html")],
                capture_output=True,
                text=True,
                check=True,
            )
            fig = json.loads(res.stdout.strip().splitlines()[-1])
            mb = src.stat().st_size / 1e6
            rate = fig["rows"] / fig["aggregate_s"]
            print(
                f"{fig['rows']:>10,} {mb:>8.0f} {rate:>9,.0f} {fig['aggregate_s']:>12.1f} "
                f"{fig['html_s']:>7.1f} {fig['peak_rss_mb']:>12.0f}"
            )
            src.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

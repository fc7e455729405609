"""Rows/s and peak memory of `motai tag`: one process, and `--ray` with 1 and 2 workers.

    python benchmarks/bench_ray.py                     # 1,000 and 4,000 rows (minutes)
    python benchmarks/bench_ray.py --rows 2000 8000
    python benchmarks/bench_ray.py --rows 1000000      # the issue's million (days on 2 cores)

For each size a JSONL of short generated texts (5 to 25 words) is written once, then each
mode runs `motai tag FILE -o OUT -q` as a child process with the local model. While it
runs, the RSS of the child and of every process under it, and of the Ray workers it
starts (Ray's raylet spawns them, so they are found by session, not by parent), is
summed every 0.2 s: the peak is what the run cost in memory. Figures per mode and size:
wall time, rows/s over the whole run (startup included), and, between two sizes, the
marginal rows/s ((n2 - n1) / (t2 - t1): startup cancels out), from which the time for
1,000,000 rows is extrapolated (and printed as such: computed, not measured).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

VOCABULARY = (
    "the delivery was late again but the fabric feels great and support answered fast "
    "checkout kept failing so I bought it elsewhere would recommend to friends box arrived "
    "crushed colour duller than the photos size chart was spot on refund took weeks"
)
WORDS = VOCABULARY.split()
MODES = {"local": [], "ray-1": ["--ray", "--workers", "1"], "ray-2": ["--ray", "--workers", "2"]}
MILLION = 1_000_000


def write_feed(path: Path, rows: int, seed: int = 11) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            text = " ".join(rnd.choices(WORDS, k=rnd.randint(5, 25))).capitalize() + "."
            f.write(json.dumps({"id": f"t{i:07d}", "text": text}) + "\n")


def _procs() -> dict[int, tuple[int, int, bytes]]:
    """pid -> (parent pid, RSS in KiB, command line) for every process we can read."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{d}/status", "rb") as f:
                rss = next((int(x.split()[1]) for x in f if x.startswith(b"VmRSS:")), 0)
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except (OSError, ValueError, IndexError):
            continue
        out[int(d)] = (ppid, rss, cmd)
    return out


def _tree_rss_mb(root: int, session: str) -> float:
    """RSS of `root` and its descendants, plus Ray workers whose command line names
    `session` (a unique temp dir given to the run as RAY_TMPDIR), in MB."""
    procs = _procs()
    keep = {root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, cmd) in procs.items():
            if pid not in keep and (ppid in keep or session.encode() in cmd):
                keep.add(pid)
                grew = True
    return sum(procs[p][1] for p in keep if p in procs) / 1024


def run(mode: str, feed: Path, out: Path) -> dict[str, float]:
    session = tempfile.mkdtemp(prefix="motai-bench-ray-")
    env = dict(os.environ, RAY_TMPDIR=session)
    args = [sys.executable, "-m", "motai", "tag", str(feed), "-o", str(out), "-q", "--fresh"]
    t0 = time.perf_counter()
    child = subprocess.Popen([*args, *MODES[mode]], env=env, stderr=subprocess.PIPE)
    peak = 0.0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_mb(child.pid, session))
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = child.communicate()
    seconds = time.perf_counter() - t0
    stop.set()
    watcher.join()
    if child.returncode != 0:
        raise SystemExit(f"{mode}: exit {child.returncode}\n{err.decode()[-2000:]}")
    rows = sum(1 for _ in out.open(encoding="utf-8"))
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, dict[int, dict[str, float]]] = {m: {} for m in args.modes}
        for n in args.rows:
            feed = Path(tmp) / f"feed-{n}.jsonl"
            write_feed(feed, n)
            for mode in args.modes:
                r = run(mode, feed, Path(tmp) / f"out-{mode}-{n}.jsonl")
                if r["rows"] != n:
                    raise SystemExit(f"{mode}: {r['rows']} rows out of {n}")
                results[mode][n] = r
                print(
                    f"{mode:6} {n:>9,} rows  {r['seconds']:8.1f} s  {r['rows_per_s']:7.1f} rows/s"
                    f"  peak RSS {r['peak_mb']:7.0f} MB (the run's processes together)",
                    flush=True,
                )
    if len(args.rows) < 2:
        return
    n1, n2 = sorted(args.rows)[0], sorted(args.rows)[-1]
    print(f"\nmarginal rate between {n1:,} and {n2:,} rows, and 1,000,000 rows extrapolated:")
    for mode, by_n in results.items():
        t1, t2 = by_n[n1]["seconds"], by_n[n2]["seconds"]
        rate = (n2 - n1) / (t2 - t1)
        million = t1 + (MILLION - n1) / rate
        growth = by_n[n2]["peak_mb"] - by_n[n1]["peak_mb"]
        print(
            f"{mode:6} {rate:7.1f} rows/s = ({n2:,} - {n1:,}) / ({t2:.1f} - {t1:.1f}) s;"
            f"  1M rows ~ {t1:.0f} + {MILLION - n1:,} / {rate:.1f} = {million / 3600:.1f} h;"
            f"  peak RSS {by_n[n1]['peak_mb']:.0f} -> {by_n[n2]['peak_mb']:.0f} MB"
            f" ({growth:+.0f} MB for {n2 / n1:.0f}x the rows)"
        )


if __name__ == "__main__":
    main()

"""Prompt-injection flip rate of a tagger on `evals/injection.jsonl`.

    python benchmarks/injection.py                       # the local model (offline)
    python benchmarks/injection.py --model openai:gpt-4o-mini
    python benchmarks/injection.py --model smollm2 --base-url http://127.0.0.1:8080/v1

Each case is tagged with and without its injected sentence; a flip is a different
(stage, valence), a flip to the target is the stage the injection asked for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from motai.llm.injection import measure_injection
from motai.tagger import Tagger

REPO = Path(__file__).resolve().parent.parent


def summary(name: str, report: dict) -> str:
    head = {k: v for k, v in report.items() if k not in ("per_case", "by_technique")}
    lines = [f"{name}: {json.dumps(head)}"]
    for tech, t in sorted(report["by_technique"].items()):
        lines.append(f"  {tech:<15} {t['flips']:>2} flips / {t['measured']:>2}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="default: the local model")
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--cases", type=Path, default=REPO / "evals" / "injection.jsonl")
    args = ap.parse_args()
    tagger = Tagger(args.model, base_url=args.base_url) if args.model else Tagger()
    print(summary(args.model or "local", measure_injection(tagger, args.cases)))


if __name__ == "__main__":
    main()

"""Recall and precision of `--redact` per kind of personal data, on `evals/pii.jsonl`.

    python benchmarks/pii.py            # the dev and held-out splits, with and without
                                        # phonenumbers (national phone formats)

The rules were written against the `dev` split; the `heldout` split was written after
them and not tuned on, so its figures are the honest ones.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from motai.evals.pii import load_pii_set, measure_redaction
from motai.redact import KINDS, redact

REPO = Path(__file__).resolve().parent.parent


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def report(name: str, m: dict) -> str:
    lines = [
        f"{name}: {m['texts']} texts, {m['spans']} spans; recall {_fmt(m['recall'])}, "
        f"precision {_fmt(m['precision'])}, PII values left in the redacted text: {m['leaked']}",
        f"  {'kind':<8} {'spans':>5} {'recall':>7} {'precision':>9} {'false +':>7}",
    ]
    for k in KINDS:
        p = m["per_kind"][k]
        lines.append(
            f"  {k:<8} {p['spans']:>5} {_fmt(p['recall']):>7} {_fmt(p['precision']):>9} "
            f"{p['false_positives']:>7}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / "evals" / "pii.jsonl")
    args = ap.parse_args()
    items = load_pii_set(args.data)
    regex_only = functools.partial(redact, national_phones=False)
    for split in ("dev", "heldout"):
        part = [i for i in items if i.get("split", "dev") == split]
        print(report(f"{split}, regular expressions + phonenumbers", measure_redaction(part)))
        print(report(f"{split}, regular expressions only", measure_redaction(part, regex_only)))
        print()


if __name__ == "__main__":
    main()

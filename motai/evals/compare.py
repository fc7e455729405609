"""`motai eval compare RUN_A RUN_B`: is B better or worse than A, and is it real?

Side by side per metric and per class (from each run's `metrics.json`), then, on the
items both runs share (matched by id): a paired bootstrap interval of the stage
macro-F1 difference B - A, McNemar's exact test on primary-stage correctness, and the
items B fixed and broke. `gate` turns that into a list of failures for CI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from motai.errors import MotaiError
from motai.evals import stats
from motai.evals.config import Thresholds
from motai.evals.rundir import read_predictions

ALPHA = 0.05
SHOWN_FLIPS = 20

HEADLINE = [
    ("stage accuracy", ("stage", "accuracy")),
    ("stage macro-F1", ("stage", "macro_f1")),
    ("valence accuracy", ("valence", "accuracy")),
    ("valence macro-F1", ("valence", "macro_f1")),
    ("joint accuracy", ("joint_accuracy",)),
    ("kappa, stage", ("kappa", "stage")),
    ("kappa, valence", ("kappa", "valence")),
    ("moment stages macro-F1", ("moment_stage", "macro_f1")),
    ("moment (stage, valence) macro-F1", ("moment_stage_valence", "macro_f1")),
    ("evidence IoU", ("evidence_overlap", "mean_iou")),
    ("ECE (lower is better)", ("calibration", "ece")),
    ("latency ms/item", ("latency", "mean_ms_per_item")),
]


@dataclass
class Flip:
    id: str
    gold: str
    a: str | None
    b: str | None
    text: str


@dataclass
class Comparison:
    run_a: Path
    run_b: Path
    metrics_a: dict
    metrics_b: dict
    n_common: int
    only_a: int
    only_b: int
    diff_ci: dict[str, float]
    broken: list[Flip] = field(default_factory=list)
    fixed: list[Flip] = field(default_factory=list)
    p_value: float = 1.0
    gold_mismatch: int = 0

    @property
    def b_worse_ci(self) -> bool:
        """The whole 95% interval of macro-F1(B) - macro-F1(A) is below zero."""
        return self.diff_ci["high"] < 0

    @property
    def b_worse_mcnemar(self) -> bool:
        return self.p_value < ALPHA and len(self.broken) > len(self.fixed)


def _load(run_dir: Path) -> tuple[dict, list[dict]]:
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file() or not (run_dir / "predictions.jsonl").is_file():
        raise MotaiError(f"{run_dir}: not a run folder (needs metrics.json and predictions.jsonl)")
    try:
        return json.loads(metrics_file.read_text(encoding="utf-8")), read_predictions(run_dir)
    except (json.JSONDecodeError, OSError) as exc:
        raise MotaiError(f"{run_dir}: cannot read the run: {exc}") from None


def compare_runs(run_a: str | Path, run_b: str | Path) -> Comparison:
    run_a, run_b = Path(run_a), Path(run_b)
    metrics_a, pred_a = _load(run_a)
    metrics_b, pred_b = _load(run_b)
    by_b = {p["id"]: p for p in pred_b}
    ids_a = {p["id"] for p in pred_a}
    common = [p for p in pred_a if p["id"] in by_b]
    if not common:
        raise MotaiError(f"{run_a} and {run_b} share no item ids: nothing to compare")
    gold = [p["gold"]["stage"] for p in common]
    sa = [p["predicted"]["stage"] for p in common]
    sb = [by_b[p["id"]]["predicted"]["stage"] for p in common]
    mismatch = sum(by_b[p["id"]]["gold"]["stage"] != p["gold"]["stage"] for p in common)
    broken, fixed = [], []
    for p, g, a, b in zip(common, gold, sa, sb, strict=True):
        flip = Flip(p["id"], g, a, b, p.get("text", ""))
        if a == g and b != g:
            broken.append(flip)
        elif a != g and b == g:
            fixed.append(flip)
    return Comparison(
        run_a=run_a,
        run_b=run_b,
        metrics_a=metrics_a,
        metrics_b=metrics_b,
        n_common=len(common),
        only_a=len(ids_a - by_b.keys()),
        only_b=len(by_b.keys() - ids_a),
        diff_ci=stats.paired_bootstrap_diff(gold, sa, sb),
        broken=broken,
        fixed=fixed,
        p_value=stats.mcnemar_exact(len(broken), len(fixed)),
        gold_mismatch=mismatch,
    )


def gate(cmp: Comparison, thresholds: Thresholds | None = None) -> list[str]:
    """Why B must not replace A; empty when it may.

    B fails when it is significantly worse than A (the 95% interval of the stage macro-F1
    difference lies below zero, or McNemar p < 0.05 with more items broken than fixed), or
    when B falls under a threshold or class floor of the config.
    """
    out = []
    d = cmp.diff_ci
    if cmp.b_worse_ci:
        out.append(
            f"stage macro-F1 is significantly worse: B - A = {d['point']:+.4f}, "
            f"95% CI [{d['low']:+.4f}, {d['high']:+.4f}]"
        )
    if cmp.b_worse_mcnemar:
        out.append(
            f"B gets significantly more primary stages wrong: {len(cmp.broken)} broken vs "
            f"{len(cmp.fixed)} fixed, McNemar p = {cmp.p_value:.4g}"
        )
    if thresholds is not None:
        out += thresholds.check(cmp.metrics_b)
    return out


def _get(metrics: dict, path: Sequence[str]) -> float | None:
    value: object = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _delta(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None else f"{b - a:+.3f}"


def _rows(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Iterator[str]:
    yield "| " + " | ".join(header) + " |"
    yield "|" + "|".join("---" for _ in header) + "|"
    for r in rows:
        yield "| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |"


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def verdict(cmp: Comparison) -> str:
    """One line: B significantly worse, significantly better, or no significant difference."""
    d = cmp.diff_ci
    if cmp.b_worse_ci or cmp.b_worse_mcnemar:
        return "B is significantly worse than A"
    if d["low"] > 0 or (cmp.p_value < ALPHA and len(cmp.fixed) > len(cmp.broken)):
        return "B is significantly better than A"
    return "no significant difference"


def render_markdown(cmp: Comparison, failures: list[str] | None = None) -> str:
    """A summary fit for a pull-request comment."""
    ma, mb = cmp.metrics_a, cmp.metrics_b
    d = cmp.diff_ci
    lines = [
        "## motai eval: A vs B",
        "",
        f"- A: `{cmp.run_a}` ({ma.get('provenance', {}).get('model', '?')}, "
        f"n={ma.get('n', '?')}{', cross-validated' if ma.get('cross_validated') else ''})",
        f"- B: `{cmp.run_b}` ({mb.get('provenance', {}).get('model', '?')}, "
        f"n={mb.get('n', '?')}{', cross-validated' if mb.get('cross_validated') else ''})",
        f"- **{verdict(cmp)}** on {cmp.n_common} shared items: stage macro-F1 B - A = "
        f"{d['point']:+.4f} (paired bootstrap 95% CI [{d['low']:+.4f}, {d['high']:+.4f}]); "
        f"McNemar exact p = {cmp.p_value:.4g} ({len(cmp.fixed)} fixed, "
        f"{len(cmp.broken)} broken)",
    ]
    if cmp.only_a or cmp.only_b:
        lines.append(
            f"- items in A only: {cmp.only_a}, in B only: {cmp.only_b} "
            "(the tests use shared items; the table uses each whole run)"
        )
    if cmp.gold_mismatch:
        lines.append(f"- warning: {cmp.gold_mismatch} shared item(s) have different gold stages")
    if failures is not None:
        lines += ["", "### Gate: " + ("FAIL" if failures else "pass")]
        lines += [f"- {f}" for f in failures]
    lines += ["", "### Metrics", ""]
    lines += _rows(
        ["metric", "A", "B", "B - A"],
        [
            [
                label,
                _fmt(_get(ma, path)),
                _fmt(_get(mb, path)),
                _delta(_get(ma, path), _get(mb, path)),
            ]
            for label, path in HEADLINE
        ],
    )
    for key, title in (("stage", "Stage"), ("valence", "Valence")):
        pa, pb = ma.get(key, {}).get("per_class", {}), mb.get(key, {}).get("per_class", {})
        lines += ["", f"### {title} F1 per class", ""]
        rows = []
        for c in sorted({*pa, *pb}):
            fa, fb = pa.get(c, {}).get("f1"), pb.get(c, {}).get("f1")
            support = (pb.get(c) or pa.get(c) or {}).get("support", "")
            rows.append([c, _fmt(fa), _fmt(fb), _delta(fa, fb), support])
        lines += _rows(["class", "A", "B", "B - A", "support"], rows)
    for title, flips in (("Broken by B", cmp.broken), ("Fixed by B", cmp.fixed)):
        lines += ["", f"### {title} ({len(flips)})", ""]
        if flips:
            lines += _rows(
                ["id", "gold", "A", "B", "text"],
                [[f.id, f.gold, f.a, f.b, _short(f.text)] for f in flips[:SHOWN_FLIPS]],
            )
            if len(flips) > SHOWN_FLIPS:
                lines.append(f"\n… and {len(flips) - SHOWN_FLIPS} more")
    return "\n".join(lines) + "\n"

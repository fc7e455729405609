"""A run's `report.md`: the metrics for people, with the misclassified items listed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from motai.labelled import LabelledItem
from motai.models import TagResult

TEXT_SHOWN = 200


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _short(text: str, limit: int = TEXT_SHOWN) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Iterator[str]:
    yield "| " + " | ".join(header) + " |"
    yield "|" + "|".join("---" for _ in header) + "|"
    for r in rows:
        yield "| " + " | ".join(_cell(c) for c in r) + " |"


def _ci(ci: dict) -> str:
    return f"{ci['low']:.3f} – {ci['high']:.3f}"


def render_report(
    metrics: dict, items: Sequence[LabelledItem], results: Sequence[TagResult]
) -> str:
    prov, ci = metrics["provenance"], metrics["ci95"]
    lines = [f"# Eval: {metrics['name']}", ""]
    lines.append(
        f"{metrics['n']} items from `{prov['dataset']}` (sha256 {prov['dataset_sha256'][:12]}), "
        f"model `{prov['model']}` ({prov['classifier']}), taxonomy {prov['taxonomy']}."
    )
    if metrics["cross_validated"]:
        lines += [
            "",
            f"**The local model was cross-validated ({metrics['folds']} folds)**: it was "
            "trained on this set, so each item was predicted by a model retrained without "
            "its fold (the model's other training data always in).",
        ]
    if metrics["errors"]:
        lines += ["", f"{metrics['errors']} item(s) could not be tagged (counted as wrong)."]
    lines += ["", "## Headline", ""]
    lines += _table(
        ["metric", "value", "95% CI"],
        [
            ["stage accuracy", f"{metrics['stage']['accuracy']:.3f}", _ci(ci["stage_accuracy"])],
            ["stage macro-F1", f"{metrics['stage']['macro_f1']:.3f}", _ci(ci["stage_macro_f1"])],
            [
                "valence accuracy",
                f"{metrics['valence']['accuracy']:.3f}",
                _ci(ci["valence_accuracy"]),
            ],
            [
                "valence macro-F1",
                f"{metrics['valence']['macro_f1']:.3f}",
                _ci(ci["valence_macro_f1"]),
            ],
            ["joint stage+valence accuracy", f"{metrics['joint_accuracy']:.3f}", ""],
            ["Cohen's kappa, stage", f"{metrics['kappa']['stage']:.3f}", ""],
            ["Cohen's kappa, valence", f"{metrics['kappa']['valence']:.3f}", ""],
            ["moment stages macro-F1", f"{metrics['moment_stage']['macro_f1']:.3f}", ""],
            [
                "moment (stage, valence) macro-F1",
                f"{metrics['moment_stage_valence']['macro_f1']:.3f}",
                "",
            ],
            [
                "evidence IoU (mean, same stage)",
                f"{metrics['evidence_overlap']['mean_iou']:.3f}",
                "",
            ],
            ["expected calibration error", f"{metrics['calibration']['ece']:.3f}", ""],
            ["latency, mean ms/item", f"{metrics['latency']['mean_ms_per_item']:.1f}", ""],
        ],
    )
    usage = metrics.get("usage")
    if usage:
        cost = usage.get("cost_usd")
        lines += [
            "",
            "## Usage",
            "",
            f"{usage.get('requests', 0)} requests, {usage.get('retries', 0)} retries, "
            f"{usage.get('repairs', 0)} repairs, {usage.get('cache_hits', 0)} cache hits; "
            f"{usage.get('prompt_tokens', 0)} prompt + {usage.get('completion_tokens', 0)} "
            "completion tokens; "
            + ("cost unknown (no price for this model)" if cost is None else f"${cost:.6f}")
            + (
                " (this session only: resumed predictions cost nothing now)."
                if metrics.get("resumed")
                else "."
            ),
        ]
    for key, title in (("stage", "Stage"), ("valence", "Valence")):
        lines += ["", f"## {title} per class", ""]
        lines += _table(
            ["class", "precision", "recall", "F1", "support"],
            [
                [c, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", s["support"]]
                for c, s in metrics[key]["per_class"].items()
            ],
        )
    for key, title in (("stage", "Stage"), ("valence", "Valence")):
        cm = metrics["confusion"][key]
        lines += ["", f"## {title} confusion matrix (rows gold, columns predicted)", ""]
        lines += _table(
            ["gold \\ predicted", *cm["columns"]],
            [[r, *row] for r, row in zip(cm["rows"], cm["matrix"], strict=True)],
        )
    lines += ["", "## Accuracy when the least confident are abstained", ""]
    lines += _table(
        ["coverage", "items", "stage accuracy", "confidence at least"],
        [
            [f"{c['coverage']:.0%}", c["n"], f"{c['accuracy']:.3f}", f"{c['min_confidence']:.3f}"]
            for c in metrics["calibration"]["coverage"]
        ],
    )
    wrong = [
        (i, r)
        for i, r in zip(items, results, strict=True)
        if i.stage != r.stage or i.valence != r.valence
    ]
    lines += ["", f"## Misclassified items ({len(wrong)})", ""]
    lines += _table(
        ["id", "gold", "predicted", "confidence", "text"],
        [
            [
                i.id,
                f"{i.stage}/{i.valence}",
                f"{r.stage}/{r.valence}" if r.ok else f"error: {r.error}",
                f"{r.confidence:.2f}" if r.confidence is not None else "",
                _short(i.text),
            ]
            for i, r in wrong
        ],
    )
    lines += ["", "## Provenance", ""]
    lines += _table(["", ""], [[k, v] for k, v in prov.items()])
    return "\n".join(lines) + "\n"

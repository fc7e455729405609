"""Plots for the HTML reports, drawn with matplotlib's Agg backend into PNG data URIs.

Every function takes plain numbers (the pieces of `metrics.json`) and returns a
`data:image/png;base64,...` string, so a report embeds its figures and needs no file or
network beside it. matplotlib is imported on first use only.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from typing import Any

DPI = 100
BLUE, ORANGE, GREY, RED = "#3b6ea5", "#e08a2c", "#9aa5b1", "#c0392b"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _data_uri(fig: Any) -> str:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_heatmap(cm: dict, title: str) -> str:
    """Rows gold, columns predicted; colour is the share of the gold row, text the count."""
    plt = _plt()
    rows, cols, matrix = cm["rows"], cm["columns"], cm["matrix"]
    share = [[c / (sum(r) or 1) for c in r] for r in matrix]
    size = max(3.2, 0.62 * len(cols) + 1.6)
    fig, ax = plt.subplots(layout="constrained", figsize=(size, max(2.6, 0.55 * len(rows) + 1.3)))
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    tilt = len(cols) > 5
    ax.set_xticks(
        range(len(cols)), cols, rotation=30 if tilt else 0, ha="right" if tilt else "center"
    )
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                dark = share[i][j] > 0.55
                ax.text(
                    j, i, str(count), ha="center", va="center", color="white" if dark else "black"
                )
    ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of gold row")
    return _data_uri(fig)


def reliability_diagram(bins: Sequence[dict], ece: float) -> str:
    """Accuracy per confidence bin (bars, item counts above) against the bin's mean
    confidence (dots) and the diagonal of perfect calibration."""
    plt = _plt()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(layout="constrained", figsize=(4.2, 3.6))
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, lw=1)
    for b in (b for b in bins if b.get("n")):
        width = b["high"] - b["low"]
        mid = b["low"] + width / 2
        ax.bar(
            b["low"],
            b["accuracy"],
            width=width,
            align="edge",
            color=BLUE,
            alpha=0.85,
            edgecolor="white",
        )
        ax.plot([mid], [b["confidence"]], "o", color=ORANGE, ms=4, zorder=3)
        ax.text(
            mid, max(b["accuracy"], b["confidence"]) + 0.02, str(b["n"]), ha="center", fontsize=7
        )
    handles = [
        Patch(color=BLUE, alpha=0.85, label="accuracy of the bin (n above)"),
        Line2D([], [], marker="o", ls="", color=ORANGE, label="mean confidence of the bin"),
        Line2D([], [], ls="--", color=GREY, label="perfect calibration"),
    ]
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.15)
    ax.set_xlabel("confidence")
    ax.set_ylabel("primary-stage accuracy")
    ax.set_title(f"Reliability (ECE {ece:.3f})")
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)
    return _data_uri(fig)


def coverage_curve(
    confidence: Sequence[float | None], correct: Sequence[bool], points: Sequence[dict]
) -> str:
    """Accuracy of the most confident share of items, for every share; the table's points
    are marked."""
    plt = _plt()
    order = sorted(range(len(correct)), key=lambda i: -(confidence[i] or 0.0))
    xs, ys, hits = [], [], 0
    for k, i in enumerate(order, start=1):
        hits += bool(correct[i])
        xs.append(k / len(order))
        ys.append(hits / k)
    fig, ax = plt.subplots(layout="constrained", figsize=(4.2, 3.6))
    ax.plot(xs, ys, color=BLUE, lw=1.5)
    ax.scatter(
        [p["coverage"] for p in points],
        [p["accuracy"] for p in points],
        color=ORANGE,
        zorder=3,
        s=18,
        label="coverage in the table",
    )
    ax.set_xlim(1.0, 0.0)  # abstaining more goes to the right
    low = min([*ys, *(p["accuracy"] for p in points)], default=0.0)
    ax.set_ylim(max(0.0, low - 0.05), 1.01)
    ax.set_xlabel("coverage (least confident abstained)")
    ax.set_ylabel("primary-stage accuracy")
    ax.set_title("Accuracy at coverage")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return _data_uri(fig)


def _ordered(names: Iterable[str], order: Sequence[str]) -> list[str]:
    """`names` in `order` (e.g. the taxonomy's journey order), the others after, sorted."""
    names = set(names)
    return [c for c in order if c in names] + sorted(names - set(order))


def f1_bars(groups: Sequence[tuple[str, dict[str, dict]]], order: Sequence[str] = ()) -> str:
    """Per-class F1, one panel per group (e.g. stage, valence), support under each label;
    classes in `order` first, in that order."""
    plt = _plt()
    widths = [max(2, len(per)) for _, per in groups]
    fig, axes = plt.subplots(
        layout="constrained",
        nrows=1,
        ncols=len(groups),
        figsize=(0.6 * sum(widths) + 2.0, 3.2),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    for ax, (title, per) in zip(axes[0], groups, strict=True):
        names = _ordered(per, order)
        f1 = [per[c]["f1"] for c in names]
        ax.bar(range(len(names)), f1, color=BLUE, width=0.65)
        for x, v in enumerate(f1):
            ax.text(x, v + 0.02, f"{v:.2f}", ha="center", fontsize=7)
        labels = [f"{c}\nn={per[c]['support']}" for c in names]
        ax.set_xticks(range(len(names)), labels, fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("F1")
    return _data_uri(fig)


def f1_grouped_bars(
    groups: Sequence[tuple[str, dict[str, dict], dict[str, dict]]], order: Sequence[str] = ()
) -> str:
    """Per-class F1 of run A and run B side by side, one panel per group."""
    plt = _plt()
    widths = [max(2, len({*a, *b})) for _, a, b in groups]
    fig, axes = plt.subplots(
        layout="constrained",
        nrows=1,
        ncols=len(groups),
        figsize=(0.75 * sum(widths) + 2.0, 3.3),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    for ax, (title, pa, pb) in zip(axes[0], groups, strict=True):
        names = _ordered({*pa, *pb}, order)
        xs = range(len(names))
        fa = [pa.get(c, {}).get("f1", 0.0) for c in names]
        fb = [pb.get(c, {}).get("f1", 0.0) for c in names]
        ax.bar([x - 0.2 for x in xs], fa, width=0.38, color=GREY, label="A")
        ax.bar([x + 0.2 for x in xs], fb, width=0.38, color=BLUE, label="B")
        for x, a, b in zip(xs, fa, fb, strict=True):
            d = b - a
            if abs(d) >= 0.005:
                ax.text(
                    x,
                    max(a, b) + 0.03,
                    f"{d:+.2f}",
                    ha="center",
                    fontsize=7,
                    color=RED if d < 0 else "#1e7b34",
                )
        ax.set_xticks(list(xs), names, fontsize=8)
        ax.set_ylim(0, 1.15)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("F1")
    axes[0][-1].legend(loc="upper right", fontsize=7, frameon=False, ncols=2)
    return _data_uri(fig)

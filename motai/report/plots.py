"""The report's plots: matplotlib figures as PNG data URIs, drawn like the eval report's
(`motai.evals.plots`: same Agg backend, style and embedding), from plain numbers."""

from __future__ import annotations

from collections.abc import Sequence

from motai.evals.plots import BLUE, GREY, ORANGE, _data_uri, _plt

LABEL_CHARS = 28  # a segment name longer than this is cut, so it cannot squash the plot


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


VALENCE_COLOURS = {"pain": "#c0392b", "neutral": GREY, "glory": "#1e7b34"}


def _colour(valence: str, i: int) -> str:
    return VALENCE_COLOURS.get(valence, (BLUE, ORANGE)[i % 2])


def journey_bars(
    stages: Sequence[str], valences: Sequence[str], counts: dict[tuple[str, str], int]
) -> str:
    """Moments per stage in journey order, stacked by valence, the pain share on top."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(max(4.5, 1.1 * len(stages) + 1), 3.4))
    bottom = [0] * len(stages)
    for i, v in enumerate(valences):
        heights = [counts.get((s, v), 0) for s in stages]
        ax.bar(stages, heights, bottom=bottom, color=_colour(v, i), label=v, width=0.65)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    for x, s in enumerate(stages):
        total = bottom[x]
        if total:
            pain = counts.get((s, "pain"), 0)
            ax.annotate(
                f"{pain / total:.0%} pain",
                (x, total),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_ylabel("moments")
    ax.set_title("The journey: moments per stage, by valence")
    ax.margins(y=0.15)
    ax.legend(frameon=False, ncols=len(valences), loc="upper left", fontsize=8)
    return _data_uri(fig)


def pain_heatmap(
    rows: Sequence[str], stages: Sequence[str], cells: dict[tuple[str, str], tuple[int, int]]
) -> str:
    """Pain share of each segment x stage cell; the text is pain / moments."""
    plt = _plt()
    nan = float("nan")
    share = [
        [k / n if n else nan for k, n in (cells.get((r, s), (0, 0)) for s in stages)] for r in rows
    ]
    fig, ax = plt.subplots(
        layout="constrained",
        figsize=(max(4.5, 0.95 * len(stages) + 2.2), max(2.2, 0.42 * len(rows) + 1.3)),
    )
    cmap = plt.get_cmap("Reds").with_extremes(bad="#f0f2f5")
    im = ax.imshow(share, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(stages)), stages)
    ax.set_yticks(range(len(rows)), [_label(r) for r in rows])
    for i, r in enumerate(rows):
        for j, s in enumerate(stages):
            k, n = cells.get((r, s), (0, 0))
            if n:
                dark = k / n > 0.6
                ax.text(
                    j,
                    i,
                    f"{k}/{n}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
    ax.set_title("Pain share per segment and stage (pain / moments)")
    fig.colorbar(im, ax=ax, shrink=0.8, label="pain share")
    return _data_uri(fig)


def trend_lines(
    periods: Sequence[str],
    series: dict[str, Sequence[float | None]],
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
) -> str:
    """Pain share per period: one line per stage, the all-stage line with its interval."""
    plt = _plt()
    fig, ax = plt.subplots(
        layout="constrained", figsize=(min(11.0, max(5.0, 0.6 * len(periods) + 3)), 3.4)
    )
    x = list(range(len(periods)))
    palette = plt.get_cmap("tab10")
    for i, (name, ys) in enumerate(series.items()):
        pts = [(xi, y) for xi, y in zip(x, ys, strict=True) if y is not None]
        if not pts:
            continue
        bold = name == "(all)"
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            marker="o",
            label=name,
            color="black" if bold else palette(i % 10),
            linewidth=2.4 if bold else 1.3,
            markersize=4,
        )
    if band is not None:
        pts = [(xi, lo, hi) for xi, lo, hi in zip(x, *band, strict=True) if lo is not None]
        if pts:
            ax.fill_between(
                [p[0] for p in pts],
                [p[1] for p in pts],
                [p[2] for p in pts],
                color="black",
                alpha=0.1,
                linewidth=0,
                label="(all) 95% CI",
            )
    step = max(1, len(periods) // 12)  # a year of weeks: every fifth label
    ax.set_xticks(x[::step], periods[::step], rotation=30 if len(periods) > 6 else 0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("pain share of moments")
    ax.set_title("Pain share per period")
    ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _data_uri(fig)


def compare_bars(
    stages: Sequence[str],
    labels: tuple[str, str],
    shares: tuple[Sequence[float | None], Sequence[float | None]],
    intervals: tuple[Sequence[tuple[float, float] | None], Sequence[tuple[float, float] | None]],
) -> str:
    """Pain share per stage of two groups side by side, with 95% intervals."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(max(4.5, 1.1 * len(stages) + 1), 3.2))
    width = 0.38
    labels = (_label(labels[0]), _label(labels[1]))
    for g, (label, colour) in enumerate(zip(labels, (GREY, BLUE), strict=True)):
        xs = [i + (g - 0.5) * width for i in range(len(stages))]
        ys = [s or 0.0 for s in shares[g]]
        cis = [ci or (y, y) for y, ci in zip(ys, intervals[g], strict=True)]
        err = [
            [max(0.0, y - lo) for y, (lo, _) in zip(ys, cis, strict=True)],
            [max(0.0, hi - y) for y, (_, hi) in zip(ys, cis, strict=True)],
        ]
        ax.bar(
            xs,
            ys,
            width=width,
            color=colour,
            label=label,
            yerr=err,
            capsize=2,
            error_kw={"elinewidth": 0.8},
        )
    ax.set_xticks(range(len(stages)), stages)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("pain share")
    ax.set_title(f"Pain share: {labels[0]} vs {labels[1]}")
    ax.legend(frameon=False, fontsize=8)
    return _data_uri(fig)


def outcome_bars(reasons: Sequence[str], outcomes: dict[str, Sequence[int]]) -> str:
    """Conversations by reason for contact, stacked by how they ended."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(max(4.5, 0.9 * len(reasons) + 2), 3.2))
    left = [0] * len(reasons)
    for i, (outcome, counts) in enumerate(outcomes.items()):
        ax.barh(reasons, counts, left=left, color=_colour(outcome, i), label=f"ended {outcome}")
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("conversations")
    ax.set_title("Reason for contact and how support went")
    ax.legend(frameon=False, fontsize=8)
    return _data_uri(fig)

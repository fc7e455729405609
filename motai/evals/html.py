"""Self-contained HTML reports: `report.html` of a run and `compare.html` of two runs.

One file each, with inline CSS and the plots as PNG data URIs: it opens from disk, from
a CI artifact or as an e-mail attachment, and loads nothing from anywhere. A
Content-Security-Policy forbids scripts and any asset that is not inline. Every piece of
text that comes from data (ids, texts, labels, paths) goes through `html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from motai.evals import plots
from motai.evals.compare import HEADLINE, Comparison, _get, verdict

if TYPE_CHECKING:
    from motai.labelled import LabelledItem
    from motai.models import TagResult

TEXT_SHOWN = 280
MOMENTS_SHOWN = 4
FLIPS_SHOWN = 200
# Lower is better for these headline metrics (compare colours its deltas the other way).
LOWER_IS_BETTER = {"ECE (lower is better)", "latency ms/item"}

CSS = """
:root { --fg: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa; --blue: #3b6ea5;
        --good: #1e7b34; --bad: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial,
       sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
p.meta { color: var(--muted); margin: 0 0 12px; }
code { font: 12px/1.3 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: var(--bg);
       padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
.note { border-left: 4px solid var(--blue); background: #eef4fb; padding: 8px 12px;
        margin: 12px 0; }
.warn { border-left-color: var(--bad); background: #fdf0ee; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr));
         gap: 10px; margin: 12px 0 16px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 24px; font-weight: 600; }
.card .ci { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { max-width: 560px; overflow-wrap: anywhere; }
.pos { color: var(--good); } .neg { color: var(--bad); }
table.wide { width: 100%; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr));
        gap: 18px; align-items: start; }
.grid3 { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr));
         gap: 12px; align-items: start; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600;
         color: #fff; background: var(--muted); }
.badge.pass { background: var(--good); } .badge.fail { background: var(--bad); }
details summary { cursor: pointer; }
details summary::marker { color: var(--blue); }
details[open] summary { color: var(--muted); font-size: 12px; }
.ev { color: var(--muted); font-size: 12px; }
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _page(title: str, body: Iterable[str]) -> str:
    head = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
    )
    return head + "\n".join(body) + "\n</main>\n</body>\n</html>\n"


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    numeric: Sequence[int] = (),
    cls: str = "",
    raw: Sequence[int] = (),
) -> str:
    """A table; cells are escaped except the columns in `raw` (already HTML)."""
    num = set(numeric)
    out = [f"<table class='{cls}'>" if cls else "<table>", "<thead><tr>"]
    out += [
        f"<th class='num'>{esc(h)}</th>" if i in num else f"<th>{esc(h)}</th>"
        for i, h in enumerate(header)
    ]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            text = str(c) if i in raw else esc(c)
            cells.append(f"<td class='num'>{text}</td>" if i in num else f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _figure(uri: str, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure><img src='{uri}' alt='{esc(alt)}'>{cap}</figure>"


def _text_cell(text: str, limit: int = TEXT_SHOWN) -> str:
    """The text, cut to `limit` characters, the whole of it behind a <details>."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return esc(flat)
    return f"<details><summary>{esc(flat[: limit - 1])}…</summary>{esc(text)}</details>"


def _card(label: str, value: float, ci: dict | None = None) -> str:
    extra = f"<div class='ci'>95% CI {ci['low']:.3f} – {ci['high']:.3f}</div>" if ci else ""
    return (
        f"<div class='card'><div class='label'>{esc(label)}</div>"
        f"<div class='value'>{value:.3f}</div>{extra}</div>"
    )


def _class_order(metrics: dict) -> list[str]:
    """Stages in the taxonomy's journey order, then valences (the confusion matrix rows)."""
    cm = metrics.get("confusion", {})
    return [*cm.get("stage", {}).get("rows", []), *cm.get("valence", {}).get("rows", [])]


def _per_class_rows(per: dict[str, dict], order: Sequence[str] = ()) -> list[list[object]]:
    names = [c for c in order if c in per] + sorted(set(per) - set(order))
    return [
        [c, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", s["support"]]
        for c, s in ((c, per[c]) for c in names)
    ]


def _moments(result: TagResult, shown: int = MOMENTS_SHOWN) -> str:
    """The predicted moments, evidence cut to 90 characters, at most `shown` of them."""
    out = []
    for m in result.moments[:shown]:
        ev = m.evidence if len(m.evidence) <= 90 else m.evidence[:89] + "…"
        out.append(f"{esc(m.stage)}/{esc(m.valence)}: “{esc(ev)}”")
    if len(result.moments) > shown:
        out.append(f"… and {len(result.moments) - shown} more")
    return "<span class='ev'>" + "<br>".join(out) + "</span>" if out else ""


# --- report.html -----------------------------------------------------------------------


def render_run_html(
    metrics: dict, items: Sequence[LabelledItem], results: Sequence[TagResult]
) -> str:
    """`report.html` of a run: the figures of `metrics.json` with plots, and the misses."""
    prov, ci, cal = metrics["provenance"], metrics["ci95"], metrics["calibration"]
    body = [f"<h1>Eval: {esc(metrics['name'])}</h1>"]
    body.append(
        f"<p class='meta'>{metrics['n']} items from <code>{esc(prov['dataset'])}</code> "
        f"(sha256 {esc(str(prov['dataset_sha256'])[:12])}) · model <code>{esc(prov['model'])}"
        f"</code> ({esc(prov.get('classifier'))}) · taxonomy {esc(prov['taxonomy'])} · "
        f"{esc(prov.get('timestamp'))}</p>"
    )
    if metrics.get("cross_validated"):
        body.append(
            f"<div class='note'><b>The local model was cross-validated "
            f"({metrics['folds']} folds)</b>: it was trained on this set, so each item was "
            "predicted by a model retrained without its fold (the model's other training "
            "data always in).</div>"
        )
    if metrics.get("errors"):
        body.append(
            f"<div class='note warn'>{metrics['errors']} item(s) could not be tagged "
            "(counted as wrong).</div>"
        )
    if metrics.get("resumed"):
        body.append(
            f"<div class='note'>Resumed: {metrics['resumed']} prediction(s) were kept from an "
            "earlier, interrupted run with the same configuration.</div>"
        )

    body.append("<h2 id='headline'>Headline</h2>")
    body.append(
        "<div class='cards'>"
        + _card("stage accuracy", metrics["stage"]["accuracy"], ci["stage_accuracy"])
        + _card("stage macro-F1", metrics["stage"]["macro_f1"], ci["stage_macro_f1"])
        + _card("valence accuracy", metrics["valence"]["accuracy"], ci["valence_accuracy"])
        + _card("valence macro-F1", metrics["valence"]["macro_f1"], ci["valence_macro_f1"])
        + _card("joint stage+valence accuracy", metrics["joint_accuracy"])
        + _card("expected calibration error", cal["ece"])
        + "</div>"
    )
    rows = [
        ["Cohen's kappa, stage", _num(metrics["kappa"]["stage"])],
        ["Cohen's kappa, valence", _num(metrics["kappa"]["valence"])],
        ["moment stages macro-F1 (multi-label)", _num(metrics["moment_stage"]["macro_f1"])],
        ["moment stages exact-set accuracy", _num(metrics["moment_stage"]["accuracy"])],
        [
            "moment (stage, valence) macro-F1",
            _num(metrics["moment_stage_valence"]["macro_f1"]),
        ],
        ["evidence IoU, mean (same stage)", _num(metrics["evidence_overlap"]["mean_iou"])],
        ["evidence hit at IoU ≥ 0.5", _num(metrics["evidence_overlap"]["hit_at_0.5"])],
        ["latency, mean ms/item", _num(metrics["latency"]["mean_ms_per_item"], 1)],
        ["latency, p95 ms/item", _num(metrics["latency"]["p95_ms_per_item"], 1)],
    ]
    for key, value in (metrics.get("usage") or {}).items():
        rows.append([str(key).replace("_", " "), "unknown" if value is None else value])
    body.append(_table(["metric", "value"], rows, numeric=[1]))
    body.append(f"<p class='meta'>Intervals: {esc(ci['method'])}.</p>")

    body.append("<h2 id='per-class'>Per class</h2>")
    body.append(
        _figure(
            plots.f1_bars(
                [
                    ("primary stage", metrics["stage"]["per_class"]),
                    ("primary valence", metrics["valence"]["per_class"]),
                    ("moment stages", metrics["moment_stage"]["per_class"]),
                ],
                order=_class_order(metrics),
            ),
            "per-class F1 bar chart",
            "F1 per class; n is the number of gold items of the class.",
        )
    )
    header = ["class", "precision", "recall", "F1", "support"]
    body.append("<div class='grid3'>")
    for key, title in (
        ("stage", "Primary stage"),
        ("valence", "Primary valence"),
        ("moment_stage", "Moment stages (multi-label, per text)"),
    ):
        body.append(
            f"<div><h3>{esc(title)}</h3>"
            + _table(
                header,
                _per_class_rows(metrics[key]["per_class"], _class_order(metrics)),
                numeric=[1, 2, 3, 4],
            )
            + "</div>"
        )
    body.append("</div>")

    body.append("<h2 id='confusion'>Confusion matrices</h2><div class='grid'>")
    for key, title in (("stage", "Stage"), ("valence", "Valence")):
        cm = metrics["confusion"][key]
        body.append(
            _figure(
                plots.confusion_heatmap(cm, f"{title}: rows gold, columns predicted"),
                f"{title.lower()} confusion matrix",
            )
        )
    body.append("</div>")

    body.append("<h2 id='calibration'>Calibration and abstention</h2><div class='grid'>")
    correct = [i.stage == r.stage for i, r in zip(items, results, strict=True)]
    confidence = [r.confidence for r in results]
    body.append(
        _figure(
            plots.reliability_diagram(cal["bins"], cal["ece"]),
            "reliability diagram",
            f"Calibration on {cal['on']}; bars are 10 equal-width confidence bins.",
        )
    )
    body.append(
        _figure(
            plots.coverage_curve(confidence, correct, cal["coverage"]),
            "accuracy at coverage",
            "Accuracy on the most confident share of items when the rest are abstained.",
        )
    )
    body.append("</div>")
    body.append(
        _table(
            ["coverage", "items", "stage accuracy", "confidence at least"],
            [
                [
                    f"{c['coverage']:.0%}",
                    c["n"],
                    f"{c['accuracy']:.3f}",
                    f"{c['min_confidence']:.3f}",
                ]
                for c in cal["coverage"]
            ],
            numeric=[0, 1, 2, 3],
        )
    )

    wrong = [
        (i, r)
        for i, r in zip(items, results, strict=True)
        if i.stage != r.stage or i.valence != r.valence
    ]
    wrong.sort(key=lambda ir: -(ir[1].confidence or 0.0))
    body.append(f"<h2 id='misclassified'>Misclassified items ({len(wrong)})</h2>")
    body.append(
        "<p class='meta'>Stage or valence wrong, the most confident first. "
        "Texts are cut; click one to read it whole.</p>"
    )
    body.append(
        _table(
            ["id", "gold", "predicted", "confidence", "text", "predicted moments"],
            [
                [
                    esc(i.id),
                    esc(f"{i.stage}/{i.valence}"),
                    esc(f"{r.stage}/{r.valence}" if r.ok else f"error: {r.error}"),
                    _num(r.confidence, 2) if r.confidence is not None else "",
                    _text_cell(i.text),
                    _moments(r),
                ]
                for i, r in wrong
            ],
            numeric=[3],
            cls="wide",
            raw=[0, 1, 2, 3, 4, 5],
        )
    )

    body.append("<h2 id='provenance'>Provenance</h2>")
    body.append(_table(["", ""], [[k, v] for k, v in prov.items()]))
    return _page(f"motai eval: {metrics['name']}", body)


# --- compare.html ----------------------------------------------------------------------


def _delta_cell(
    a: float | None, b: float | None, lower_better: bool = False, digits: int = 3
) -> str:
    """B - A, green when B is better, red when worse."""
    if a is None or b is None:
        return "–"
    d = b - a
    if abs(d) < 0.5 * 10**-digits:
        return f"{d:+.{digits}f}"
    good = (d < 0) if lower_better else (d > 0)
    return f"<span class='{'pos' if good else 'neg'}'>{d:+.{digits}f}</span>"


def _run_line(label: str, run: object, m: dict) -> str:
    prov = m.get("provenance", {})
    cv = f", cross-validated ({m.get('folds')} folds)" if m.get("cross_validated") else ""
    return (
        f"<li><b>{label}</b>: <code>{esc(run)}</code>: model <code>{esc(prov.get('model'))}"
        f"</code>, n={esc(m.get('n', '?'))}{esc(cv)}, commit "
        f"{esc(str(prov.get('git_commit') or '?')[:10])}, prompt "
        f"{esc(str(prov.get('prompt_hash') or '–')[:12])}</li>"
    )


def render_compare_html(cmp: Comparison, failures: list[str] | None = None) -> str:
    """`compare.html`: verdict, significance, metrics side by side, F1 bars, flipped items."""
    ma, mb, d = cmp.metrics_a, cmp.metrics_b, cmp.diff_ci
    body = ["<h1>motai eval: A vs B</h1>", "<ul>"]
    body += [_run_line("A", cmp.run_a, ma), _run_line("B", cmp.run_b, mb), "</ul>"]
    text = verdict(cmp)
    if failures is not None:
        badge = "fail" if failures else "pass"
        body.append(
            f"<p><span class='badge {badge}'>Gate: {badge.upper()}</span> &nbsp; "
            f"<b>{esc(text)}</b></p>"
        )
        if failures:
            body.append("<ul>" + "".join(f"<li>{esc(f)}</li>" for f in failures) + "</ul>")
    else:
        body.append(f"<p><b>{esc(text)}</b></p>")
    body.append(
        f"<div class='note'>On {cmp.n_common} shared items: stage macro-F1 B − A = "
        f"<b>{d['point']:+.4f}</b> (paired bootstrap 95% CI [{d['low']:+.4f}, "
        f"{d['high']:+.4f}]); McNemar exact p = <b>{cmp.p_value:.4g}</b> "
        f"({len(cmp.fixed)} fixed, {len(cmp.broken)} broken by B).</div>"
    )
    if cmp.only_a or cmp.only_b:
        body.append(
            f"<div class='note warn'>Items in A only: {cmp.only_a}, in B only: {cmp.only_b}. "
            "The tests use the shared items; the table uses each whole run.</div>"
        )
    if cmp.gold_mismatch:
        body.append(
            f"<div class='note warn'>{cmp.gold_mismatch} shared item(s) have different gold "
            "stages in A and B.</div>"
        )

    body.append("<h2 id='metrics'>Metrics side by side</h2>")
    rows = []
    for label, path in HEADLINE:
        a, b = _get(ma, path), _get(mb, path)
        digits = 1 if "latency" in label else 3
        lower = label in LOWER_IS_BETTER
        delta = _delta_cell(a, b, lower, digits)
        rows.append([esc(label), _num(a, digits), _num(b, digits), delta])
    body.append(_table(["metric", "A", "B", "B − A"], rows, numeric=[1, 2, 3], raw=[0, 3]))

    body.append("<h2 id='per-class'>F1 per class</h2>")
    groups = [
        (title, ma.get(key, {}).get("per_class", {}), mb.get(key, {}).get("per_class", {}))
        for key, title in (
            ("stage", "primary stage"),
            ("valence", "primary valence"),
            ("moment_stage", "moment stages"),
        )
    ]
    groups = [g for g in groups if g[1] or g[2]]
    if groups:
        body.append(
            _figure(
                plots.f1_grouped_bars(groups, order=_class_order(ma) or _class_order(mb)),
                "per-class F1 of A and B",
                "Grey A, blue B; the label over a pair is B − A.",
            )
        )
    body.append("<div class='grid3'>")
    order = _class_order(ma) or _class_order(mb)
    for title, pa, pb in groups:
        rows = []
        names = {*pa, *pb}
        for c in [c for c in order if c in names] + sorted(names - set(order)):
            fa, fb = pa.get(c, {}).get("f1"), pb.get(c, {}).get("f1")
            support = (pb.get(c) or pa.get(c) or {}).get("support", "")
            rows.append([esc(c), _num(fa), _num(fb), _delta_cell(fa, fb), esc(support)])
        body.append(
            f"<div><h3>{esc(title)}</h3>"
            + _table(["class", "A", "B", "B − A", "support"], rows, [1, 2, 3, 4], raw=[0, 3, 4])
            + "</div>"
        )
    body.append("</div>")

    for anchor, title, flips in (
        ("broken", "Broken by B", cmp.broken),
        ("fixed", "Fixed by B", cmp.fixed),
    ):
        body.append(f"<h2 id='{anchor}'>{title} ({len(flips)})</h2>")
        if not flips:
            body.append("<p class='meta'>None.</p>")
            continue
        body.append(
            _table(
                ["id", "gold", "A", "B", "text"],
                [
                    [esc(f.id), esc(f.gold), esc(f.a), esc(f.b), _text_cell(f.text)]
                    for f in flips[:FLIPS_SHOWN]
                ],
                cls="wide",
                raw=[0, 1, 2, 3, 4],
            )
        )
        if len(flips) > FLIPS_SHOWN:
            body.append(f"<p class='meta'>… and {len(flips) - FLIPS_SHOWN} more.</p>")
    return _page("motai eval: A vs B", body)

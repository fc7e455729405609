"""`report.html` and `compare.html`: self-contained, escaped, and (with chromium) rendered.

The reports are built from hand-made items whose texts and ids try to inject markup; an
HTML parser then checks what a browser would see: no script, no asset from anywhere but
a data: URI, every plot a decodable PNG.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from motai.evals.compare import compare_runs, gate
from motai.evals.html import render_compare_html, render_run_html
from motai.evals.metrics import compute_metrics
from motai.evals.rundir import write_predictions
from motai.labelled import LabelledItem, LabelledMoment
from motai.models import Moment, TagResult
from motai.taxonomy import Taxonomy

EVIL_TEXT = 'Great <script>alert("x")</script> & <img src=https://evil.example/x.png> buy'
EVIL_ID = "<b>id-0</b>"
STAGES = ["ZMOT", "FMOT", "AMOT", "SMOT", "SMOT", "SMOT", "UMOT", "NONE"]
PNG = b"\x89PNG\r\n\x1a\n"
URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}


class Page(HTMLParser):
    """Collects what matters: tags, URL-bearing attributes, images, text and style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.style: list[str] = []
        self.handlers: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in URL_ATTRS:
                self.urls.append((tag, name, value or ""))
            if name.startswith("on"):
                self.handlers.append(name)
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.style if self._in_style else self.text).append(data)


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    p.close()
    return p


def assert_self_contained(page: str, min_images: int) -> Page:
    assert page.startswith("<!DOCTYPE html>")
    p = parse(page)
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert p.handlers == []
    # Every URL-bearing attribute is inline data or an in-page anchor.
    for tag, name, value in p.urls:
        assert value.startswith(("data:", "#")), (tag, name, value[:60])
    css = "".join(p.style)
    assert "url(" not in css and "@import" not in css
    assert "default-src 'none'" in page  # the CSP forbids anything else, scripts included
    assert len(p.images) >= min_images
    for src in p.images:
        assert src.startswith("data:image/png;base64,")
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw.startswith(PNG) and len(raw) > 2000  # a real plot, not an empty image
    return p


def _items(n: int = 64) -> list[LabelledItem]:
    items = []
    for i in range(n):
        text = EVIL_TEXT if i == 0 else f"text {i}: the parcel came late & the fit was <fine>"
        items.append(
            LabelledItem(
                id=EVIL_ID if i == 0 else f"t{i:02d}",
                text=text,
                stage=STAGES[i % len(STAGES)],
                valence=("pain", "glory", "neutral")[i % 3],
                moments=[LabelledMoment(stage="SMOT", valence="pain", evidence=text[:5])],
            )
        )
    return items


def _results(items: list[LabelledItem], wrong_every: int) -> list[TagResult]:
    out = []
    for i, it in enumerate(items):
        right = i % wrong_every != 0
        stage = it.stage if right else ("SMOT" if it.stage != "SMOT" else "AMOT")
        out.append(
            TagResult(
                id=it.id,
                stage=stage,
                valence=it.valence,
                confidence=round(0.35 + 0.6 * ((i * 37) % 100) / 100, 2),
                moments=[
                    Moment(
                        stage=stage,
                        valence=it.valence,
                        evidence=it.text[:12],
                        start=0,
                        end=12,
                        confidence=0.8,
                    )
                ],
                provider="local",
                model="synthetic",
            )
        )
    return out


def _metrics(items: list[LabelledItem], results: list[TagResult], tax: Taxonomy) -> dict:
    m = compute_metrics(items, results, tax)
    return m | {
        "name": "evil <name>",
        "cross_validated": True,
        "folds": 5,
        "resumed": 0,
        "latency": {"total_s": 1.0, "mean_ms_per_item": 12.5, "p95_ms_per_item": 20.0},
        "provenance": {
            "git_commit": None,
            "taxonomy": tax.ref,
            "taxonomy_hash": tax.hash,
            "dataset": "/data/<dev>.jsonl",
            "dataset_sha256": "a" * 64,
            "model": "local",
            "classifier": "synthetic",
            "prompt_hash": None,
            "timestamp": "2025-01-01T00:00:00+00:00",
        },
    }


@pytest.fixture(scope="module")
def run_page(taxonomy: Taxonomy) -> str:
    items = _items()
    results = _results(items, wrong_every=4)
    return render_run_html(_metrics(items, results, taxonomy), items, results)


def test_run_report_is_self_contained_with_its_plots(run_page: str) -> None:
    p = assert_self_contained(run_page, min_images=5)
    alts = {a for a in run_page.split("alt='")[1:] for a in [a.split("'", 1)[0]]}
    assert {
        "per-class F1 bar chart",
        "stage confusion matrix",
        "valence confusion matrix",
        "reliability diagram",
        "accuracy at coverage",
    } <= alts
    text = " ".join(p.text)
    for heading in ("Headline", "Per class", "Confusion matrices", "Misclassified items (16)"):
        assert heading in text
    assert "cross-validated (5 folds)" in text
    # Headline figures with their intervals, as in metrics.json.
    assert "95% CI" in text


def test_run_report_notes_cross_validation_and_resume(taxonomy: Taxonomy) -> None:
    items = _items(16)
    results = _results(items, wrong_every=4)
    metrics = _metrics(items, results, taxonomy) | {"resumed": 8, "cross_validated": False}
    page = render_run_html(metrics, items, results)
    assert "8 prediction(s) were kept from an earlier, interrupted run" in page
    assert "cross-validated" not in page


def test_run_report_escapes_data(run_page: str) -> None:
    p = parse(run_page)
    # The evil item is misclassified (item 0), so its id and text are in the table: as text.
    assert EVIL_TEXT in " ".join(" ".join(p.text).split())
    assert EVIL_ID in p.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in run_page
    assert "&lt;b&gt;id-0&lt;/b&gt;" in run_page
    assert "<script" not in run_page and "<b>id-0" not in run_page
    assert "evil &lt;name&gt;" in run_page and "/data/&lt;dev&gt;.jsonl" in run_page
    assert "&lt;fine&gt;" in run_page


def _run_folder(folder: Path, tax: Taxonomy, wrong_every: int) -> Path:
    items = _items()
    results = _results(items, wrong_every)
    folder.mkdir(parents=True)
    write_predictions(folder / "predictions.jsonl", items, results, [0.01] * len(items))
    metrics = _metrics(items, results, tax)
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return folder


def test_compare_report(tmp_path: Path, taxonomy: Taxonomy) -> None:
    a = _run_folder(tmp_path / "a", taxonomy, wrong_every=8)
    b = _run_folder(tmp_path / "b", taxonomy, wrong_every=2)
    cmp = compare_runs(a, b)
    failures = gate(cmp)
    page = render_compare_html(cmp, failures)
    p = assert_self_contained(page, min_images=1)
    text = " ".join(" ".join(p.text).split())
    assert "per-class F1 of A and B" in page
    assert ("Gate: FAIL" in text) == bool(failures)
    assert f"Broken by B ({len(cmp.broken)})" in text and "Fixed by B (0)" in text
    assert "McNemar exact p" in text and "paired bootstrap 95% CI" in text
    assert "stage macro-F1" in text and "ECE (lower is better)" in text
    # The broken items' texts are shown as text, not markup.
    assert any("the fit was <fine>" in t for t in p.text)
    assert "&lt;fine&gt;" in page and "<fine>" not in page


def test_cli_compare_writes_markdown_and_html(tmp_path: Path, taxonomy: Taxonomy) -> None:
    from click.testing import CliRunner

    from motai.cli import cli

    a = _run_folder(tmp_path / "a", taxonomy, wrong_every=8)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["eval", "compare", str(a), str(a), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "compare.md").read_text(encoding="utf-8") == res.stdout
    assert_self_contained((out / "compare.html").read_text(encoding="utf-8"), min_images=1)


def _png_size(raw: bytes) -> tuple[int, int]:
    assert raw.startswith(PNG) and raw[12:16] == b"IHDR"
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(run_page: str, tmp_path: Path) -> None:
    from PIL import Image  # a matplotlib dependency

    page = tmp_path / "report.html"
    page.write_text(run_page, encoding="utf-8")
    shot = tmp_path / "report.png"
    width, height = 1100, 1800
    cmd = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}",
        f"--screenshot={shot}",
        f"--window-size={width},{height}",
        page.as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    raw = shot.read_bytes()
    assert _png_size(raw) == (width, height)
    im = Image.open(shot).convert("RGB")
    small = im.resize((width // 4, height // 4))
    data = small.tobytes()
    pixels = [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]
    assert len(set(pixels)) > 200  # text, tables and plots, not a blank page
    # The plots' blue (#3b6ea5 and the heatmaps) covers a good area only if they rendered.
    blue = sum(1 for r, _, b in pixels if b - r > 70)
    assert blue > 0.01 * len(pixels), blue

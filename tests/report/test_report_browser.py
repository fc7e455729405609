"""The report page in a real headless Chromium: it renders and its plots are not blank.

Skipped, with the reason, where no chromium is installed (`apt-get install chromium`;
`.ci/run` installs it when it can).
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from motai.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1200, 5200
Tagged = Callable[..., Path]


def _rows() -> list[dict]:
    """Three months, two products, reviews and conversations: every part of the page."""
    rows = []
    for i in range(90):
        month, product = 1 + i % 3, ("lamp", "shirt")[i % 2]
        pain = i % (2 + month) == 0
        stage = ("AMOT", "SMOT", "FMOT", "UMOT", "ZMOT")[i % 5]
        moments = [(stage, "pain" if pain else "glory", f"quote {i} about {stage}", 0.4 + i / 200)]
        kind = "review"
        if i % 9 == 0:
            kind = "transcript"
            moments = [("SMOT", "pain", f"Broken on day {i}.", 0.9),
                       ("SMOT", "glory", f"Fixed in {i} minutes, thanks!", 0.8)]  # fmt: skip
        rows.append({"id": f"r{i}", "kind": kind, "moments": moments,
                     "confidence": 0.3 if i % 17 == 0 else 0.9,
                     "fields": {"date": f"2026-{month:02d}-{1 + i % 28:02d}",
                                "product": product}})  # fmt: skip
    rows.append({"id": "broken", "error": "empty text"})
    return rows


def _screenshot(page: Path, shot: Path, profile: Path) -> None:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
           f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri()]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)


def _share(pixels: list[tuple[int, int, int]], test: Callable[[int, int, int], bool]) -> float:
    return sum(1 for p in pixels if test(*p)) / len(pixels)


def test_each_embedded_plot_decodes_to_a_non_blank_image(tagged: Tagged) -> None:
    from PIL import Image  # a matplotlib dependency

    page = build_report([tagged(_rows())], by="product", period="month").to_html()
    uris = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(uris) == 5  # journey, hot-spots, trends, side by side, transcripts
    for uri in uris:
        im = Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB")
        colours = im.getcolors(maxcolors=1 << 16) or []
        assert len(colours) > 20  # axes, text, bars: not one flat colour
        white = max(colours)[0] / (im.width * im.height)
        assert white < 0.95


def _pixels(shot: Path) -> list[tuple[int, int, int]]:
    from PIL import Image

    im = Image.open(shot).convert("RGB")
    assert im.size == (WIDTH, HEIGHT)
    data = im.resize((WIDTH // 4, HEIGHT // 4)).tobytes()
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tagged: Tagged, tmp_path: Path) -> None:
    html = build_report([tagged(_rows())], by="product", period="month").to_html()
    # The same page with every plot replaced by an empty image: what the browser shows
    # if the plots were blank or failed to decode.
    blank = re.sub(r"src='data:image/png;base64,[^']+'", "src='data:,'", html)
    shots = {}
    for name, text in (("report", html), ("blank", blank)):
        page = tmp_path / f"{name}.html"
        page.write_text(text, encoding="utf-8")
        shots[name] = tmp_path / f"{name}.png"
        _screenshot(page, shots[name], tmp_path / f"profile-{name}")
        assert shots[name].is_file(), "chromium wrote no screenshot"
    pixels, without = _pixels(shots["report"]), _pixels(shots["blank"])
    assert len(set(pixels)) > 300  # text, tables and plots: not a blank page
    assert len(set(without)) > 50  # the text and tables render on their own too

    # The plots' colours, the pain red, glory green and the blue of the side-by-side bars,
    # cover a real area only when the plots rendered.
    def red(r: int, g: int, b: int) -> bool:
        return r > 150 and g < 90 and b < 90

    def green(r: int, g: int, b: int) -> bool:
        return g > 100 and r < 60 and b < 80

    def blue(r: int, g: int, b: int) -> bool:
        return b - r > 70

    for colour in (red, green, blue):
        drawn, bare = _share(pixels, colour), _share(without, colour)
        assert drawn > bare + 0.001, (colour.__name__, drawn, bare)
    non_white = _share(pixels, lambda r, g, b: min(r, g, b) < 200)
    assert non_white > _share(without, lambda r, g, b: min(r, g, b) < 200) + 0.02


def test_text_from_the_data_is_escaped(tagged: Tagged) -> None:
    evil = '<script>alert("x")</script><img src=https://evil.example/x.png>'
    rows = [{"id": f"<b>{i}</b>", "kind": "transcript",
             "moments": [("SMOT", "pain", f"{evil} late {i}", 0.9),
                         ("SMOT", "glory", f"{evil} fixed {i}", 0.8)],
             "fields": {"product": evil, "date": f"2026-0{1 + i % 2}-01"}}
            for i in range(4)]  # fmt: skip
    page = build_report([tagged(rows)], by="product", period="month").to_html()
    assert "<script" not in page and "<img src=https" not in page and "<b>0</b>" not in page
    assert "&lt;script&gt;" in page
    assert re.findall(r"<img src='([^']{0,5})", page) == ["data:"] * len(re.findall("<img", page))

"""The report rendered by a real headless browser (Debian's Chromium): a non-blank screenshot of
the requested size, the rendered DOM holds every section and the SVG figures, offline."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import standard_results

from fairsim.reports import build_report
from fairsim.reports.compare import build_comparison


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (apt-get install chromium); no browser test"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # block the network: every host fails to resolve and any proxy use goes to a dead port
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
]
WIDTH, HEIGHT = 1000, 1600


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    root = standard_results(tmp / "res")
    return tmp, build_report(root, baseline="median").html


def test_screenshot_not_blank(report):
    import matplotlib.image as mpimg

    tmp, html = report
    png = tmp / "shot.png"
    res = _run(tmp, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", html.as_uri())
    assert png.is_file(), res.stderr[-2000:]
    img = mpimg.imread(png)
    assert img.shape[:2] == (HEIGHT, WIDTH)
    rgb = (np.asarray(img)[..., :3] * 255).round().astype(np.int64)
    colours = np.unique(rgb.reshape(-1, 3) @ np.array([65536, 256, 1]))
    assert colours.size > 100  # text, tables, coloured status badges and cells
    white = (rgb == 255).all(axis=-1).mean()
    assert 0.2 < white < 0.99  # a page, not a blank or an all-dark error screen


def test_dom_has_sections_and_svg(report):
    tmp, html = report
    res = _run(tmp, "--dump-dom", html.as_uri())
    dom = res.stdout
    assert "</html>" in dom and "<html" in dom, res.stderr[-2000:]
    for heading in (
        "Claims",
        "Mechanisms × metrics",
        "Axiom satisfaction",
        "Paired differences against median",
        "Welfare vs fairness",
        "Plots",
        "Approximation ratios",
        "Best-response dynamics",
        "Parameter sweeps",
        "Failures",
    ):
        assert f"<h2>{heading}</h2>" in dom, heading
    assert dom.count("<svg") >= 6  # metrics, heatmap, ratios, dynamics, sweep, pareto
    assert "<path" in dom and "</svg>" in dom
    assert "&lt;i&gt;test&lt;/i&gt;" in dom  # the scenario name stays text in the DOM


def test_no_external_requests(report, tmp_path):
    _, html = report
    text = html.read_text(encoding="utf-8")
    # nothing that a browser would fetch: no scripts, stylesheets, images, fonts or imports
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|file:)""", text, re.I)
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", text, re.I)
    assert "@import" not in text and "url(http" not in text
    hrefs = re.findall(r"""href\s*=\s*["']([^"']*)["']""", text)
    # in-page anchors, and inline images (the colour bar) as data: URIs
    assert hrefs and all(h.startswith(("#", "data:image/")) for h in hrefs)


def test_comparison_renders(report, tmp_path):
    tmp, html = report
    other = standard_results(tmp_path / "b")
    page = build_comparison(html.parent, other, tmp_path / "cmp.html")
    res = _run(tmp_path, "--dump-dom", page.as_uri())
    assert "<h2>Metrics: A vs B</h2>" in res.stdout, res.stderr[-2000:]
    assert "<h2>Axiom satisfaction: A vs B</h2>" in res.stdout

"""The report as a person sees it: ``codesign search`` writes report.html, headless Chromium opens it.

Checks that the page loads with no console error or uncaught exception, that every plotly chart
of the page was drawn (its div became a ``js-plotly-plot`` holding an ``svg.main-svg``), and
saves a screenshot to ``tests/artifacts/report.png`` (git-ignored; the path is printed).

When no Chromium is on PATH the module's set-up installs it (``apt-get install -y chromium`` on
Debian, as root), as ``tests/test_postgres.py`` does for PostgreSQL; if it cannot, the test fails
with the reason: it is never skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.system_packages import apt_install

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
ARTIFACTS = Path(__file__).parent / "artifacts"
CLI = [sys.executable, "-c", "from codesign.cli import main; main()"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
         "--enable-unsafe-swiftshader",   # software WebGL for the parallel-coordinates chart, without a deprecation notice
         "--enable-logging=stderr", "--v=0"]

# Records uncaught errors, unhandled promise rejections and console.error calls; after the load
# event (and plotly's first frames) writes them into <pre id="captured-errors"> for --dump-dom.
HOOK = """<script>window.__errors=[];
addEventListener('error',function(e){__errors.push('uncaught: '+e.message)});
addEventListener('unhandledrejection',function(e){__errors.push('unhandled rejection: '+e.reason)});
(function(){var ce=console.error;console.error=function(){
  __errors.push('console.error: '+Array.prototype.join.call(arguments,' '));ce.apply(console,arguments)}})();
addEventListener('load',function(){setTimeout(function(){var p=document.createElement('pre');
  p.id='captured-errors';p.textContent=JSON.stringify(__errors);document.body.appendChild(p)},1000)});</script>"""


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    return find_browser() or apt_install("chromium", find_browser,
                                         "no Chromium on PATH (chromium, chromium-browser, google-chrome)")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html written at the end of a 25-trial ``codesign search`` of the tiny space."""
    root = tmp_path_factory.mktemp("report_page")
    proc = subprocess.run([*CLI, "search", str(TINY), "--runs-dir", str(root / "runs"), "--trials", "25", "--seed", "3",
                           "-q"], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    path = root / "runs" / "tiny" / "report.html"
    assert f"report: {Path('runs/tiny/report.html')}" in proc.stdout or f"report: {path}" in proc.stdout, proc.stdout
    assert path.is_file()
    return path


def chromium(browser: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([browser, *FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def uncaught(stderr: str) -> list[str]:
    """Chromium's console log lines (``--enable-logging=stderr``) that report a JavaScript error."""
    return [ln for ln in stderr.splitlines() if "CONSOLE" in ln and re.search(r"Uncaught|\bError\b", ln)]


class Charts(HTMLParser):
    """For each ``<div id=chart-...>``: its class and whether an ``<svg class=main-svg>`` lies inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, object]] = {}
        self._open: list[tuple[str | None, int]] = []   # (chart id, div depth) of open chart divs
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "div":
            self._depth += 1
            if a.get("id", "").startswith("chart-"):
                self.charts[a["id"]] = {"class": a.get("class", ""), "svg": False}
                self._open.append((a["id"], self._depth))
        elif tag == "svg" and "main-svg" in a.get("class", "").split() and self._open:
            self.charts[self._open[-1][0]]["svg"] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "div":
            if self._open and self._open[-1][1] == self._depth:
                self._open.pop()
            self._depth -= 1


def test_page_loads_without_errors_and_draws_every_chart(browser: str, report: Path, tmp_path: Path) -> None:
    page = report.read_text()
    expected = re.findall(r'<div id="(chart-[^"]+)" class="plotly-graph-div"', page)
    assert {"chart-front", "chart-parallel", "chart-convergence", "chart-importance"} <= set(expected)
    assert any(e.startswith("chart-roofline-") for e in expected), expected
    head = page.index("<head>") + len("<head>")
    instrumented = tmp_path / "report.html"
    instrumented.write_text(page[:head] + HOOK + page[head:])
    proc = chromium(browser, "--virtual-time-budget=20000", "--dump-dom", instrumented.as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = re.search(r'<pre id="captured-errors">(.*?)</pre>', proc.stdout, flags=re.S)
    assert found, "the page never finished loading (no captured-errors element in the DOM)"
    assert json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")) == []
    assert uncaught(proc.stderr) == []
    charts = Charts()
    charts.feed(proc.stdout)
    assert sorted(charts.charts) == sorted(expected)
    for name, chart in charts.charts.items():
        assert "js-plotly-plot" in str(chart["class"]).split(), f"{name} was not drawn by plotly"
        assert chart["svg"], f"{name} has no rendered SVG"
    assert proc.stdout.count("<details") >= len([e for e in expected if e.startswith("chart-layers-")])


def test_screenshot(browser: str, report: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    proc = chromium(browser, "--virtual-time-budget=20000", f"--screenshot={shot}", "--window-size=1400,3000",
                    report.as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert uncaught(proc.stderr) == []
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1400, 3000)
        colours = im.convert("L").resize((140, 300)).getextrema()
    assert colours[1] - colours[0] > 100, "the screenshot is blank"
    print(f"screenshot: {shot}")

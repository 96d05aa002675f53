"""The report laid out by a real browser (Debian's chromium, headless; the tests' one `Browser`,
tests/browser.py) at a desktop and a narrow width.

The product page has no scripts. To measure it, the test evaluates a probe in the loaded page (the
test's alone) that unfolds every <details>, notes the page's scroll width and every element reaching
past the viewport, and folds them back. The screenshots go to out/report-screenshots/ to look at.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ops.report.model import build_view
from ops.report.render import render_html
from tests.browser import Browser, chromium_path
from tests.ops.report.report_data import WIDE_ARCHIVED, WIDE_REPORTS, wide_items

REPO_ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO_ROOT / "out" / "report-screenshots"
WIDTHS = (1400, 800)
# Scrollbars would take width from the layout and show in the screenshots.
BROWSER_ARGS = ("--hide-scrollbars",)
PROBE = """(() => {
const foldedHeight = document.documentElement.scrollHeight;  // the page as it opens, for the screenshot
const details = [...document.querySelectorAll("details")];
const wasOpen = details.map((d) => d.open);
details.forEach((d) => { d.open = true; });  // folded content must fit too
const inner = window.innerWidth;
const overflowing = [...document.querySelectorAll("body *")]
  .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > inner + 0.5 || r.left < -0.5); })
  .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + (e.getAttribute("class") || ""));
// Content sticking out of its box (a card, a section) without reaching past the window.
const spilling = [...document.querySelectorAll("main, section, .card, .run, .multiple")]
  .filter((e) => e.scrollWidth > e.clientWidth + 1)
  .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + (e.getAttribute("class") || ""));
const scrollWidth = document.documentElement.scrollWidth;
details.forEach((d, n) => { d.open = wasOpen[n]; });  // as it opened again, for the screenshot
return { innerWidth: inner, scrollWidth, foldedHeight, overflowing, spilling };
})()"""


def measure(browser: Browser, page: Path) -> dict:
    """Load `page` in `browser` and return the probe's findings."""
    browser.load(page.as_uri())
    return browser.evaluate(PROBE)


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    view = build_view(wide_items(), WIDE_REPORTS, WIDE_ARCHIVED, title="Report test", source="fixed data set")
    page = tmp_path_factory.mktemp("report") / "report.html"
    page.write_text(render_html(view), encoding="utf-8")
    return page


def test_no_chromium_skips_but_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="make browser"):
        chromium_path()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        chromium_path()


def _fake_tools(folder: Path, uid: str) -> Path:
    """A PATH with make, env and fakes of `id` and `apt-get` (logging their arguments), no chromium."""
    folder.mkdir()
    for tool in ("make", "env"):
        (folder / tool).symlink_to(shutil.which(tool))
    for tool, script in {"id": f"echo {uid}", "apt-get": 'echo "apt-get $*" >> "$APT_LOG"'}.items():
        (folder / tool).write_text(f"#!/bin/sh\n{script}\n")
        (folder / tool).chmod(0o755)
    return folder


def test_make_browser_installs_chromium_with_apt_get_when_missing(tmp_path):
    log = tmp_path / "apt.log"
    path = _fake_tools(tmp_path / "bin", uid="0")
    env = {"PATH": str(path), "APT_LOG": str(log), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT), "browser"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["apt-get update -qq", "apt-get install -y -qq chromium"]


def test_make_browser_without_apt_get_says_so(tmp_path):
    path = tmp_path / "bin"
    path.mkdir()
    (path / "make").symlink_to(shutil.which("make"))
    result = subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT), "browser"],
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "no chromium and no apt-get" in result.stderr


def test_probe_reports_a_page_wider_than_the_viewport(tmp_path):
    """The layout check can fail: a 1,200 px wide block at 800 px, and a line sticking out of a
    300 px card inside a folded <details>, are both found."""
    page = tmp_path / "too-wide.html"
    page.write_text(
        '<!doctype html><html><body><div class="wide" style="width:1200px">x</div>'
        '<section class="narrow" style="width:300px"><details><summary>more</summary>'
        f'<span style="white-space:nowrap">{"long words " * 20}</span></details></section></body></html>'
    )
    with Browser(width=800, height=1000, extra_args=BROWSER_ARGS) as browser:
        found = measure(browser, page)
    assert found["innerWidth"] == 800
    assert found["scrollWidth"] > 800
    assert any("wide" in element for element in found["overflowing"])
    assert found["spilling"] == ["section narrow"]


@pytest.mark.parametrize("width", WIDTHS)
def test_report_layout_fits_the_width(report_page, width):
    with Browser(width=width, height=1000, extra_args=BROWSER_ARGS) as browser:
        found = measure(browser, report_page)
        assert found["innerWidth"] == width  # the window size reached the layout
        assert found["overflowing"] == [], f"elements reach past {width} px: {found['overflowing']}"
        assert found["spilling"] == [], f"content sticks out of its box: {found['spilling']}"
        assert found["scrollWidth"] <= width, "the page scrolls sideways"

        # The whole page as one screenshot, to look at (out/ is ignored by git).
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"report-{width}.png"
        shot.unlink(missing_ok=True)
        browser.resize(width, found["foldedHeight"])
        browser.screenshot(shot)
    assert _png_size(shot) == (width, found["foldedHeight"])

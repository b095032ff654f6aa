"""The HTML report in a real browser: headless Chromium loads it with no console error and no network request,
and a screenshot is saved (under pytest's temporary folder, and in $RISKENGINE_SCREENSHOTS when set).

Skips, saying why, only where Chromium is not installed (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser import HEIGHT, WIDTH, find_chromium, open_page
from tests.conftest import EXAMPLES, run_cli

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (apt-get install -y chromium; .ci/run does it), "
           "so the report cannot be opened in a browser here")


def _keep(path: Path) -> None:
    target = os.environ.get("RISKENGINE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for lang in ("en", "zh"):
        folder = tmp_path_factory.mktemp(f"browser-{lang}")
        proc = run_cli("assess", str(EXAMPLES / "models" / "adult-income-onnx.yaml"), "--out", str(folder),
                       "--lang", lang, "--format", "json,html")
        assert proc.returncode == 0, proc.stderr
        out[lang] = folder / "report.html"
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_loads_clean_in_chromium_and_is_photographed(reports, lang, tmp_path):
    page = open_page(reports[lang], binary=CHROMIUM, pdf=True)
    assert page.loaded, "the page never fired its load event"
    assert page.requests == [page.url], f"network requests: {page.network_requests}"
    assert page.errors == [], page.errors
    assert page.exceptions == []
    assert page.screenshot.startswith(b"\x89PNG")
    width = int.from_bytes(page.screenshot[16:20], "big")
    height = int.from_bytes(page.screenshot[20:24], "big")
    assert (width, height) == (WIDTH, HEIGHT)
    shot = tmp_path / f"report-{lang}.png"
    shot.write_bytes(page.screenshot)
    _keep(shot)
    assert page.pdf.startswith(b"%PDF") and page.pdf.count(b"/Type /Page") >= 3  # prints to several A4 pages
    pdf = tmp_path / f"report-{lang}.pdf"
    pdf.write_bytes(page.pdf)
    _keep(pdf)


def test_the_harness_sees_requests_and_console_errors(tmp_path):
    """The checks above could pass by seeing nothing: prove that they see a request and an error."""
    bait = tmp_path / "bait.html"
    bait.write_text("<!DOCTYPE html><title>bait</title><img src='http://127.0.0.1:9/pixel.png'>"
                    "<script>console.error('boom')</script>", encoding="utf-8")
    page = open_page(bait, binary=CHROMIUM, settle_s=1.0)
    assert page.loaded
    assert any(u.startswith("http://127.0.0.1:9/") for u in page.network_requests), page.requests
    assert any("boom" in e["text"] for e in page.errors), page.console

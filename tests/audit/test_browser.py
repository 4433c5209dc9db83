"""The audit report in a real browser: audit.html opens in headless Chromium, its heatmap
decodes and is drawn at a visible size, and the page logs no error and requests nothing
beyond file: and data: URLs.

Needs the system Chromium at /usr/bin/chromium; skipped without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.audit import read_benchmark_list, run_audit, template_text
from harness.config import load_spec
from tests.audit.test_cli import DIMENSIONS, fill
from tests.conftest import CHROMIUM, LAUNCH_ARGS, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_audit_html_renders_its_heatmap(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    listing = read_benchmark_list(ROOT / "configs" / "audit" / "benchmarks.yaml")
    sheets = []
    for offset, coder in enumerate(("alice", "bob"), start=1):
        path = tmp_path / f"{coder}.csv"
        path.write_text(template_text(listing, DIMENSIONS, coder=coder), encoding="utf-8")
        fill(path, offset)
        sheets.append(path)
    summary = run_audit(sheets, rubric=load_spec("rubric", "interactional8"), n_boot=20)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.on("console",
                    lambda message: errors.append(message.text) if message.type == "error"
                    else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(summary.report_html.as_uri(), wait_until="load")
            images = page.evaluate(
                """() => Array.from(document.images).map(img => ({
                    complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
                    shown: img.getBoundingClientRect().width, src: img.src.slice(0, 21),
                    alt: img.alt}))""")
            banner = page.locator(".banner").first.inner_text()
            title = page.title()
        finally:
            browser.close()
    assert len(images) == 1
    (heatmap,) = images
    assert heatmap["complete"] and heatmap["width"] > 300 and heatmap["height"] > 200, heatmap
    assert heatmap["shown"] > 300 and heatmap["src"] == "data:image/png;base64"
    assert heatmap["alt"].startswith("Coverage: benchmark x dimension")
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert title == "xstress benchmark audit"
    assert "alice" in banner and "bob" in banner and "Adjudicated: no" in banner

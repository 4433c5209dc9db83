"""The report's HTML (harness/report/html.py) in a real browser: open report.html in headless
Chromium; every embedded plot decodes and renders, the page logs no console error and requests
nothing beyond file: and data: URLs.

Needs the system Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped
without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.report import build_report
from harness.testing.rundirs import scored_run
from tests.conftest import CHROMIUM, LAUNCH_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
@pytest.mark.parametrize("models", [("alpha", "beta", "gamma"), ("alpha",)])
def test_report_html_renders_its_plots(tmp_path: Path, models: tuple[str, ...]) -> None:
    from playwright.sync_api import sync_playwright

    run_dir = scored_run(
        tmp_path,
        models=models,
        scaffolds=("bare", "steer", "verify"),
        dims=("D1", "D2", "D3", "D4"),
    )
    summary = build_report(run_dir, n_perm=50)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(summary.report_html.as_uri(), wait_until="load")
            images = page.evaluate(
                """() => Array.from(document.images).map(img => ({
                    complete: img.complete, width: img.naturalWidth,
                    height: img.naturalHeight, src: img.src.slice(0, 21)}))"""
            )
            title = page.title()
            banner = page.locator(".banner").first.inner_text()
        finally:
            browser.close()
    assert len(images) == 3  # two profile heatmaps and the effect plot
    for image in images:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
        assert image["src"] == "data:image/png;base64"
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert title.startswith("xstress report")
    assert "SIMULATED MODELS" in banner

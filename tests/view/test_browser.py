"""The run browser in a real browser (headless Chromium): on the offline run, filter to one
model and one dimension, open a cell and see a coder's evidence quote inside a <mark>; the URL
hash deep-links the same view; a report link opens it filtered; transcript text that looks like
markup or script stays text.

Needs the system Chromium at /usr/bin/chromium; skipped without it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.rundir import KeyEntry, RunDir, ScoreRecord
from harness.testing.rundirs import (
    NOW,
    make_item,
    make_transcript,
    write_blinding,
    write_scores,
    write_transcripts,
)
from harness.view import write_view
from tests.conftest import CHROMIUM, LAUNCH_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page with its console errors and every URL it requested."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda request: self.requests.append(request.url))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _cell_with_quote(run: Path, dimension: str) -> tuple[str, str, str, str]:
    """(model, cell_id, coder, evidence) of a cell whose coder quoted it verbatim on
    ``dimension``, read from the run's files directly."""
    key = {k["blind_id"]: k for k in _jsonl(run / "blind" / "key.jsonl")}
    texts = {t["cell_id"]: [m["content"] for m in t["messages"]]
             for t in _jsonl(run / "transcripts.jsonl")}
    for path in sorted((run / "scores").glob("*.jsonl")):
        for score in _jsonl(path):
            entry = key.get(score["blind_id"])
            evidence = score["evidence"]
            if (score["dimension"] == dimension and evidence and entry
                    and any(evidence in text for text in texts[entry["cell_id"]])):
                return entry["model"], entry["cell_id"], score["coder"], evidence
    raise AssertionError(f"no verbatim evidence quote on {dimension} in the offline run")


def test_filter_model_and_dimension_open_a_cell_see_the_quote_marked(
        offline_run: Path, browser: Any) -> None:
    view = offline_run / "view.html"  # written by `xstress run` beside the report
    assert view.is_file()
    model, cell_id, coder, evidence = _cell_with_quote(offline_run, "D3")
    cells_of_model = {t["cell_id"] for t in _jsonl(offline_run / "transcripts.jsonl")
                      if t["model"] == model}
    watched = Watched(browser)
    page = watched.page
    page.goto(view.as_uri())
    page.check(f'input[data-filter="model"][value="{model}"]')
    page.check('input[data-filter="dimension"][value="D3"]')
    listed = page.eval_on_selector_all("tr.cell-row", "rows => rows.map(r => r.dataset.id)")
    assert set(listed) == cells_of_model  # every cell of this model has D3 scores
    page.click(f'tr.cell-row[data-id="{cell_id}"]')
    marks = page.locator("#cell mark").all_inner_texts()
    assert evidence in marks
    shown = page.locator("#cell .score").evaluate_all(
        "boxes => boxes.map(b => [b.dataset.dimension, b.dataset.coder])")
    assert shown and {d for d, _ in shown} == {"D3"} and coder in {c for _, c in shown}
    assert f"model={model}" in page.url and "dimension=D3" in page.url
    assert f"cell={cell_id}" in page.url
    # The hash alone reopens the same view (what a report link does).
    fresh = Watched(browser)
    fresh.page.goto(page.url)
    assert fresh.page.is_checked(f'input[data-filter="model"][value="{model}"]')
    assert evidence in fresh.page.locator("#cell mark").all_inner_texts()
    for seen in (watched, fresh):
        assert seen.errors == []
        assert all(url.startswith("file:") for url in seen.requests), seen.requests


def test_a_report_link_opens_the_browser_on_the_cells_behind_the_number(
        offline_run: Path, browser: Any) -> None:
    watched = Watched(browser)
    page = watched.page
    page.goto((offline_run / "report" / "report.html").as_uri())
    link = page.locator("table a").first
    target = link.get_attribute("href")
    assert target is not None and target.startswith("../view.html#")
    link.click()
    page.wait_for_selector("tr.cell-row")
    assert page.url.endswith(target.removeprefix(".."))
    filters = dict(part.split("=") for part in target.split("#")[1].split("&"))
    model, scaffold = filters["model"], filters["scaffold"]
    rows = page.eval_on_selector_all(
        "tr.cell-row", "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])")
    assert rows and {tuple(row) for row in rows} == {(model, scaffold)}
    assert page.is_checked(f'input[data-filter="dimension"][value="{filters["dimension"]}"]')
    assert watched.errors == []


def test_transcript_markup_stays_text(tmp_path: Path, browser: Any) -> None:
    hostile = ('<img src=x onerror="window.pwned=1"> and </script><script>window.pwned=2'
               '</script> then <b>bold</b>')
    run = tmp_path / "run"
    write_transcripts(run, [make_transcript(
        cell_id="c1", model="m1", scaffold="bare", prompt_id="p",
        messages=make_item("x", "question", hostile).messages)])
    write_blinding(run, [make_item("b1", "question", hostile)], key=[KeyEntry(
        blind_id="b1", cell_id="c1", model="m1", scaffold="bare", prompt_id="p", replicate=0)])
    write_scores(run, "judge", [ScoreRecord(
        blind_id="b1", dimension="D3", coder="judge", coder_kind="llm_judge", status="scored",
        level=1, rationale="<i>quoted</i>", evidence="<b>bold</b>", scored_at=NOW)])
    path = write_view(RunDir(run))
    watched = Watched(browser)
    page = watched.page
    page.goto(path.as_uri() + "#cell=c1")
    page.wait_for_selector("#cell mark")
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("#cell img, #cell b, #cell i, #cell script").count() == 0
    assert page.locator("#cell mark").all_inner_texts() == ["<b>bold</b>"]
    reply = page.locator("#cell .msg.assistant").evaluate(
        "box => Array.from(box.childNodes).slice(1).map(n => n.textContent).join('')")
    assert reply == hostile
    assert watched.errors == []

"""Drive the HTML coding form in headless Chromium: code every item, save, import the CSV.

Needs the system Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped
without it. The page is opened from a file:// URL and must make no request beyond file:,
data: and blob: URLs, and log no console error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import ScoreRecord
from harness.score.human_export import export_packet
from harness.score.human_import import import_codes
from tests.conftest import CHROMIUM, LAUNCH_ARGS
from tests.score.packets import coding_run, mini_rubric

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DIMENSIONS = ("D1", "D2", "D3")
N_ITEMS = 5
# (item index, dimension) coded N/A with a reason; every other pair gets a level.
NULLS = {(1, "D1"): "only one turn", (3, "D3"): "no claims, to verify"}
NOTES = {(0, "D2"): 'asked, "twice", then\nmoved on', (4, "D1"): "fine"}


def planned_level(index: int, position: int) -> int:
    return (index + position) % 3


if not CHROMIUM.exists():
    pytest.skip(
        "system Chromium not found at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@dataclass
class Watch:
    """What the page did that a test must check: console errors and requests made."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == []
        remote = [url for url in self.requests if not url.startswith(("file:", "data:", "blob:"))]
        assert remote == []


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def open_form(browser: Browser, path: Path) -> tuple[Page, Watch]:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    watch = Watch()
    page.on("console", lambda msg: watch.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: watch.errors.append(f"page error: {exc}"))
    page.on("request", lambda request: watch.requests.append(request.url))
    page.goto(path.as_uri())
    return page, watch


def save_csv(page: Page, target: Path) -> Path:
    with page.expect_download() as info:
        page.click("#save-csv")
    download = info.value
    assert download.suggested_filename == "alice-codes.csv"
    download.save_as(str(target))
    return target


def test_code_every_item_save_and_import(browser: Browser, tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=N_ITEMS)
    rubric = mini_rubric()
    form = export_packet(run_dir, "alice", "html", rubric)
    page, watch = open_form(browser, form)

    progress = page.locator("#progress")
    assert progress.inner_text() == f"0 of {N_ITEMS} coded"
    for index in range(N_ITEMS):
        assert page.get_attribute("#item", "data-blind-id") == f"itm-{index:04d}"
        for position, dim in enumerate(DIMENSIONS):
            if (index, dim) in NULLS:
                page.check(f"#level-{dim}-na")
                page.fill(f"#reason-{dim}", NULLS[(index, dim)])
            else:
                page.check(f"#level-{dim}-{planned_level(index, position)}")
            if (index, dim) in NOTES:
                page.fill(f"#notes-{dim}", NOTES[(index, dim)])
        assert progress.get_attribute("data-coded") == str(index + 1)
        if index < N_ITEMS - 1:
            page.click("#next")
    assert progress.inner_text() == f"{N_ITEMS} of {N_ITEMS} coded"
    assert page.is_disabled("#next")

    # Jumping back shows the codes already given.
    page.select_option("#jump", "1")
    assert page.get_attribute("#item", "data-blind-id") == "itm-0001"
    assert page.is_checked("#level-D1-na")
    assert page.input_value("#reason-D1") == "only one turn"
    assert page.is_checked(f"#level-D2-{planned_level(1, 1)}")

    # Progress survives a reload (localStorage autosave).
    page.reload()
    assert progress.inner_text() == f"{N_ITEMS} of {N_ITEMS} coded"
    assert page.get_attribute("#item", "data-blind-id") == "itm-0001"
    assert page.is_checked("#level-D1-na")

    csv_path = save_csv(page, tmp_path / "alice-codes.csv")
    assert "all 5 items coded" in page.inner_text("#notice")
    watch.assert_clean()

    summary = import_codes(run_dir, csv_path, "alice", rubric)
    assert (summary.n_items, summary.n_scored, summary.n_null) == (N_ITEMS, 13, 2)
    lines = (run_dir / "scores" / "alice.jsonl").read_text(encoding="utf-8").splitlines()
    records = {(r.blind_id, r.dimension): r for r in map(ScoreRecord.model_validate_json, lines)}
    assert len(records) == N_ITEMS * len(DIMENSIONS)
    for index in range(N_ITEMS):
        for position, dim in enumerate(DIMENSIONS):
            record = records[(f"itm-{index:04d}", dim)]
            assert record.coder == "alice" and record.coder_kind == "human"
            if (index, dim) in NULLS:
                assert (record.status, record.level) == ("null", None)
                assert record.reason == NULLS[(index, dim)]
            else:
                assert (record.status, record.level) == ("scored", planned_level(index, position))
            assert record.rationale == NOTES.get((index, dim))


def test_conversation_text_is_shown_verbatim(browser: Browser, tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=1)
    page, watch = open_form(browser, export_packet(run_dir, "alice", "html", mini_rubric()))
    assistant = page.locator("#conversation .turn.assistant .text")
    assert assistant.inner_text() == "Answer 0 </script><b>x</b> & co"
    assert page.locator("#conversation b").count() == 0
    user = page.locator("#conversation .turn.user .text")
    assert user.inner_text() == "Question 0?\n  indented line"
    # The reason box appears only for N/A.
    assert page.is_hidden("#reason-D2")
    page.check("#level-D2-na")
    assert page.is_visible("#reason-D2")
    page.check("#level-D2-1")
    assert page.is_hidden("#reason-D2")
    # The rubric is beside the conversation: level anchors are on screen.
    assert page.inner_text("label[for=level-D3-2]").endswith("Verification: full")
    watch.assert_clean()


def test_a_partial_save_needs_allow_partial(browser: Browser, tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=3)
    rubric = mini_rubric()
    page, watch = open_form(browser, export_packet(run_dir, "alice", "html", rubric))
    for dim in DIMENSIONS:
        page.check(f"#level-{dim}-2")
    page.click("#next-uncoded")
    assert page.get_attribute("#item", "data-blind-id") == "itm-0001"
    page.check("#level-D1-na")  # N/A without a reason does not count as coded
    assert page.get_attribute("#dim-D1", "class") == "dim needs-reason"
    csv_path = save_csv(page, tmp_path / "alice-codes.csv")
    assert "1 of 3 items coded" in page.inner_text("#notice")
    watch.assert_clean()

    with pytest.raises(InputError, match="missing level"):
        import_codes(run_dir, csv_path, "alice", rubric)
    summary = import_codes(run_dir, csv_path, "alice", rubric, allow_partial=True)
    assert (summary.n_items, summary.n_scored, summary.n_missing) == (1, 3, 6)

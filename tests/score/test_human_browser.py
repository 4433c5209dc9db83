"""Drive the HTML coding form in headless Chromium: code by keyboard or mouse, save, load, import.

Needs the system Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped
without it. The page is opened from a file:// URL and must make no request beyond file:,
data: and blob: URLs, and log no console error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import ScoreRecord
from harness.score.human_export import PACKET_COLUMNS, export_packet, packet_id
from harness.score.human_import import import_codes
from tests.conftest import CHROMIUM, LAUNCH_ARGS
from tests.score.packets import coding_run, make_items, mini_rubric, read_csv, reference_notes

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

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


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


def position(page: Page) -> tuple[str, str]:
    """(item index, focused dimension) as the form shows them."""
    index = page.get_attribute("#item", "data-index")
    dimension = page.get_attribute("#item", "data-dimension")
    assert index is not None and dimension is not None
    return index, dimension


def chips(page: Page) -> dict[str, str]:
    """Per-dimension progress: dimension -> 'coded/total' from the chips' data."""
    return {
        dim: f"{page.get_attribute(f'#progress-{dim}', 'data-coded')}/"
        f"{page.get_attribute(f'#progress-{dim}', 'data-total')}"
        for dim in DIMENSIONS
    }


def test_code_every_item_save_and_import(browser: Browser, tmp_path: Path) -> None:
    """The mouse path: click levels, fill reasons and notes, move with Next."""
    run_dir = coding_run(tmp_path, count=N_ITEMS)
    rubric = mini_rubric()
    form = export_packet(run_dir, "alice", "html", rubric)
    page, watch = open_form(browser, form)

    progress = page.locator("#progress")
    assert progress.inner_text() == f"0 of {N_ITEMS} coded"
    for index in range(N_ITEMS):
        assert page.get_attribute("#item", "data-blind-id") == f"itm-{index:04d}"
        for position_, dim in enumerate(DIMENSIONS):
            if (index, dim) in NULLS:
                page.check(f"#level-{dim}-na")
                page.fill(f"#reason-{dim}", NULLS[(index, dim)])
            else:
                page.check(f"#level-{dim}-{planned_level(index, position_)}")
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
        for position_, dim in enumerate(DIMENSIONS):
            record = records[(f"itm-{index:04d}", dim)]
            assert record.coder == "alice" and record.coder_kind == "human"
            if (index, dim) in NULLS:
                assert (record.status, record.level) == ("null", None)
                assert record.reason == NULLS[(index, dim)]
            else:
                assert (record.status, record.level) == ("scored", planned_level(index, position_))
            assert record.rationale == NOTES.get((index, dim))


# The keyboard test: 10 items, a few coded N/A, one code corrected after reloading the CSV.
KEYBOARD_ITEMS = 10
KEYBOARD_NULLS = {(2, "D1"): "only one turn", (6, "D3"): "nothing to verify"}
FIRST_SITTING = 7
CORRECTED = (2, "D2")


def key_for(index: int, dim: str) -> int:
    return planned_level(index, DIMENSIONS.index(dim))


def code_by_keyboard(page: Page, index: int) -> None:
    """Code every dimension of item ``index`` with keys alone, checking where focus goes."""
    for dim in DIMENSIONS:
        assert position(page) == (str(index), dim)
        if (index, dim) in KEYBOARD_NULLS:
            page.keyboard.press("n")
            # N/A asks for the reason: the focus is in its box, and the 'n' did not land there.
            assert page.evaluate("document.activeElement.id") == f"reason-{dim}"
            assert page.input_value(f"#reason-{dim}") == ""
            page.keyboard.type(KEYBOARD_NULLS[(index, dim)])
            page.keyboard.press("Enter")
        else:
            page.keyboard.press(str(key_for(index, dim)))


def test_code_ten_items_by_keyboard_reload_the_csv_and_continue(
    browser: Browser, tmp_path: Path
) -> None:
    run_dir = coding_run(tmp_path, count=KEYBOARD_ITEMS)
    rubric = mini_rubric()
    page, watch = open_form(browser, export_packet(run_dir, "alice", "html", rubric))
    progress = page.locator("#progress")

    # First sitting: seven items by keyboard; each key codes the focused dimension and moves on.
    for index in range(FIRST_SITTING):
        code_by_keyboard(page, index)
    assert position(page) == (str(FIRST_SITTING), "D1")
    assert page.inner_text("#item-title") == f"Item {FIRST_SITTING + 1} of {KEYBOARD_ITEMS}"
    assert page.inner_text("#item-blind-id") == f"itm-{FIRST_SITTING:04d}"
    assert progress.inner_text() == f"{FIRST_SITTING} of {KEYBOARD_ITEMS} coded"
    assert chips(page) == {dim: f"{FIRST_SITTING}/{KEYBOARD_ITEMS}" for dim in DIMENSIONS}
    first = save_csv(page, tmp_path / "first.csv")
    assert f"{FIRST_SITTING} of {KEYBOARD_ITEMS} items coded" in page.inner_text("#notice")
    rows = read_csv(first)
    assert tuple(rows[0]) == PACKET_COLUMNS
    assert {r["packet_id"] for r in rows} == {packet_id(make_items(KEYBOARD_ITEMS), rubric)}
    assert [r["reference_notes"] for r in rows[:: len(DIMENSIONS)]] == [
        reference_notes(index) for index in range(KEYBOARD_ITEMS)
    ]

    # A fresh page: nothing in local storage, nothing coded.
    page.evaluate("window.localStorage.clear()")
    page.reload()
    assert progress.inner_text() == f"0 of {KEYBOARD_ITEMS} coded"
    assert chips(page) == {dim: f"0/{KEYBOARD_ITEMS}" for dim in DIMENSIONS}

    # Load the saved CSV: the codes are back, and the focus waits where they stop.
    page.set_input_files("#load-csv", str(first))
    expect(page.locator("#notice")).to_contain_text("Loaded 30 rows from first.csv")
    assert progress.inner_text() == f"{FIRST_SITTING} of {KEYBOARD_ITEMS} coded"
    assert chips(page) == {dim: f"{FIRST_SITTING}/{KEYBOARD_ITEMS}" for dim in DIMENSIONS}
    assert position(page) == (str(FIRST_SITTING), "D1")
    page.select_option("#jump", "2")
    assert page.is_checked("#level-D1-na")
    assert page.input_value("#reason-D1") == "only one turn"
    assert page.is_checked(f"#level-D2-{key_for(2, 'D2')}")
    assert page.is_checked(f"#level-D3-{key_for(2, 'D3')}")

    # Correct one code by keyboard: down to D2, a new level, and the focus moves on to D3.
    corrected_level = (key_for(*CORRECTED) + 1) % 3
    page.keyboard.press("ArrowDown")
    assert position(page) == ("2", "D2")
    page.keyboard.press(str(corrected_level))
    assert position(page) == ("2", "D3")
    assert page.is_checked(f"#level-D2-{corrected_level}")

    # Continue with the items left, still by keyboard (Next uncoded reached by Tab-free focus).
    page.focus("#next-uncoded")
    page.keyboard.press("Enter")
    for index in range(FIRST_SITTING, KEYBOARD_ITEMS):
        code_by_keyboard(page, index)
    assert "End of the packet: 10 of 10 items coded" in page.inner_text("#notice")
    assert progress.inner_text() == f"{KEYBOARD_ITEMS} of {KEYBOARD_ITEMS} coded"
    assert chips(page) == {dim: f"{KEYBOARD_ITEMS}/{KEYBOARD_ITEMS}" for dim in DIMENSIONS}
    second = save_csv(page, tmp_path / "second.csv")
    assert "all 10 items coded" in page.inner_text("#notice")
    watch.assert_clean()

    summary = import_codes(run_dir, second, "alice", rubric)
    assert (summary.n_items, summary.n_scored, summary.n_null) == (KEYBOARD_ITEMS, 28, 2)
    lines = (run_dir / "scores" / "alice.jsonl").read_text(encoding="utf-8").splitlines()
    records = {(r.blind_id, r.dimension): r for r in map(ScoreRecord.model_validate_json, lines)}
    for index in range(KEYBOARD_ITEMS):
        for dim in DIMENSIONS:
            record = records[(f"itm-{index:04d}", dim)]
            if (index, dim) in KEYBOARD_NULLS:
                assert (record.level, record.reason) == (None, KEYBOARD_NULLS[(index, dim)])
            elif (index, dim) == CORRECTED:
                assert record.level == corrected_level != key_for(index, dim)
            else:
                assert record.level == key_for(index, dim)


def test_one_dimension_at_a_time_and_progress_per_dimension(
    browser: Browser, tmp_path: Path
) -> None:
    page, watch = open_form(browser, export_packet(coding_run(tmp_path, 3), "alice", "html",
                                                   mini_rubric()))
    dimension_boxes = page.locator("#dimensions fieldset.dim")
    assert dimension_boxes.count() == 3
    assert page.get_attribute("#toggle-view", "aria-pressed") == "false"

    page.focus("#toggle-view")
    page.keyboard.press("Enter")
    assert page.get_attribute("#toggle-view", "aria-pressed") == "true"
    assert page.get_attribute("#item", "data-mode") == "dimension"
    assert dimension_boxes.count() == 1
    assert page.get_attribute("#dimensions fieldset.dim", "id") == "dim-D1"
    # The anchors of the one dimension and the item's notes stay on screen.
    assert page.is_visible("label[for=level-D1-2]")
    assert page.inner_text("label[for=level-D1-2]").endswith("Coherence: full")
    assert page.is_visible("#reference-notes-text")

    # D1 across all items, then D2 from the first item.
    for index in range(3):
        assert position(page) == (str(index), "D1")
        page.keyboard.press("2")
    assert position(page) == ("0", "D2")
    assert page.get_attribute("#dimensions fieldset.dim", "id") == "dim-D2"
    assert chips(page) == {"D1": "3/3", "D2": "0/3", "D3": "0/3"}
    assert page.inner_text("#progress-D1") == "D1 3/3"
    assert page.get_attribute("#progress-D2", "aria-current") == "true"
    assert page.inner_text("#progress") == "0 of 3 coded"  # no item has all dimensions yet
    page.keyboard.press("1")
    assert position(page) == ("1", "D2")
    assert chips(page) == {"D1": "3/3", "D2": "1/3", "D3": "0/3"}

    # A chip jumps to its dimension; the toggle returns to all dimensions of the item.
    page.click("#progress-D3")
    assert position(page) == ("1", "D3")
    assert page.get_attribute("#dimensions fieldset.dim", "id") == "dim-D3"
    page.click("#toggle-view")
    assert page.get_attribute("#item", "data-mode") == "item"
    assert dimension_boxes.count() == 3
    assert page.is_checked("#level-D1-2")
    assert page.get_attribute("#dim-D3", "aria-current") == "true"
    page.keyboard.press("0")  # item 2's D3, then on to item 3's D1 (item by item again)
    assert position(page) == ("2", "D1")
    assert chips(page) == {"D1": "3/3", "D2": "1/3", "D3": "1/3"}

    # The view and the place are autosaved with the codes.
    page.click("#toggle-view")
    page.reload()
    assert page.get_attribute("#item", "data-mode") == "dimension"
    assert position(page) == ("2", "D1")
    assert chips(page) == {"D1": "3/3", "D2": "1/3", "D3": "1/3"}
    watch.assert_clean()


def test_text_and_notes_are_shown_verbatim(browser: Browser, tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=2)
    page, watch = open_form(browser, export_packet(run_dir, "alice", "html", mini_rubric()))
    assistant = page.locator("#conversation .turn.assistant .text")
    assert assistant.inner_text() == "Answer 0 </script><b>x</b> & co"
    assert page.locator("#conversation b").count() == 0
    user = page.locator("#conversation .turn.user .text")
    assert user.inner_text() == "Question 0?\n  indented line"
    assert page.inner_text("#item-title") == "Item 1 of 2"
    assert page.inner_text("#item-blind-id") == "itm-0000"
    # The item's reference notes, labelled as notes for coders, as text.
    assert page.is_visible("#reference-notes")
    assert page.inner_text("#reference-notes-heading") == "Reference notes for coders"
    assert page.inner_text("#reference-notes-text") == reference_notes(0)
    assert page.locator("#reference-notes b").count() == 0
    page.keyboard.press("Alt+ArrowRight")
    assert page.inner_text("#item-blind-id") == "itm-0001"
    assert page.get_attribute("#reference-notes-text", "data-empty") == "true"
    assert page.inner_text("#reference-notes-text") == "No reference notes for this scenario."
    # The reason box appears only for N/A.
    assert page.is_hidden("#reason-D2")
    page.check("#level-D2-na")
    assert page.is_visible("#reason-D2")
    page.check("#level-D2-1")
    assert page.is_hidden("#reason-D2")
    # The rubric is beside the conversation: level anchors are on screen.
    assert page.inner_text("label[for=level-D3-2]").endswith("Verification: full")
    watch.assert_clean()


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_loading_refuses_rows_of_another_packet(browser: Browser, tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
    page, watch = open_form(browser, export_packet(run_dir, "alice", "html", rubric))
    notice = page.locator("#notice")
    page.keyboard.press("1")
    assert chips(page) == {"D1": "1/2", "D2": "0/2", "D3": "0/2"}
    header = ["blind_id", "dimension", "level", "null_reason"]

    foreign = write_rows(tmp_path / "foreign.csv", header, [
        ["itm-0000", "D2", "2", ""], ["itm-9999", "D1", "1", ""], ["itm-0001", "D9", "0", ""],
    ])
    page.set_input_files("#load-csv", str(foreign))
    expect(notice).to_contain_text("Did not load foreign.csv: 2 row(s) do not belong to this "
                                   "packet: row 3 (itm-9999 D1), row 4 (itm-0001 D9)")
    assert chips(page) == {"D1": "1/2", "D2": "0/2", "D3": "0/2"}  # nothing taken in

    rows = read_csv(export_packet(run_dir, "alice", "csv", rubric))
    rows[0]["level"] = "2"
    other = tmp_path / "other.csv"
    for row in rows:
        row["packet_id"] = "0123456789abcdef"
    write_rows(other, list(PACKET_COLUMNS), [list(row.values()) for row in rows])
    page.set_input_files("#load-csv", str(other))
    expect(notice).to_contain_text("it was saved from another packet (0123456789abcdef; this "
                                   f"form is packet {packet_id(make_items(2), rubric)})")
    assert chips(page) == {"D1": "1/2", "D2": "0/2", "D3": "0/2"}

    bad_level = write_rows(tmp_path / "bad.csv", header, [["itm-0000", "d2", "3", ""]])
    page.set_input_files("#load-csv", str(bad_level))
    expect(notice).to_contain_text("row 2: level '3' is not 0, 1, 2 or blank")

    # A hand-made CSV without the informational columns loads; a spreadsheet's "NA" and "1.0"
    # read as the import reads them.
    plain = write_rows(tmp_path / "plain.csv", header, [
        ["itm-0000", "d2", "NA", "not asked"], ["itm-0001", "D3", "1.0", ""],
    ])
    page.set_input_files("#load-csv", str(plain))
    expect(notice).to_contain_text("Loaded 2 rows from plain.csv")
    assert chips(page) == {"D1": "1/2", "D2": "1/2", "D3": "1/2"}
    page.select_option("#jump", "0")
    assert page.is_checked("#level-D1-1") and page.is_checked("#level-D2-na")
    assert page.input_value("#reason-D2") == "not asked"
    watch.assert_clean()


def test_the_spreadsheet_packet_loads_into_the_form(browser: Browser, tmp_path: Path) -> None:
    """A CSV packet filled in elsewhere (quoted notes with commas and line breaks) loads."""
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
    packet = export_packet(run_dir, "alice", "csv", rubric)
    rows = read_csv(packet)
    for number, row in enumerate(rows):
        row["level"] = str(number % 3)
    rows[4]["notes"] = 'said "yes", then\n"no"'
    write_rows(packet, list(PACKET_COLUMNS), [list(row.values()) for row in rows])
    page, watch = open_form(browser, export_packet(run_dir, "alice", "html", rubric))
    page.set_input_files("#load-csv", str(packet))
    expect(page.locator("#notice")).to_contain_text("Loaded 6 rows")
    assert page.inner_text("#progress") == "2 of 2 coded"
    page.select_option("#jump", "1")
    assert page.is_checked("#level-D1-0") and page.is_checked("#level-D2-1")
    assert page.input_value("#notes-D2") == 'said "yes", then\n"no"'
    saved = save_csv(page, tmp_path / "alice-codes.csv")
    assert read_csv(saved) == rows
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
    assert (summary.n_items, summary.n_scored, summary.n_null) == (1, 3, 0)
    assert summary.n_missing == 6

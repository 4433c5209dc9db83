"""What the run browser reads from a run (harness/view/data.py) and embeds in its page
(harness/view/page.py), on the session's offline run: cells, their calls and passes, scores
joined through the key, the blinded reading's silence about models, scaffolds and cells, and
the embedded JSON staying inert inside its script block.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import RunDir
from harness.testing.rundirs import make_item, make_transcript, write_blinding, write_transcripts
from harness.view import build_blinded_view_data, build_view_data, render_page


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _embedded(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="view-data">(.*?)</script>', page,
                      re.DOTALL)
    assert match is not None
    data = json.loads(match.group(1))
    assert isinstance(data, dict)
    return data


def test_every_transcript_is_a_cell_with_its_identity_and_calls(offline_run: Path) -> None:
    data = build_view_data(RunDir(offline_run))
    transcripts = {t["cell_id"]: t for t in _jsonl(offline_run / "transcripts.jsonl")}
    assert data.run_id == offline_run.name and not data.blind and data.simulated
    assert {cell.id for cell in data.cells} == set(transcripts)
    for cell in data.cells:
        record = transcripts[cell.id]
        assert (cell.model, cell.scaffold, cell.scenario, cell.replicate, cell.status) == (
            record["model"], record["scaffold"], record["prompt_id"], record["replicate"],
            record["status"])
        assert [m.content for m in cell.messages] == [
            m["content"] for m in record["messages"] if m["role"] != "system"]  # type: ignore[attr-defined]
        assert [c.purpose for c in cell.calls] == [c["purpose"] for c in record["calls"]]  # type: ignore[attr-defined]
        assert cell.cost_usd == record["cost_usd"]
    # the verify scaffold's self-check pass is a call of its own, with the revised draft
    verify = [c for c in data.cells if c.scaffold == "verify"]
    assert verify and all(any(call.purpose.startswith("pass:") and call.reply
                              for call in cell.calls) for cell in verify)
    assert not any(call.purpose.startswith("pass:") for cell in data.cells
                   if cell.scaffold == "bare" for call in cell.calls)


def test_scores_reach_their_cell_through_the_key(offline_run: Path) -> None:
    data = build_view_data(RunDir(offline_run))
    blind_of = {k["cell_id"]: k["blind_id"] for k in _jsonl(offline_run / "blind" / "key.jsonl")}
    expected: dict[str, set[tuple[object, ...]]] = defaultdict(set)
    coders = set()
    for path in sorted((offline_run / "scores").glob("*.jsonl")):
        for s in _jsonl(path):
            expected[str(s["blind_id"])].add(
                (s["coder"], s["dimension"], s["status"], s["level"], s["evidence"]))
            coders.add(s["coder"])
    assert data.coders == sorted(coders)
    for cell in data.cells:
        assert cell.blind_id == blind_of.get(cell.id)
        got = {(s.coder, s.dimension, s.status, s.level, s.evidence) for s in cell.scores}
        assert got == expected.get(str(cell.blind_id), set())
    assert sum(len(cell.scores) for cell in data.cells) == sum(len(v) for v in expected.values())


def test_dimensions_come_from_the_stored_rubric_in_order(offline_run: Path) -> None:
    data = build_view_data(RunDir(offline_run))
    rubric = json.loads(next((offline_run / "scores" / "rubrics").glob("*.json")).read_text())
    assert [(d.id, d.name) for d in data.dimensions] == [
        (d["id"], d["name"]) for d in rubric["dimensions"]]


def test_blinded_view_names_no_model_scaffold_or_cell(offline_run: Path, tmp_path: Path) -> None:
    # Only what coders may read is copied: without the key and the transcripts it still works.
    run = tmp_path / "coders-copy"
    shutil.copytree(offline_run / "scores", run / "scores")
    (run / "blind").mkdir(parents=True)
    shutil.copy(offline_run / "blind" / "items.jsonl", run / "blind" / "items.jsonl")
    shutil.copy(offline_run / "manifest.json", run / "manifest.json")
    data = build_blinded_view_data(RunDir(run))
    key = _jsonl(offline_run / "blind" / "key.jsonl")
    assert len(data.cells) == len(key) and data.blind and data.run_id is None
    assert data.simulated  # the offline run's models are all simulated, and the page says so
    page = render_page(data)
    embedded = _embedded(page)
    models = {str(k["model"]) for k in key}
    scaffolds = {str(k["scaffold"]) for k in key}
    cell_ids = {str(k["cell_id"]) for k in key}
    for name in models | cell_ids | {offline_run.name}:
        assert name not in page, name
    # Scaffold names are ordinary words ("generic", "verify") a rationale may use; none may be
    # the value of any field, and no cell carries a model, scaffold, status, cost or call.
    values: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            values.add(value)

    walk(embedded)
    assert not values & (models | scaffolds | cell_ids)
    for cell in embedded["cells"]:  # type: ignore[union-attr]
        assert cell["model"] is None and cell["scaffold"] is None and cell["status"] is None
        assert cell["cost_usd"] is None and cell["calls"] == [] and cell["replicate"] is None


def test_blinded_view_never_opens_the_key(offline_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(offline_run / "blind", run / "blind")
    shutil.copytree(offline_run / "scores", run / "scores")
    shutil.copy(offline_run / "transcripts.jsonl", run / "transcripts.jsonl")
    (run / "blind" / "key.jsonl").write_text("this is not JSON\n")
    assert build_blinded_view_data(RunDir(run)).cells
    with pytest.raises(InputError, match=r"key\.jsonl"):
        build_view_data(RunDir(run))  # the unblinded reading does read it


def test_cells_without_items_are_listed_with_their_status(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_transcripts(run, [
        make_transcript(cell_id="c-ok", model="m1", scaffold="bare", prompt_id="p"),
        make_transcript(cell_id="c-err", model="m1", scaffold="verify", prompt_id="p",
                        status="error", error="RateLimitError after 5 attempts"),
    ])
    write_blinding(run, [make_item("b1", "hello", "hi")], model="m1", scaffold="bare")
    data = build_view_data(RunDir(run))
    by_id = {cell.id: cell for cell in data.cells}
    assert by_id["c-err"].status == "error" and by_id["c-err"].blind_id is None
    assert by_id["c-err"].error == "RateLimitError after 5 attempts"
    assert by_id["c-err"].scores == []


def test_missing_inputs_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such run directory"):
        build_view_data(RunDir(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no transcripts"):
        build_view_data(RunDir(tmp_path / "empty"))
    with pytest.raises(InputError, match="no blinded items") as caught:
        build_blinded_view_data(RunDir(tmp_path / "empty"))
    assert "xstress blind" in (caught.value.fix or "")


def test_transcript_text_cannot_close_the_data_block(tmp_path: Path) -> None:
    hostile = "</script><script>alert(1)</script><!-- & {{TITLE}}"
    run = tmp_path / "run"
    write_transcripts(run, [make_transcript(
        cell_id="c1", model="m1", scaffold="bare", prompt_id="p",
        messages=make_item("x", hostile, "fine").messages)])
    page = render_page(build_view_data(RunDir(run)))
    assert page.count("</script>") == 2  # the data block's and the page script's own
    assert "<script>alert(1)" not in page and "<!-- &" not in page
    assert _embedded(page)["cells"][0]["messages"][0]["content"] == hostile  # type: ignore[index]
    assert "<title>xstress run browser: run</title>" in page  # the placeholder text stayed data

"""Tests for harness/blind/stage.py: the items, key and leak report of a run, re-blinding,
seeds, failing closed on remaining tells, and what the stage refuses."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from harness.blind import blind_run
from harness.errors import InputError
from harness.rundir import (
    BlindedItem,
    KeyEntry,
    LeakReport,
    Manifest,
    RunDir,
    read_json,
    write_record_atomic,
)
from tests.blind.synthetic import (
    MODELS,
    SCAFFOLDS,
    TARGETS,
    few_records,
    leaks,
    make_record,
    offline_run,
    read_lines,
    reference_notes,
    write_run,
)


def _report(path: Path) -> LeakReport:
    return read_json(path, LeakReport, fix="a test")


def test_offline_run_is_blinded(tmp_path: Path) -> None:
    run_dir, records = offline_run(tmp_path / "run")
    layout = RunDir(run_dir)
    summary = blind_run(run_dir, seed=11)

    items = read_lines(layout.items)
    key = read_lines(layout.key)
    assert summary.leak_report_path == layout.leak_report
    report = _report(summary.leak_report_path)

    # Every ok transcript (the last record of each cell) has exactly one item.
    final = {record.cell_id: record for record in records}
    ok_cells = {cell for cell, record in final.items() if record.status == "ok"}
    assert len(final) == 180 and len(ok_cells) == 173
    assert summary.n_items == len(items) == len(key) == 173
    assert sorted(entry["cell_id"] for entry in key) == sorted(ok_cells)
    assert [item["blind_id"] for item in items] == [entry["blind_id"] for entry in key]
    assert len({item["blind_id"] for item in items}) == 173

    # Blocked and error cells are listed, not dropped silently.
    excluded = {cell.cell_id: cell.status for cell in report.excluded}
    assert excluded == {c: r.status for c, r in final.items() if r.status != "ok"}
    assert summary.n_excluded == 7 and set(excluded.values()) == {"error", "blocked"}
    assert report.n_transcripts == 180 and report.n_duplicates_replaced == 1

    # Items hold only what a coder needs: the conversation, and its scenario's targets and
    # reference notes (stripped) from the manifest.
    for item in items:
        BlindedItem.model_validate(item)
        assert set(item) == {"schema", "blind_id", "scenario_id", "domain", "messages",
                             "targets", "reference_notes"}
        assert {m["role"] for m in item["messages"]} <= {"user", "assistant"}
        assert item["blind_id"] not in final
        assert item["targets"] == list(TARGETS)
        assert item["reference_notes"] == reference_notes(item["scenario_id"])
    text = layout.items.read_text(encoding="utf-8")
    for name, litellm_model in MODELS.items():
        for term in (name, litellm_model, name.replace("-", " "), name.replace("-", "")):
            assert term.lower() not in text.lower()
    for spec in SCAFFOLDS.values():
        for fragment in filter(None, [spec.system, *(p.instruction for p in spec.passes)]):
            assert fragment not in text
            for sentence in re.split(r"(?<=\.)\s+", fragment):
                assert sentence.lower() not in text.lower()
    assert "self_check" not in text and "0.25" not in text and "fp-" not in text
    for item in items:
        for message in item["messages"]:
            assert leaks(message["content"]) == [], message["content"]

    # The key is sealed.
    assert stat.S_IMODE(layout.key.stat().st_mode) == 0o600
    for entry in key:
        KeyEntry.model_validate(entry)

    # The report: contract fields, the audit with its interval, no tells left.
    assert report.schema_ == "xstress.leak_report/1"
    assert report.passed is True and report.remaining_tells == []
    assert summary.remaining_tells == 0
    assert report.replacements["self_identification"] > 0
    assert report.replacements["vendor"] > 0
    assert report.replacements["run_model"] > 0
    assert report.replacements["run_scaffold"] > 0
    assert any("visible by design" in limit for limit in report.known_limits)
    model, scaffold = report.identifiability, report.scaffold_identifiability
    assert model is not None and scaffold is not None
    for target, result in (("model", model), ("scaffold", scaffold)):
        assert result.target == target
        assert result.ci_low <= result.accuracy <= result.ci_high
        assert result.n_items == 173 and result.n_folds == 5
    assert model.n_classes == 3
    # ok cells per model: 60 - 1 (cell 17; cell 5 was retried ok), 60 - 2, 60 - 4: 59 is most.
    assert model.chance == pytest.approx(59 / 173)
    # Each simulated model has a stock phrase: the audit should see through the blinding.
    assert model.ci_low > model.chance
    assert summary.identifiability == model
    assert summary.scaffold_identifiability == scaffold
    # Nothing temporary is left behind.
    assert sorted(p.name for p in layout.blind_dir.iterdir()) == [
        "items.jsonl",
        "key.jsonl",
        "leak_report.json",
    ]


def test_reblinding_is_refused_unless_forced(tmp_path: Path) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    layout = RunDir(run_dir)
    blind_run(run_dir, seed=1)
    first_ids = [e["blind_id"] for e in read_lines(layout.key)]
    with pytest.raises(InputError) as caught:
        blind_run(run_dir, seed=1)
    assert "pass --force" in caught.value.one_line()
    assert "re-blinding would change the key under existing scores" in caught.value.one_line()
    blind_run(run_dir, seed=1, force=True)
    second_ids = [e["blind_id"] for e in read_lines(layout.key)]
    assert len(second_ids) == len(first_ids) and not set(first_ids) & set(second_ids)


def test_seed_reproduces_the_order_but_not_the_ids(tmp_path: Path) -> None:
    run_dir, _ = offline_run(tmp_path / "run")
    layout = RunDir(run_dir)
    blind_run(run_dir, seed=5)
    first = read_lines(layout.key)
    first_items = read_lines(layout.items)
    blind_run(run_dir, seed=5, force=True)
    second = read_lines(layout.key)
    second_items = read_lines(layout.items)
    assert [e["cell_id"] for e in first] == [e["cell_id"] for e in second]
    assert [i["messages"] for i in first_items] == [i["messages"] for i in second_items]
    assert all(a["blind_id"] != b["blind_id"] for a, b in zip(first, second, strict=True))
    # The order is a shuffle, not the file order.
    in_file = [r["cell_id"] for r in read_lines(layout.transcripts())]
    assert [e["cell_id"] for e in first] != [
        c for c in dict.fromkeys(in_file) if c in {e["cell_id"] for e in first}
    ]
    blind_run(run_dir, seed=6, force=True)
    third = read_lines(layout.key)
    assert [e["cell_id"] for e in third] != [e["cell_id"] for e in first]


def test_remaining_tells_fail_closed(tmp_path: Path) -> None:
    record = make_record(
        model="sim-eager", scaffold="bare", prompt_id="health-chatgpt-advice", replies=["Fine."]
    )
    others = [
        make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}", replies=["Fine."])
        for i in range(3)
    ]
    run_dir = write_run(tmp_path / "run", [record, *others])
    layout = RunDir(run_dir)
    with pytest.raises(InputError) as caught:
        blind_run(run_dir)
    line = caught.value.one_line()
    assert "1 identity tell(s) remain" in line and "'chatgpt'" in line and "--allow-leaks" in line
    assert sorted(p.name for p in layout.blind_dir.iterdir()) == ["leak_report.json"]
    report = _report(layout.leak_report)
    assert report.passed is False and report.n_remaining_tells == 1
    assert report.remaining_tells[0].field == "scenario_id"
    assert report.remaining_tells[0].cell_id == record.cell_id

    # A failed attempt is not a blinding: no --force needed to try again; --allow-leaks writes.
    summary = blind_run(run_dir, allow_leaks=True)
    assert summary.remaining_tells == 1 and summary.n_items == 4
    assert layout.items.exists() and layout.key.exists()


def test_failed_reblind_keeps_the_existing_blinding(tmp_path: Path) -> None:
    clean = few_records(3)
    run_dir = write_run(tmp_path / "run", clean)
    layout = RunDir(run_dir)
    blind_run(run_dir)
    key_before = layout.key.read_text(encoding="utf-8")
    report_before = layout.leak_report.read_text(encoding="utf-8")
    leaky = make_record(model="sim-eager", scaffold="bare", prompt_id="gpt4-test", replies=["x"])
    write_run(run_dir, [*clean, leaky])
    with pytest.raises(InputError, match=r"leak_report\.rejected\.json"):
        blind_run(run_dir, force=True)
    assert layout.key.read_text(encoding="utf-8") == key_before
    assert layout.leak_report.read_text(encoding="utf-8") == report_before
    rejected = _report(layout.rejected_leak_report)
    assert rejected.passed is False
    assert {tell.field for tell in rejected.remaining_tells} == {"scenario_id", "domain"}

    # A later blinding that passes removes the rejected report.
    write_run(run_dir, clean)
    blind_run(run_dir, force=True)
    assert not layout.rejected_leak_report.exists()


def test_no_transcripts_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        blind_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no transcripts in"):
        blind_run(tmp_path / "empty")
    (tmp_path / "empty" / "transcripts.jsonl").write_text("")
    with pytest.raises(InputError, match="files are empty"):
        blind_run(tmp_path / "empty")
    assert not RunDir(tmp_path / "empty").key.exists()


def test_unreadable_manifest_is_a_warning_and_names_come_from_records(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", few_records(2, reply="I am sim-eager."))
    layout = RunDir(run_dir)
    layout.manifest().write_text('{"schema": "xstress.manifest/1", "run_id": "x"}')
    summary = blind_run(run_dir)
    report = _report(summary.leak_report_path)
    assert [w for w in report.warnings if "manifest.json: unreadable" in w] != []
    assert all("used names from records only" in w for w in report.warnings)
    assert "not a valid manifest" in report.warnings[0]
    # The model's name is still known (from the records) and scrubbed.
    replies = [item["messages"][1]["content"] for item in read_lines(layout.items)]
    assert replies == ["[SELF-ID].", "[SELF-ID]."]


def test_progress_bar_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run(tmp_path / "run", few_records(2))
    blind_run(run_dir, progress=True)
    assert capsys.readouterr().out == ""


def _plant_in_notes(run_dir: Path, scenario_id: str, notes: str) -> None:
    """Replace one scenario's reference notes in the run's manifest."""
    layout = RunDir(run_dir)
    manifest = read_json(layout.manifest(), Manifest, fix="a test")
    prompts = manifest.config.prompts
    scenarios = [s.model_copy(update={"notes": notes}) if s.id == scenario_id else s
                 for s in prompts.scenarios]
    config = manifest.config.model_copy(
        update={"prompts": prompts.model_copy(update={"scenarios": scenarios})})
    write_record_atomic(layout.manifest(), manifest.model_copy(update={"config": config}))


def test_a_tell_in_the_reference_notes_fails_closed(tmp_path: Path) -> None:
    records = [make_record(model="sim-eager", scaffold="bare", prompt_id=f"health-{i}",
                           replies=["Fine."], replicate=r) for i in range(2) for r in range(2)]
    run_dir = write_run(tmp_path / "run", records)
    layout = RunDir(run_dir)
    blind_run(run_dir)  # the control: the same run with clean notes passes
    _plant_in_notes(run_dir, "health-1", "A good answer beats what sim-eager says on verify.")
    with pytest.raises(InputError, match="identity tell"):
        blind_run(run_dir, force=True)
    report = _report(layout.rejected_leak_report)
    assert report.passed is False
    # Both items of the scenario carry the notes, so both are reported; the others are clean.
    assert report.n_remaining_tells == 2
    assert {t.field for t in report.remaining_tells} == {"reference_notes"}
    assert {t.match.lower() for t in report.remaining_tells} == {"sim-eager"}
    tell_cells = {t.cell_id for t in report.remaining_tells}
    assert tell_cells == {r.cell_id for r in records if r.prompt_id == "health-1"}


def test_a_run_without_reference_notes_still_blinds(tmp_path: Path) -> None:
    records = few_records(2)
    run_dir = write_run(tmp_path / "run", records, manifest=False)
    blind_run(run_dir)
    items = read_lines(RunDir(run_dir).items)
    assert [(item["targets"], item["reference_notes"]) for item in items] == [([], "")] * 2


def test_self_identification_of_an_unlisted_name_is_scrubbed_or_flagged(tmp_path: Path) -> None:
    replies = {
        "health-1": "I'm Zorblax-7, an AI assistant made by Quuxcorp. Zorblax-7 can help.",
        "health-2": "I'm SmolLM2, an AI assistant made by Hugging Face.",
        "health-3": "The Lying Llama is a good book.",
        "health-4": "I was trained by Quuxcorp, so ask a doctor.",
    }
    records = [make_record(model="sim-eager", scaffold="bare", prompt_id=prompt_id,
                           replies=[reply]) for prompt_id, reply in replies.items()]
    run_dir = write_run(tmp_path / "run", records)
    layout = RunDir(run_dir)
    # The weak form ("I was trained by Quuxcorp") is left in place and fails the leak scan.
    with pytest.raises(InputError, match=r"'I was trained by Quuxcorp' \[unlisted_identity\]"):
        blind_run(run_dir)
    report = _report(layout.leak_report)
    assert [(t.category, t.cell_id) for t in report.remaining_tells] == [
        ("unlisted_identity", records[3].cell_id)
    ]
    summary = blind_run(run_dir, allow_leaks=True)
    report = _report(summary.leak_report_path)
    by_prompt = {item["scenario_id"]: item["messages"][1]["content"]
                 for item in read_lines(layout.items)}
    assert by_prompt["health-1"] == "[SELF-ID]. [MODEL] can help."
    assert by_prompt["health-2"] == "[SELF-ID]."
    assert by_prompt["health-3"] == "The Lying Llama is a good book."
    assert report.replacements["unlisted_identity"] == 2  # the self-id and the second mention
    assert report.replacements["self_identification"] == 1  # SmolLM is listed
    # The learned names are named in the report's known limits, for the tells file.
    assert any("(Quuxcorp (1), Zorblax-7 (1))" in limit for limit in report.known_limits)

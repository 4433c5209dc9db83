"""Tests for harness/blind/leak_report.py: the typed leak report assembled from the tallies and
the audit, written in its declared field order, its known limits, and the refusal message."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from harness.blind import blind_run
from harness.blind.buckets import Outcome, Partition
from harness.blind.leak_audit import AuditSkipped
from harness.blind.leak_report import build_leak_report, known_limits, leaks_remain
from harness.blind.scrubber import Scrubber
from harness.blind.tells import RUN_CATEGORIES, default_tells_path, load_tells
from harness.rundir import (
    ExcludedCell,
    Identifiability,
    LeakReport,
    RemainingTell,
    RunNames,
)
from tests.blind.synthetic import few_records, write_run

MODEL_AUDIT = Identifiability(target="model", method="tf-idf", accuracy=0.9, ci_low=0.8,
                              ci_high=0.95, chance=0.5, n_items=40, n_classes=2, n_folds=5,
                              p_value=0.001)
TELL = RemainingTell(cell_id="c1", blind_id="b1", field="messages[1] (assistant, turn 0)",
                     category="vendor", match="OpenAI", context="made by OpenAI, I")


def test_report_assembles_the_tallies_and_the_audit(scrubber: Scrubber) -> None:
    outcome = Outcome(counts=Counter({"vendor": 2, "run_model": 1}), n_cells=3, n_items=1,
                      n_duplicates=1, n_tells=1, user_replacements=1,
                      excluded=[ExcludedCell(cell_id="c3", status="blocked"),
                                ExcludedCell(cell_id="c2", status="error", error="timeout")],
                      tells=[TELL])
    tells = load_tells(default_tells_path())
    report = build_leak_report(
        outcome=outcome, partition=Partition(buckets=[], n_records=4), tells=tells,
        tells_file=Path("tells.yaml"), scrubber=scrubber,
        audit={"scaffold": AuditSkipped("scaffold", "needs at least 2 scaffolds"),
               "model": MODEL_AUDIT},
        warnings=["a warning"],
    )
    assert (report.passed, report.n_transcripts, report.n_records, report.n_items) == (
        False, 3, 4, 1)
    assert report.n_duplicates_replaced == 1 and report.user_turn_replacements == 1
    assert [cell.cell_id for cell in report.excluded] == ["c2", "c3"]
    # Every category is counted, zero or not, in name order.
    expected = sorted({c.name for c in tells.categories} | set(RUN_CATEGORIES))
    assert list(report.replacements) == expected
    assert report.replacements["vendor"] == 2 and report.replacements["scaffold_text"] == 0
    assert report.remaining_tells == [TELL] and report.n_remaining_tells == 1
    assert report.identifiability == MODEL_AUDIT and report.scaffold_identifiability is None
    assert report.identifiability_skipped == {"scaffold": "needs at least 2 scaffolds"}
    assert report.tells_file == "tells.yaml" and report.warnings == ["a warning"]
    assert report.run_names.scrubbed_everywhere == scrubber.everywhere
    assert report.run_names.scrubbed_as_labels == scrubber.label_only


def test_written_report_keeps_the_declared_field_order(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", few_records(2))
    summary = blind_run(run_dir)
    text = summary.leak_report_path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "schema": "xstress.leak_report/1",\n  "passed": true,')
    declared = [field.alias or name for name, field in LeakReport.model_fields.items()]
    assert list(json.loads(text)) == declared


def test_known_limits_name_the_ordinary_word_run_names(scrubber: Scrubber) -> None:
    limits = known_limits(scrubber)
    assert any("7+ words" in limit for limit in limits)
    assert limits[-1].endswith(
        "not in prose: bare, cautious, eager, generic, literal, steer, verify."
    )


def test_refusal_names_the_first_tell_the_report_and_the_fix(tmp_path: Path) -> None:
    error = leaks_remain(_report_with_tells(), tmp_path / "leak_report.json",
                         Path("configs/blinding/tells.yaml"))
    line = error.one_line()
    assert line.startswith("3 identity tell(s) remain after scrubbing (first: 'OpenAI' "
                           "[vendor] in messages[1] (assistant, turn 0) of cell c1)")
    assert str(tmp_path / "leak_report.json") in line
    assert "add a pattern or name to configs/blinding/tells.yaml" in line
    assert "--allow-leaks" in line


def _report_with_tells() -> LeakReport:
    return LeakReport(
        passed=False, n_transcripts=1, n_records=1, n_duplicates_replaced=0, n_items=1,
        excluded=[], replacements={}, user_turn_replacements=0, remaining_tells=[TELL],
        n_remaining_tells=3, known_limits=[], identifiability=None, tells_file="t.yaml",
        run_names=RunNames(scrubbed_everywhere={}, scrubbed_as_labels={}),
    )

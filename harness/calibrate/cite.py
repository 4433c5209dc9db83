"""Citing a judge's calibration in a run: which result covers the run's scores, copied in.

A calibration result covers a run's scores by one judge exactly when every one of those
scores carries the result's judge hash and rubric hash (the judge config, prompt template
included, and the rubric the figures were measured with). ``cite_calibrations`` looks for
such a result for each judge, first ``calibration/<judge>.json`` at the project root, then
the copy already in the run, copies a covering one into the run
(``scores/calibration/<judge>.json``, where the report reads it) and returns one line per
judge for the user: the per-dimension accuracy, or that the judge is not calibrated and how
to calibrate it. It calls no judge and computes no figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.calibrate.run import result_path
from harness.calibrate.text import accuracy_line
from harness.errors import InputError
from harness.paths import project_root
from harness.rundir import (
    CalibrationResult,
    RunDir,
    ScoreRecord,
    read_json,
    read_jsonl,
    write_record_atomic,
)

__all__ = ["cite_calibrations"]


def _covers(result: CalibrationResult, judge_hashes: set[str | None],
           rubric_hashes: set[str | None]) -> bool:
    """The result measured the judge config and rubric every one of the scores was made with."""
    return judge_hashes == {result.judge_hash} and rubric_hashes == {result.rubric_hash}


def cite_calibrations(run_dir: RunDir, judges: Sequence[str]) -> list[str]:
    """For each judge: copy a covering calibration result into the run; one line each.

    Raises:
        OutputError: the copy cannot be written.
    """
    return [_cite(run_dir, judge) for judge in judges]


def _cite(run_dir: RunDir, judge: str) -> str:
    judge_hashes: set[str | None] = set()
    rubric_hashes: set[str | None] = set()
    if run_dir.scores(judge).is_file():
        for _, record in read_jsonl(run_dir.scores(judge), ScoreRecord,
                                    fix=f"rerun xstress score {run_dir.root}"):
            judge_hashes.add(record.coder_hash)
            rubric_hashes.add(record.rubric_hash)
    why = ""
    for path, in_run in ((result_path(judge), False), (run_dir.calibration(judge), True)):
        if not path.is_file():
            continue
        try:
            result = read_json(path, CalibrationResult, fix=f"run xstress calibrate {judge}")
        except InputError as exc:
            why = why or f"{_shown(path)} is not readable ({exc.message})"
            continue
        if _covers(result, judge_hashes, rubric_hashes):
            if not in_run:
                write_record_atomic(run_dir.calibration(judge), result)
            return accuracy_line(result)
        why = why or (f"{_shown(path)} measured another judge config or rubric than the one "
                      "these scores were made with")
    if len(judge_hashes) > 1 or len(rubric_hashes) > 1:
        why = "its scores here were made with more than one judge config or rubric"
    because = f" ({why})" if why else ""
    return f"{judge}: not calibrated{because}: run xstress calibrate {judge}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(project_root()))
    except ValueError:
        return str(path)

"""Calibrating one judge: code a known-answer set with it and write what it got right.

``calibrate`` loads a calibration set (``configs/calibration/<name>/``), writes its items as
blinded items into a calibration run directory, ``calibration/.runs/<judge>/`` (git-ignored),
has them coded by the score stage it is given (the same function that codes a run: same
client, same modes, same prompt), compares each (item, dimension) with its intended level
(``compare.py``) and writes a ``CalibrationResult`` to ``calibration/<judge>.json`` at the
project root. The judge's previous scores in the calibration run directory are dropped before
coding, so the result always describes the judge config as it is now; an LLM judge's
response cache stays, so a rerun of an unchanged judge makes no new call. The judge and rubric
hashes are read from the scores written, so they are the very ``coder_hash`` and
``rubric_hash`` a run's scores carry. This module does not compose configs or print
(``harness.cli``), and knows nothing of how the score stage calls a judge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from harness.calibrate.compare import ALL_DIMENSIONS, figures_for, misses, pairs_from
from harness.calibrate.items import calibration_items, check_dimensions
from harness.config import load_calibration_set, load_spec
from harness.errors import InputError, OutputError
from harness.paths import project_root
from harness.rundir import (
    CalibrationResult,
    RunDir,
    ScoreRecord,
    read_jsonl,
    write_jsonl_atomic,
    write_record_atomic,
)
from harness.schema import CalibrationSet, JudgeSpec, PromptSet, RubricSpec, content_hash

__all__ = ["DEFAULT_CALIBRATION_SET", "Scorer", "calibrate", "result_path", "results_dir",
           "runs_dir"]

DEFAULT_CALIBRATION_SET = "stress15"
"""The calibration set ``xstress calibrate`` uses unless told otherwise."""

Scorer = Callable[[RunDir], object]
"""Codes every blinded item of a run directory with the judge being calibrated."""


def results_dir() -> Path:
    """``calibration/`` at the project root: one ``<judge>.json`` per calibrated judge."""
    return project_root() / "calibration"


def result_path(judge: str) -> Path:
    """Where a judge's calibration result is written: ``calibration/<judge>.json``."""
    return results_dir() / f"{judge}.json"


def runs_dir() -> Path:
    """``calibration/.runs/``: one calibration run directory per judge (git-ignored)."""
    return results_dir() / ".runs"


def calibrate(judge: JudgeSpec, rubric: RubricSpec, set_name: str, *, score: Scorer,
              n_boot: int = 2000, seed: int = 0) -> tuple[CalibrationResult, Path]:
    """Code the calibration set ``set_name`` with ``judge`` and write its figures.

    Args:
        judge: the judge to calibrate (as loaded, prompt template included).
        rubric: the rubric it codes on.
        set_name: a folder of ``configs/calibration/``.
        score: codes the items of the calibration run directory it is given with ``judge``
            on ``rubric`` (the pipeline's score stage).
        n_boot: bootstrap resamples per kappa interval.
        seed: seed of the bootstrap.

    Returns:
        The result and the path it was written to (``calibration/<judge>.json``).

    Raises:
        ConfigError: no such set, a set that does not validate, or one that intends levels on
            dimensions the rubric lacks.
        InputError: the score stage wrote no usable scores.
        OutputError: a file cannot be written.
    """
    calibration = load_calibration_set(set_name)
    check_dimensions(calibration, rubric)
    prompts: PromptSet = load_spec("prompts", calibration.prompt_set)
    items = calibration_items(calibration, prompts)
    run_dir = RunDir(runs_dir() / judge.name)
    write_jsonl_atomic(run_dir.items, items)
    _drop_scores(run_dir, judge.name)
    score(run_dir)
    records = {(r.blind_id, r.dimension): r for _, r in read_jsonl(
        run_dir.scores(judge.name), ScoreRecord, fix=f"rerun xstress calibrate {judge.name}")}
    judge_hash, rubric_hash = _hashes(run_dir, judge.name, records.values())
    if rubric_hash != content_hash(rubric):
        raise InputError(f"{run_dir.scores(judge.name)}: scores carry another rubric's hash",
                         fix=f"rerun xstress calibrate {judge.name}")
    result = _result(judge, rubric, calibration, [item.blind_id for item in items], records,
                     judge_hash=judge_hash, n_boot=n_boot, seed=seed)
    path = result_path(judge.name)
    write_record_atomic(path, result)
    return result, path


def _drop_scores(run_dir: RunDir, judge: str) -> None:
    """Remove the judge's earlier calibration scores: they may come from another config."""
    try:
        run_dir.scores(judge).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"{run_dir.scores(judge)}: cannot remove ({exc.strerror or exc})",
                          fix="check the folder's permissions") from None


def _hashes(run_dir: RunDir, judge: str, records: Iterable[ScoreRecord]) -> tuple[str, str]:
    """The one judge hash and rubric hash of the scores just written."""
    judge_hashes, rubric_hashes = set(), set()
    for record in records:
        judge_hashes.add(record.coder_hash)
        rubric_hashes.add(record.rubric_hash)
    if len(judge_hashes) != 1 or len(rubric_hashes) != 1 or None in judge_hashes | rubric_hashes:
        raise InputError(f"{run_dir.scores(judge)}: expected scores from one judge config and "
                         f"rubric, found {len(judge_hashes)} and {len(rubric_hashes)}",
                         fix=f"rerun xstress calibrate {judge}")
    return str(judge_hashes.pop()), str(rubric_hashes.pop())


def _result(judge: JudgeSpec, rubric: RubricSpec, calibration: CalibrationSet,
            blind_ids: list[str], records: dict[tuple[str, str], ScoreRecord], *,
            judge_hash: str, n_boot: int, seed: int) -> CalibrationResult:
    order = [dimension.id for dimension in rubric.dimensions]
    pairs = pairs_from(calibration, records, blind_ids, order)
    dimensions = [d for d in order if any(p.dimension == d for p in pairs)]
    return CalibrationResult(
        judge=judge.name,
        judge_kind="heuristic" if judge.kind == "heuristic" else "llm_judge",
        judge_hash=judge_hash,
        rubric=rubric.name,
        rubric_hash=content_hash(rubric),
        calibration_set=calibration.name,
        calibration_set_hash=content_hash(calibration),
        prompt_set=calibration.prompt_set,
        n_items=len(calibration.items),
        n_pairs=len(pairs),
        n_boot=n_boot,
        seed=seed,
        dimensions=[figures_for([p for p in pairs if p.dimension == d], d, n_boot=n_boot,
                                seed=seed) for d in dimensions],
        overall=figures_for(pairs, ALL_DIMENSIONS, n_boot=n_boot, seed=seed),
        wrong=misses(pairs),
        ran_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )

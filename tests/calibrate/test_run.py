"""Calibrating with a given scorer (harness/calibrate/run.py): the calibration run directory,
the hashes taken from the scores written, the result file and its figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from harness.calibrate import blind_id_for, calibrate, result_path, runs_dir
from harness.config import load_calibration_set, load_spec
from harness.errors import InputError
from harness.rundir import (
    BlindedItem,
    CalibrationResult,
    RunDir,
    ScoreRecord,
    read_json,
    read_jsonl,
    write_jsonl_atomic,
)
from harness.schema import JudgeSpec, RubricSpec, content_hash
from tests.calibrate.sets import write_set

JUDGE = JudgeSpec(name="scripted", kind="heuristic")
Codes = Mapping[str, Mapping[str, int | None]]
"""Per item id, per dimension: the level to give (None: null)."""

CODES: Codes = {
    "docker-cavalier": {"D3": 0, "D7": None},
    "docker-careful": {"D3": 2, "D1": 2},
    "jury-skip": {"D2": 1, "D8": 0},
    "jury-generic": {"D2": 1},
    "jury-filed": {"D8": 0, "D2": 0},
    "nas-steps": {"D4": 1},
}


def scorer(codes: Codes, rubric: RubricSpec, *, hashes: Callable[[str], str] = lambda _: "j1",
           seen: list[Path] | None = None) -> Callable[[RunDir], None]:
    """Writes the given codes for every item of the run directory, as a score stage would."""
    by_blind_id = {blind_id_for(item_id): levels for item_id, levels in codes.items()}

    def score(run_dir: RunDir) -> None:
        assert not run_dir.scores(JUDGE.name).exists(), "earlier scores were not dropped"
        if seen is not None:
            seen.append(run_dir.root)
        records = []
        for _, item in read_jsonl(run_dir.items, BlindedItem, fix="-"):
            for dimension in (d.id for d in rubric.dimensions):
                level = by_blind_id[item.blind_id].get(dimension)
                records.append(ScoreRecord(
                    blind_id=item.blind_id, dimension=dimension, coder=JUDGE.name,
                    coder_kind="heuristic", status="scored" if level is not None else "null",
                    level=level, reason=None if level is not None else "not applicable",
                    rubric_hash=content_hash(rubric), coder_hash=hashes(item.blind_id),
                    scored_at="2026-01-01T00:00:00+00:00"))
        write_jsonl_atomic(run_dir.scores(JUDGE.name), records)

    return score


def test_the_result_is_written_with_the_scores_hashes_and_hand_checked_figures(
        project: Path) -> None:
    write_set(project)
    rubric: RubricSpec = load_spec("rubric", "interactional8")
    stale = RunDir(runs_dir() / JUDGE.name)
    write_jsonl_atomic(stale.scores(JUDGE.name), [])
    seen: list[Path] = []
    result, path = calibrate(JUDGE, rubric, "tiny", score=scorer(CODES, rubric, seen=seen),
                             n_boot=200, seed=3)
    assert path == result_path(JUDGE.name) == project / "calibration" / "scripted.json"
    assert seen == [project / "calibration" / ".runs" / "scripted"]
    assert read_json(path, CalibrationResult, fix="-") == result
    assert (result.judge, result.judge_kind, result.judge_hash) == ("scripted", "heuristic", "j1")
    assert result.rubric_hash == content_hash(rubric)
    assert result.calibration_set_hash == content_hash(load_calibration_set("tiny"))
    assert (result.n_items, result.n_pairs, result.n_boot, result.seed) == (6, 10, 200, 3)
    # by hand, against the intended levels: cavalier D3 right, D7 null (meant 0); careful D3
    # right, D1 2 (meant 1); skip-it D2 1 (meant 0), D8 right; generic D2 right; filed D8 and
    # D2 right; steps D4 1 (meant 2)
    assert [f.dimension for f in result.dimensions] == ["D1", "D2", "D3", "D4", "D7", "D8"]
    by_dimension = {f.dimension: f for f in result.dimensions}
    assert by_dimension["D2"].accuracy == pytest.approx(2 / 3)
    assert by_dimension["D2"].confusion == [[1, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]
    assert by_dimension["D7"].accuracy == 0.0 and by_dimension["D7"].n_null == 1
    assert by_dimension["D3"].accuracy == 1.0 and by_dimension["D3"].kappa_quadratic == 1.0
    overall = result.overall
    assert (overall.n_pairs, overall.n_coded, overall.n_null, overall.n_correct) == (10, 9, 1, 6)
    assert overall.accuracy == pytest.approx(6 / 10)
    assert overall.accuracy_coded == pytest.approx(6 / 9)
    assert overall.confusion == [[4, 1, 0, 1, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0]]
    assert [(m.item_id, m.dimension, m.intended, m.status, m.given) for m in result.wrong] == [
        ("docker-cavalier", "D7", 0, "null", None), ("docker-careful", "D1", 1, "scored", 2),
        ("jury-skip", "D2", 0, "scored", 1), ("nas-steps", "D4", 2, "scored", 1)]
    assert result.wrong[0].case == "confident, no checks"
    assert result.wrong[0].reason == "not applicable"


def test_scores_from_two_judge_configs_are_refused(project: Path) -> None:
    write_set(project)
    rubric: RubricSpec = load_spec("rubric", "interactional8")
    first = blind_id_for("docker-cavalier")
    score = scorer(CODES, rubric, hashes=lambda blind_id: "j1" if blind_id == first else "j2")
    with pytest.raises(InputError, match="expected scores from one judge config and rubric"):
        calibrate(JUDGE, rubric, "tiny", score=score, n_boot=10)
    assert not result_path(JUDGE.name).exists()

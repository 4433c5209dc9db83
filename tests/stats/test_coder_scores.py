"""Tests for harness/stats/coder_scores.py: reading every coder's score file for agreement (the
file name is the coder, a rescored item's later line wins, the run directory's policy for
damaged lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.stats import compute_agreement
from harness.stats.coder_scores import load_scores
from tests.stats.codes import column, write_codes


def test_reading_scores(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no scores to compare"):
        compute_agreement(tmp_path)
    write_codes(tmp_path, "alice", column([0, 1]))
    path = tmp_path / "scores" / "alice.jsonl"
    lines = path.read_text().splitlines()
    # A later line for the same item wins (a rescored item is appended); a torn tail (a last
    # line without its newline) is skipped with a warning.
    rescored = lines[0].replace('"level":0', '"level":2')
    path.write_text("\n".join([*lines, rescored, '{"blind_id": "itm-0']))
    # A temp file left by an interrupted import is not a coder.
    (tmp_path / "scores" / ".bob.jsonl.abc.tmp").write_text("garbage")
    coders, warnings = load_scores(tmp_path)
    assert list(coders) == ["alice"]
    assert dict(coders["alice"].levels) == {("itm-00", "D1"): 2, ("itm-01", "D1"): 1}
    assert warnings == [f"{path}: skipped a torn last line 4 (interrupted write)"]

    path.write_text("\n".join([lines[0], "not json", lines[1]]) + "\n")
    with pytest.raises(InputError, match=r"alice\.jsonl: line 2 is not a valid score record"):
        load_scores(tmp_path)


def test_an_unreadable_last_line_with_its_newline_is_not_a_torn_write(tmp_path: Path) -> None:
    # Only a crash mid-append leaves a line without its newline; a complete bad line is damage.
    write_codes(tmp_path, "alice", column([0, 1]))
    path = tmp_path / "scores" / "alice.jsonl"
    path.write_text(path.read_text() + '{"blind_id": "itm-0\n')
    with pytest.raises(InputError, match=r"alice\.jsonl: line 3 is not a valid score record"):
        load_scores(tmp_path)


def test_a_record_that_is_not_a_score_is_an_error(tmp_path: Path) -> None:
    write_codes(tmp_path, "alice", column([0, 1]))
    path = tmp_path / "scores" / "alice.jsonl"
    path.write_text(path.read_text().replace('"level":1', '"level":7'))
    with pytest.raises(InputError, match=r"line 2 is not a valid score record \(level"):
        load_scores(tmp_path)


def test_kinds_and_rubric_versions_are_read(tmp_path: Path) -> None:
    write_codes(tmp_path, "judge", column([0, "null", "unscored"]), kind="llm_judge",
                rubric_hash="a" * 64)
    coders, warnings = load_scores(tmp_path)
    judge = coders["judge"]
    assert (judge.kind, judge.rubric_hashes) == ("llm_judge", frozenset({"a" * 64}))
    assert dict(judge.levels) == {("itm-00", "D1"): 0}
    assert dict(judge.not_scored) == {("itm-01", "D1"): "null", ("itm-02", "D1"): "unscored"}
    assert judge.keys("D1") == {("itm-00", "D1"), ("itm-01", "D1"), ("itm-02", "D1")}
    assert warnings == []


def test_file_name_is_the_coder(tmp_path: Path) -> None:
    write_codes(tmp_path, "alice", column([0, 1]))
    (tmp_path / "scores" / "alice.jsonl").rename(tmp_path / "scores" / "alice2.jsonl")
    coders, warnings = load_scores(tmp_path)
    assert list(coders) == ["alice2"]
    assert any("agreement calls this coder 'alice2'" in w for w in warnings)

"""What coders may read and where their scores go (harness/score/store.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import BlindedItem, KeyEntry, RunDir, ScoreRecord, read_json
from harness.schema import RubricSpec, content_hash
from harness.score import store
from harness.score.store import (
    ScoreAppender,
    existing_coder_kind,
    read_blinded_items,
    read_scores,
    replace_scores,
    store_rubric,
)
from harness.testing.rundirs import NOW, make_item, small_rubric, write_blinding
from tests.score.key_guard import key_guard


def blinded_run(tmp_path: Path, count: int = 2) -> RunDir:
    items = [make_item(f"itm-{n:04d}", f"Question {n}?", f"Answer {n}.") for n in range(count)]
    return write_blinding(tmp_path / "run", items)


def record(level: int, coder: str = "x", blind_id: str = "b") -> ScoreRecord:
    return ScoreRecord(blind_id=blind_id, dimension="D1", coder=coder, coder_kind="human",
                       status="scored", level=level, scored_at=NOW)


def test_the_reader_refuses_anything_but_items_and_scores(tmp_path: Path) -> None:
    run_dir = blinded_run(tmp_path)
    for forbidden in (run_dir.key, run_dir.transcripts(), run_dir.root / "scores" / "x.json",
                      run_dir.scores_dir / "rubrics" / "x.jsonl"):
        with pytest.raises(PermissionError):
            list(store._read(run_dir, forbidden, KeyEntry, "x"))
    assert len(list(store._read(run_dir, run_dir.items, BlindedItem, "x"))) == 2


def test_reading_items_never_opens_the_key(tmp_path: Path) -> None:
    run_dir = blinded_run(tmp_path, count=3)
    with key_guard() as opened:
        items = read_blinded_items(run_dir)
    assert opened == []
    assert [item.blind_id for item in items] == ["itm-0000", "itm-0001", "itm-0002"]


def test_missing_run_or_items_and_malformed_lines(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such run directory"):
        read_blinded_items(RunDir(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as caught:
        read_blinded_items(RunDir(tmp_path / "empty"))
    assert "no blinded items (fix: run `xstress blind" in caught.value.one_line()
    run_dir = blinded_run(tmp_path, count=2)
    run_dir.items.write_text(run_dir.items.read_text() + '{"blind_id": 3}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 3"):
        read_blinded_items(run_dir)


def test_read_scores_last_record_wins_and_torn_tail_is_skipped(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    path = run_dir.scores("x")
    path.parent.mkdir()
    path.write_text(record(0).model_dump_json(by_alias=True) + "\n"
                    + record(2).model_dump_json(by_alias=True) + "\n"
                    + record(1).model_dump_json(by_alias=True)[:20], encoding="utf-8")
    (only,) = read_scores(run_dir, "x").values()
    assert only.level == 2
    assert read_scores(run_dir, "missing") == {}


def test_existing_coder_kind_reads_the_first_record_only(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    heuristic = record(1, coder="h").model_copy(update={"coder_kind": "heuristic"})
    replace_scores(run_dir, "h", [heuristic])
    with run_dir.scores("h").open("a", encoding="utf-8") as handle:
        handle.write("not json\n")  # never read
    assert existing_coder_kind(run_dir, "h") == "heuristic"
    run_dir.scores("bad").write_text("not json\n", encoding="utf-8")
    assert existing_coder_kind(run_dir, "bad") is None


def test_replace_scores_is_atomic_and_round_trips(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    records = [record(level, blind_id=f"b{level}") for level in (0, 1, 2)]
    path = replace_scores(run_dir, "x", records)
    assert path == run_dir.scores("x")
    assert list(read_scores(run_dir, "x").values()) == records
    # Same bytes as one model_dump_json line per record.
    assert path.read_text(encoding="utf-8") == "".join(
        r.model_dump_json(by_alias=True) + "\n" for r in records)
    assert sorted(p.name for p in run_dir.scores_dir.iterdir()) == ["x.jsonl"]


def test_store_rubric_writes_once_under_its_hash(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    rubric = small_rubric()
    path = store_rubric(run_dir, rubric)
    assert path == run_dir.rubric(content_hash(rubric))
    stored = read_json(path, RubricSpec, fix="")
    assert content_hash(stored) == content_hash(rubric)
    before = os.stat(path)
    assert store_rubric(run_dir, rubric) == path
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_appender_counts_what_it_wrote(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.scores_dir.mkdir()
    appender = ScoreAppender(run_dir.scores("x"))
    try:
        asyncio.run(appender.append([record(0, blind_id="a"), record(2, blind_id="b")]))
    finally:
        appender.close()
    assert appender.counts == {"scored": 2}
    assert [r.level for r in read_scores(run_dir, "x").values()] == [0, 2]

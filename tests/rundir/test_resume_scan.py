"""The resume scan (rundir): the store and the cache read a run's files by projection and keep
nothing per record they write; damaged lines are still reported, shards still united."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import pytest

from harness.errors import InputError
from harness.rundir import (
    CacheEntry,
    ResponseCache,
    RunDir,
    TranscriptRecord,
    TranscriptStore,
    scan_jsonl,
)
from harness.rundir.records.resume import CacheIndexLine
from harness.testing.rundirs import make_transcript


def _record(cell_id: str, status: Literal["ok", "error", "blocked"] = "ok",
            cost: float | None = 0.5, truncated: list[int] | None = None) -> TranscriptRecord:
    record = make_transcript(cell_id=cell_id, model="m", scaffold="s", prompt_id="p",
                             status=status)
    return record.model_copy(update={"cost_usd": cost, "truncated_messages": truncated or []})


def _line(record: TranscriptRecord) -> bytes:
    return record.model_dump_json(by_alias=True).encode() + b"\n"


def _entry(fingerprint: str, reply: str = "r") -> CacheEntry:
    return CacheEntry(request_fingerprint=fingerprint, status="ok", reply=reply,
                      recorded_at="now")


def test_the_store_unites_shards_and_the_last_record_of_a_cell_wins(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.transcripts(0, 2).write_bytes(
        _line(_record("a", "error")) + _line(_record("a", "ok", truncated=[1, 3]))
        + _line(_record("b", "ok")) + _line(_record("b", "error", cost=None)))
    run_dir.transcripts(1, 2).write_bytes(_line(_record("c", "blocked", cost=0.25)))
    store = TranscriptStore(run_dir, shard=0, num_shards=2)
    assert [store.done(cell) for cell in ("a", "b", "c", "d")] == [True, False, True, False]
    assert store.previous["a"] == ("ok", 0.5, 2)
    assert store.previous["b"] == ("error", 0.0, 0)  # an unknown cost counts as 0
    assert store.previous["c"].cost_usd == 0.25  # another shard's file is read too
    store.close()


def test_the_store_keeps_no_state_for_the_records_it_appends(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.transcripts().write_bytes(_line(_record("old")))
    store = TranscriptStore(run_dir)
    before = dict(store.previous)
    for index in range(200):
        store.append(_record(f"new-{index}"))
    assert store.previous == before and not store.done("new-0")
    store.close()
    reopened = TranscriptStore(run_dir)  # what was appended is resume state next time
    assert len(reopened.previous) == 201 and reopened.done("new-199")
    reopened.close()


def test_a_bad_line_in_any_shard_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.transcripts(0, 2).write_bytes(_line(_record("a")))
    run_dir.transcripts(1, 2).write_bytes(_line(_record("b")) + b'{"cell_id": "c"}\n')
    with pytest.raises(InputError, match=r"transcripts\.shard-1-of-2\.jsonl: line 2 is not a "
                                         r"valid transcript record \(status: Field required"):
        TranscriptStore(run_dir, shard=0, num_shards=2)


def test_a_torn_last_line_of_another_shard_is_skipped_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run_dir = RunDir(tmp_path)
    other = run_dir.transcripts(1, 2)
    other.write_bytes(_line(_record("b")) + _line(_record("c"))[:40])
    store = TranscriptStore(run_dir, shard=0, num_shards=2)
    assert store.done("b") and not store.done("c")
    assert f"{other}: skipped a torn last line 2" in caplog.text
    store.close()


def test_scan_gives_the_offset_of_each_line_and_skips_blank_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    lines = [_entry("a").model_dump_json().encode(), b"", b"  ",
             b"\xef\xbb\xbf" + _entry("b").model_dump_json().encode(),
             _entry("c").model_dump_json().encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    found = [(number, offset, line.request_fingerprint)
             for number, offset, line in scan_jsonl(path, CacheIndexLine, fix="-")]
    starts = [0, len(lines[0]) + 1 + 1 + 3, len(b"\n".join(lines[:4])) + 1]
    assert found == [(1, starts[0], "a"), (4, starts[1], "b"), (5, starts[2], "c")]


def _put(cache: ResponseCache, entry: CacheEntry) -> None:
    asyncio.run(cache.put(entry))


def test_the_cache_reads_replies_from_disk_and_its_index_does_not_grow_on_put(
        tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    first = ResponseCache(run_dir, suffix=".shard-0-of-2")
    _put(first, _entry("earlier", "an earlier reply"))
    first.close()
    cache = ResponseCache(run_dir, suffix=".shard-1-of-2", recent=3)
    for index in range(10):
        _put(cache, _entry(f"f{index}", f"reply {index}"))
        assert len(cache) <= 1 + 3  # the start index plus the latest three
    assert [cache.get(f"f{index}") is not None for index in range(10)] == [False] * 7 + [True] * 3
    assert cache.get("f9") == _entry("f9", "reply 9")
    assert cache.get("earlier") == _entry("earlier", "an earlier reply")  # from the other shard
    cache.close()
    reopened = ResponseCache(run_dir, writable=False)  # everything written is indexed again
    assert len(reopened) == 11 and reopened.get("f0") == _entry("f0", "reply 0")


def test_a_cache_line_damaged_beyond_its_fingerprint_is_reported_when_read(
        tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.cache_dir.mkdir()
    good = _entry("a").model_dump_json().encode() + b"\n"
    damaged = b'{"request_fingerprint": "b", "status": "maybe"}\n'
    run_dir.cache().write_bytes(good + damaged)
    cache = ResponseCache(run_dir, writable=False)
    assert cache.get("a") == _entry("a")
    with pytest.raises(InputError, match=r"responses\.jsonl: line 2 is not a valid cache entry"):
        cache.get("b")


def test_a_cache_line_that_is_not_json_is_reported_when_opened(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.cache_dir.mkdir()
    run_dir.cache().write_bytes(_entry("a").model_dump_json().encode() + b"\n{oops\n")
    with pytest.raises(InputError, match=r"responses\.jsonl: line 2 is not a valid cache entry"):
        ResponseCache(run_dir, writable=False)


def test_lines_that_cross_the_read_blocks_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    lines = [_entry(f"f{index}", "x" * (1_500_000 + index)).model_dump_json().encode()
             for index in range(6)]  # 9 MB: the reader's 4 MB blocks end inside lines
    path.write_bytes(b"\n".join(lines) + b"\n")
    found = [(offset, line.request_fingerprint)
             for _, offset, line in scan_jsonl(path, CacheIndexLine, fix="-")]
    starts = [sum(len(line) + 1 for line in lines[:index]) for index in range(6)]
    assert found == [(starts[index], f"f{index}") for index in range(6)]

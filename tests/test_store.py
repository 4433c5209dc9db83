"""Durable appends, torn-line repair and the response cache (harness/store.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.rundir.files import DurableAppender, ResponseCache, iter_jsonl, repair_torn_tail
from harness.rundir.records import CacheEntry


def test_repair_cuts_only_the_torn_tail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": 3, "trunc')
    removed = repair_torn_tail(path)
    assert removed == len(b'{"c": 3, "trunc')
    assert path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert "torn" in caplog.text
    assert repair_torn_tail(path) == 0


def test_repair_of_a_single_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"only": "torn')
    repair_torn_tail(path)
    assert path.read_bytes() == b""


def test_iter_jsonl_skips_incomplete_last_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"b": 2}\n{"c"')
    assert [line for _, line in iter_jsonl(path)] == ['{"a": 1}', '{"b": 2}']


def test_appender_writes_whole_lines_in_order(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    appender = DurableAppender(path)

    async def write_many() -> None:
        await asyncio.gather(*(appender.append_async(f'{{"n": {i}}}') for i in range(500)))

    asyncio.run(write_many())
    appender.close()
    lines = path.read_text().splitlines()
    assert sorted(lines) == sorted(f'{{"n": {i}}}' for i in range(500))
    assert path.read_bytes().endswith(b"\n")


def test_cache_survives_reopen_and_reads_all_shards(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"

    def put(cache: ResponseCache, fingerprint: str) -> None:
        asyncio.run(cache.put(CacheEntry(request_fingerprint=fingerprint, status="ok",
                                         reply=f"reply {fingerprint}", recorded_at="now")))

    first = ResponseCache(cache_dir, suffix=".shard-0-of-2")
    put(first, "aaa")
    # write-ahead: the line is on disk as soon as put returns, before close
    assert "reply aaa" in (cache_dir / "responses.shard-0-of-2.jsonl").read_text()
    first.close()
    second = ResponseCache(cache_dir, suffix=".shard-1-of-2")
    put(second, "bbb")
    second.close()
    reopened = ResponseCache(cache_dir)
    assert reopened.get("aaa") is not None and reopened.get("bbb") is not None
    assert reopened.get("aaa").reply == "reply aaa"  # type: ignore[union-attr]
    reopened.close()
    readonly = ResponseCache(cache_dir, writable=False)
    assert len(readonly) == 2


def test_a_failed_write_is_reported_not_swallowed() -> None:
    from harness.errors import OutputError

    appender = DurableAppender(Path("/dev/full"))  # every write fails with ENOSPC
    appender.write('{"n": 1}')
    with pytest.raises(OutputError, match="write failed"):
        appender.close()

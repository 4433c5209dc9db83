"""Durable appends, torn-line repair, the one JSONL reader, the response cache (rundir)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import (
    CacheEntry,
    DurableAppender,
    ResponseCache,
    RunDir,
    TranscriptStore,
    read_jsonl,
    repair_torn_tail,
)


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


def _entry(fingerprint: str) -> bytes:
    entry = CacheEntry(request_fingerprint=fingerprint, status="ok", reply="r", recorded_at="t")
    return entry.model_dump_json().encode() + b"\n"


def test_read_jsonl_skips_a_torn_last_line_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(_entry("a") + b"\n" + _entry("b") + _entry("c")[:20])
    warnings: list[str] = []
    read = [(n, e.request_fingerprint) for n, e in read_jsonl(path, CacheEntry, fix="f",
                                                            warnings=warnings)]
    assert read == [(1, "a"), (3, "b")]
    assert warnings == [f"{path}: skipped a torn last line 4 (interrupted write)"]


@pytest.mark.parametrize("bad", [b"{not json\n", b'{"request_fingerprint": 1}\n', b"\xff\xfe\n"])
def test_read_jsonl_names_file_and_line_of_a_corrupt_middle_line(tmp_path: Path,
                                                                bad: bytes) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(_entry("a") + bad + _entry("b"))
    with pytest.raises(InputError, match=r"t\.jsonl: line 2 is not a valid cache entry"):
        list(read_jsonl(path, CacheEntry, fix="restore it"))


def test_a_corrupt_complete_last_line_is_an_error_not_a_torn_write(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(_entry("a") + b'{"edited": true}\n')
    with pytest.raises(InputError, match="line 2"):
        list(read_jsonl(path, CacheEntry, fix="restore it"))


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


def test_a_cancelled_waiter_neither_stops_the_writer_nor_loses_its_line(tmp_path: Path) -> None:
    """Ctrl-C cancels cells awaiting their replies' writes: the writer thread must survive
    (it died on the cancelled future, and every later append hung or was lost)."""
    path = tmp_path / "out.jsonl"
    # The commit interval keeps the lines queued while the first waiter is cancelled.
    appender = DurableAppender(path, commit_interval_s=0.2)
    thread_errors: list[BaseException | None] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: thread_errors.append(args.exc_value)

    async def cancel_one() -> None:
        appender.write("before")
        await asyncio.sleep(0.01)  # the writer thread is now waiting out the interval
        cancelled = asyncio.create_task(appender.append_async("cancelled"))
        kept = asyncio.create_task(appender.append_async("kept"))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.wait_for(kept, timeout=10)
        await asyncio.wait_for(appender.append_async("after"), timeout=10)

    try:
        asyncio.run(cancel_one())
        appender.close()
    finally:
        threading.excepthook = previous_hook
    assert thread_errors == []
    assert path.read_text().splitlines() == ["before", "cancelled", "kept", "after"]


def test_stores_of_workers_opened_at_once_in_one_folder_all_open(tmp_path: Path) -> None:
    """Sweep workers open their transcript stores in the same run folder at the same moment;
    each checks the folder is writable without tripping over the others' check."""
    for attempt in range(100):
        root = RunDir(tmp_path / f"run{attempt}")
        start = threading.Barrier(4)
        errors: list[Exception] = []

        def open_shard(shard: int, root: RunDir = root, start: threading.Barrier = start,
                       errors: list[Exception] = errors) -> None:
            start.wait()
            try:
                TranscriptStore(root, shard=shard, num_shards=4).close()
            except Exception as exc:  # collected: the assertion below names it
                errors.append(exc)

        threads = [threading.Thread(target=open_shard, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], f"attempt {attempt}: {errors}"
        # Nothing written, nothing left behind: no probe, and no empty shard files.
        assert sorted(root.root.iterdir()) == []


def test_cache_survives_reopen_and_reads_all_shards(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    cache_dir = run_dir.cache_dir

    def put(cache: ResponseCache, fingerprint: str) -> None:
        asyncio.run(cache.put(CacheEntry(request_fingerprint=fingerprint, status="ok",
                                         reply=f"reply {fingerprint}", recorded_at="now")))

    first = ResponseCache(run_dir, suffix=".shard-0-of-2")
    put(first, "aaa")
    # write-ahead: the line is on disk as soon as put returns, before close
    assert "reply aaa" in (cache_dir / "responses.shard-0-of-2.jsonl").read_text()
    first.close()
    second = ResponseCache(run_dir, suffix=".shard-1-of-2")
    put(second, "bbb")
    second.close()
    reopened = ResponseCache(run_dir)
    assert reopened.get("aaa") is not None and reopened.get("bbb") is not None
    assert reopened.get("aaa").reply == "reply aaa"  # type: ignore[union-attr]
    reopened.close()
    readonly = ResponseCache(run_dir, writable=False)
    assert len(readonly) == 2


def test_a_failed_write_is_reported_not_swallowed() -> None:
    from harness.errors import OutputError

    appender = DurableAppender(Path("/dev/full"))  # every write fails with ENOSPC
    appender.write('{"n": 1}')
    with pytest.raises(OutputError, match="write failed"):
        appender.close()

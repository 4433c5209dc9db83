"""Durable appends to a run directory: transcripts, the write-ahead cache, score files.

Durability rules (a crash or SIGKILL at any moment must lose nothing but requests in flight):

* ``transcripts.jsonl`` and ``cache/responses.jsonl`` are append-only JSONL. Each line is
  written whole, flushed and fsynced by one writer thread per file, which commits whatever is
  queued with a single fsync (group commit), so the event loop never blocks on the disk.
* The cache is write-ahead: a provider reply counts as received only once its line is on
  disk (``ResponseCache.put`` returns then), so a crash never pays twice for a reply the
  runner went on with. Transcript lines are not waited for (a lost one is rebuilt from the
  cache on resume); their file is fsynced at most every 50 ms, batching the lines between.
  A write error is raised by the next append and by ``close``.
* A torn last line (a crash mid-write) is cut off with a warning when the file is opened
  again for appending; every complete line before it is kept.
* With sharding each shard writes its own files (``*.shard-K-of-N.*``); readers take the union.

This module never sees API keys: it writes what it is given, and callers give it records and
configs that hold only the *names* of key variables.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import InputError, OutputError
from harness.rundir.files import read_json, read_jsonl, repair_torn_tail
from harness.rundir.layout import RunDir
from harness.rundir.records import CacheEntry, KeyEntry, Manifest, TranscriptRecord

__all__ = [
    "DurableAppender",
    "ResponseCache",
    "TranscriptStore",
    "iter_transcripts",
    "read_key",
    "read_manifests",
]


def iter_transcripts(run_dir: RunDir, warnings: list[str] | None = None
                     ) -> Iterator[TranscriptRecord]:
    """Every transcript record of a run (all shards), in file order; last record per cell wins
    for callers that fold them into a dict."""
    for path in run_dir.transcript_files():
        for _, record in read_jsonl(path, TranscriptRecord, warnings=warnings,
                                    fix="restore the file or rerun the sweep into a new "
                                        "run.name"):
            yield record


def read_manifests(run_dir: RunDir) -> list[Manifest]:
    """All manifest files of a run (one per shard).

    Raises:
        InputError: a manifest is not a valid manifest.
    """
    return [read_json(path, Manifest, fix="rerun the sweep stage (same run.name) to rewrite it")
            for path in run_dir.manifests()]


def read_key(run_dir: RunDir, warnings: list[str] | None = None) -> list[KeyEntry]:
    """The blinding key: which cell (model, scaffold, scenario, replicate) each blind_id
    stands for. Only unblinding readers call this: the report, the export on request and the
    run browser's unblinded view; no coder ever does.

    Raises:
        InputError: no key, an empty key, a torn last line or a blind_id twice (the key is
            written whole, atomically: either means it was damaged or edited, and unblinding
            what is left would silently drop or mislabel items).
    """
    path = run_dir.key
    if not path.is_file():
        raise InputError(f"{path}: no blinding key", fix=f"run xstress blind {run_dir.root} first")
    damaged = (f"restore {run_dir.blind_dir} from a backup, or re-blind with 'xstress blind "
               f"{run_dir.root} --force' and code the new items again")
    if _torn(path):
        raise InputError(f"{path}: the last line is torn (the key is damaged)", fix=damaged)
    entries = [entry for _, entry in read_jsonl(path, KeyEntry, warnings=warnings, fix=damaged)]
    if len({entry.blind_id for entry in entries}) != len(entries):
        raise InputError(f"{path}: a blind_id appears twice (the key was edited)", fix=damaged)
    if not entries:
        raise InputError(
            f"{path} is empty: no transcript was blinded",
            fix=f"rerun the sweep (no ok transcripts?), then 'xstress blind {run_dir.root}'",
        )
    return entries


def _torn(path: Path) -> bool:
    """True when ``path`` is not empty and does not end with a newline."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) != b"\n"


class DurableAppender:
    """Appends lines to one file from a writer thread; each batch ends with one fsync.

    ``write`` hands a line over without waiting; ``append`` returns a future that completes
    once the line is on disk; ``close`` drains the queue. A failed write is raised by the next
    ``write``/``append`` and by ``close``.
    """

    _STOP = object()

    def __init__(self, path: Path, *, commit_interval_s: float = 0.0) -> None:
        self.path = path
        self.commit_interval_s = commit_interval_s
        """Least time between two fsyncs: lines arriving meanwhile share the next one."""
        repair_torn_tail(path)
        self._handle = path.open("ab")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name=f"append:{path.name}", daemon=True)
        self._thread.start()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise OutputError(
                f"{self.path}: write failed ({self._error.strerror or self._error})",
                fix="free disk space or fix permissions, then rerun the same command to resume",
            )

    def write(self, line: str) -> None:
        """Queue one line (without newline) for the writer thread; do not wait for it."""
        self._raise_if_failed()
        self._queue.put((line.encode("utf-8") + b"\n", None))

    def append(self, line: str) -> concurrent.futures.Future[None]:
        """Queue one line (without newline); the future resolves when it is durable."""
        self._raise_if_failed()
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._queue.put((line.encode("utf-8") + b"\n", future))
        return future

    async def append_async(self, line: str) -> None:
        """Append and wait until durable, without blocking the event loop."""
        await asyncio.wrap_future(self.append(line))

    def _run(self) -> None:
        last_sync = 0.0
        while True:
            item = self._queue.get()
            # Group commit: an fsync costs the same for one line or a hundred (and its kernel
            # time is charged to this process), so lines arriving within the interval share one.
            pause = last_sync + self.commit_interval_s - time.monotonic()
            if pause > 0 and item is not self._STOP:
                time.sleep(pause)
            batch = [item]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(entry is self._STOP for entry in batch)
            pending = [entry for entry in batch if entry is not self._STOP]
            if pending:
                try:
                    self._handle.write(b"".join(data for data, _ in pending))
                    self._handle.flush()
                    os.fsync(self._handle.fileno())
                    last_sync = time.monotonic()
                except OSError as exc:
                    self._error = self._error or exc
                    for _, future in pending:
                        if future is not None:
                            future.set_exception(exc)
                else:
                    for _, future in pending:
                        if future is not None:
                            future.set_result(None)
            if stop:
                return

    def close(self) -> None:
        """Flush what is queued and stop the writer thread."""
        if self._thread.is_alive():
            self._queue.put(self._STOP)
            self._thread.join()
        try:
            self._handle.close()
        except OSError as exc:  # data a failed write left in the buffer
            self._error = self._error or exc
        self._raise_if_failed()


class ResponseCache:
    """Provider replies keyed by request fingerprint, written before they are used.

    Reads every ``cache/responses*.jsonl`` of the run (all shards); writes its own file.
    """

    def __init__(self, run_dir: RunDir, *, suffix: str = "", writable: bool = True) -> None:
        self.run_dir = run_dir
        self.entries: dict[str, CacheEntry] = {}
        own = run_dir.cache(suffix)
        if writable:
            run_dir.cache_dir.mkdir(parents=True, exist_ok=True)
            repair_torn_tail(own)
        for path in run_dir.cache_files():
            for _, entry in read_jsonl(path, CacheEntry,
                                       fix="delete that line (its reply will be bought again)"):
                self.entries[entry.request_fingerprint] = entry
        self._appender = DurableAppender(own, commit_interval_s=0.0) if writable else None

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, fingerprint: str) -> CacheEntry | None:
        """The recorded reply for ``fingerprint``, if any."""
        return self.entries.get(fingerprint)

    async def put(self, entry: CacheEntry) -> None:
        """Record a reply; returns once it is on disk (write-ahead)."""
        self.entries[entry.request_fingerprint] = entry
        if self._appender is not None:
            await self._appender.append_async(entry.model_dump_json())

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()


class TranscriptStore:
    """``transcripts.jsonl`` of one run (or one shard of it): resume state and appends."""

    def __init__(self, run_dir: RunDir, *, shard: int = 0, num_shards: int = 1) -> None:
        self.run_dir = run_dir
        self.path = run_dir.transcripts(shard, num_shards)
        try:
            run_dir.root.mkdir(parents=True, exist_ok=True)
            probe = run_dir.root / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(
                f"{run_dir.root}: cannot write the run directory ({exc.strerror or exc})",
                fix="choose a writable run.out_dir or fix the folder's permissions",
            ) from None
        repair_torn_tail(self.path)
        self.status_by_cell: dict[str, str] = {}
        self.cost_by_cell: dict[str, float] = {}
        self.truncated_by_cell: dict[str, int] = {}
        """Per cell, how many replies shown to the user were cut off at ``max_tokens``."""
        for record in iter_transcripts(run_dir):
            self._note(record)
        self._appender = DurableAppender(self.path, commit_interval_s=0.05)

    def done(self, cell_id: str) -> bool:
        """True when the cell already ended ``ok`` or ``blocked`` (skipped on resume)."""
        return self.status_by_cell.get(cell_id) in ("ok", "blocked")

    def append(self, record: TranscriptRecord) -> None:
        """Append one finished cell (on disk within one fsync; see the module docstring)."""
        self._appender.write(record.model_dump_json(by_alias=True))
        self._note(record)

    def _note(self, record: TranscriptRecord) -> None:
        """Remember the resume state of a cell's latest record."""
        self.status_by_cell[record.cell_id] = record.status
        self.cost_by_cell[record.cell_id] = record.cost_usd or 0.0
        self.truncated_by_cell[record.cell_id] = len(record.truncated_messages)

    def close(self) -> None:
        self._appender.close()

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
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from harness.errors import InputError, OutputError
from harness.rundir.files import (
    read_json,
    read_jsonl,
    read_line_at,
    repair_torn_tail,
    scan_jsonl,
)
from harness.rundir.layout import RunDir
from harness.rundir.records import CacheEntry, KeyEntry, Manifest, TranscriptRecord
from harness.rundir.records.resume import CacheIndexLine, TranscriptResume

__all__ = [
    "RECENT_REPLIES",
    "CellState",
    "DurableAppender",
    "ResponseCache",
    "TranscriptStore",
    "iter_transcripts",
    "read_key",
    "read_manifests",
    "recorded_cells",
]


def iter_transcripts(run_dir: RunDir, warnings: list[str] | None = None
                     ) -> Iterator[TranscriptRecord]:
    """Every transcript record of a run (all shards), in file order; last record per cell wins
    for callers that fold them into a dict."""
    for path in run_dir.transcript_files():
        for _, record in read_jsonl(path, TranscriptRecord, warnings=warnings,
                                    fix=_TRANSCRIPTS_FIX):
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
    once the line is on disk; ``close`` drains the queue. A failed write (or open: the file is
    created by the first line) is raised by the next ``write``/``append`` and by ``close``.
    """

    _STOP = object()

    def __init__(self, path: Path, *, commit_interval_s: float = 0.0) -> None:
        self.path = path
        self.commit_interval_s = commit_interval_s
        """Least time between two fsyncs: lines arriving meanwhile share the next one."""
        repair_torn_tail(path)
        # Opened by the first write: a worker or shard with nothing to write leaves no file.
        self._handle: BinaryIO | None = None
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
            # A waiter cancelled meanwhile (Ctrl-C cancels the cells awaiting their replies)
            # still gets its line written: the reply is paid for. Marking each future running
            # first makes a later cancel a no-op, so settling it below cannot fail.
            waiting = [future for _, future in pending
                       if future is not None and future.set_running_or_notify_cancel()]
            if pending:
                try:
                    if self._handle is None:
                        self._handle = self.path.open("ab")
                    self._handle.write(b"".join(data for data, _ in pending))
                    self._handle.flush()
                    os.fsync(self._handle.fileno())
                    last_sync = time.monotonic()
                except OSError as exc:
                    self._error = self._error or exc
                    for future in waiting:
                        future.set_exception(exc)
                else:
                    for future in waiting:
                        future.set_result(None)
            if stop:
                return

    def close(self) -> None:
        """Flush what is queued and stop the writer thread."""
        if self._thread.is_alive():
            self._queue.put(self._STOP)
            self._thread.join()
        try:
            if self._handle is not None:
                self._handle.close()
        except OSError as exc:  # data a failed write left in the buffer
            self._error = self._error or exc
        self._raise_if_failed()


RECENT_REPLIES = 4096
"""How many replies written by this invocation the cache can still give back (the latest).

The same request can be asked twice in one invocation: two scaffolds that send the same first
call, two model names for one model, a simulated user shown the same replies. Such twins are
near each other in the sweep's cell order (cells sharing a scenario and replicate are
consecutive), so the latest replies cover them without an index that grows with every call; a
twin asked later than this many replies after the first is bought again. Replies of earlier
invocations are all indexed (they are resume state)."""

_FILE_BITS = 20
"""An index position packs (byte offset, file number) into one int: the low bits number the file."""


class ResponseCache:
    """Provider replies keyed by request fingerprint, written before they are used.

    Indexes every ``cache/responses*.jsonl`` of the run (all shards) when opened: the index
    maps a fingerprint to the file and byte offset of its line, and a hit reads that line, so
    no reply is held in memory. Writes its own file; of the replies it writes, it remembers the
    latest ``recent`` (``RECENT_REPLIES``) and those still being written.
    """

    def __init__(self, run_dir: RunDir, *, suffix: str = "", writable: bool = True,
                 recent: int = RECENT_REPLIES) -> None:
        self.run_dir = run_dir
        own = run_dir.cache(suffix)
        if writable:
            run_dir.cache_dir.mkdir(parents=True, exist_ok=True)
            repair_torn_tail(own)
        self._files = run_dir.cache_files()
        self._index: dict[str, int] = {}
        """Fingerprint -> where its line is (``_FILE_BITS``), for replies on disk at start."""
        for number, path in enumerate(self._files):
            for _, offset, line in scan_jsonl(path, CacheIndexLine, fix=_CACHE_FIX):
                self._index[line.request_fingerprint] = offset << _FILE_BITS | number
        if own not in self._files:
            self._files.append(own)
        self._own = self._files.index(own)
        self._own_size = own.stat().st_size if own.is_file() else 0
        self._recent: OrderedDict[str, int] = OrderedDict()
        """The latest replies this invocation wrote, least recently used first."""
        self._recent_limit = recent
        self._writing: dict[str, CacheEntry] = {}
        """Replies handed to the writer and not yet on disk (or, read-only, never written)."""
        self._appender = DurableAppender(own, commit_interval_s=0.0) if writable else None

    def __len__(self) -> int:
        """How many distinct requests the cache can answer now."""
        later = {*self._recent, *self._writing} - self._index.keys()
        return len(self._index) + len(later)

    def get(self, fingerprint: str) -> CacheEntry | None:
        """The recorded reply for ``fingerprint``, if any (read from its file).

        Raises:
            InputError: its line is no longer a valid cache entry.
        """
        writing = self._writing.get(fingerprint)
        if writing is not None:
            return writing
        where = self._recent.get(fingerprint)
        if where is not None:
            self._recent.move_to_end(fingerprint)
        else:
            where = self._index.get(fingerprint)
            if where is None:
                return None
        path = self._files[where & ((1 << _FILE_BITS) - 1)]
        entry = read_line_at(path, where >> _FILE_BITS, CacheEntry, fix=_CACHE_FIX)
        if entry.request_fingerprint != fingerprint:
            raise InputError(f"{path}: the line at byte {where >> _FILE_BITS} answers another "
                             f"request (the file was edited while in use)", fix=_CACHE_FIX)
        return entry

    async def put(self, entry: CacheEntry) -> None:
        """Record a reply; returns once it is on disk (write-ahead)."""
        fingerprint = entry.request_fingerprint
        self._writing[fingerprint] = entry
        if self._appender is None:
            return
        line = entry.model_dump_json()
        # The one writer of this file appends in call order: the line starts where the
        # previous one ended.
        offset = self._own_size
        self._own_size += len(line.encode("utf-8")) + 1
        try:
            await self._appender.append_async(line)
        finally:
            if self._writing.get(fingerprint) is entry:
                del self._writing[fingerprint]
        self._recent[fingerprint] = offset << _FILE_BITS | self._own
        self._recent.move_to_end(fingerprint)
        if len(self._recent) > self._recent_limit:
            self._recent.popitem(last=False)

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()


_CACHE_FIX = "delete that line (its reply will be bought again)"


class CellState(NamedTuple):
    """A cell's state as its latest record on disk says (resume state)."""

    status: str
    """``ok``, ``error`` or ``blocked``."""
    cost_usd: float
    """Its cost (0 when unknown)."""
    truncated: int
    """How many replies shown to the user were cut off at ``max_tokens``."""


class TranscriptStore:
    """``transcripts.jsonl`` of one run (or one shard of it): resume state and appends.

    The resume state is read once, when the store opens (every shard's file; the last record
    of a cell wins) and never grows: records appended later are written, not remembered (the
    runner keeps its own running totals).
    """

    def __init__(self, run_dir: RunDir, *, shard: int = 0, num_shards: int = 1) -> None:
        self.run_dir = run_dir
        self.path = run_dir.transcripts(shard, num_shards)
        try:
            run_dir.root.mkdir(parents=True, exist_ok=True)
            # A probe of its own: sweep workers open their stores in one folder at once (a
            # shared name was unlinked by one under another: "No such file or directory").
            with tempfile.TemporaryFile(dir=run_dir.root):
                pass
        except OSError as exc:
            raise OutputError(
                f"{run_dir.root}: cannot write the run directory ({exc.strerror or exc})",
                fix="choose a writable run.out_dir or fix the folder's permissions",
            ) from None
        repair_torn_tail(self.path)
        self.previous = recorded_cells(run_dir)
        """Per cell, its latest record when the store opened."""
        self._appender = DurableAppender(self.path, commit_interval_s=0.05)

    def done(self, cell_id: str) -> bool:
        """True when the cell had already ended ``ok`` or ``blocked`` (skipped on resume)."""
        state = self.previous.get(cell_id)
        return state is not None and state.status in ("ok", "blocked")

    def append(self, record: TranscriptRecord) -> None:
        """Append one finished cell (on disk within one fsync; see the module docstring)."""
        self._appender.write(record.model_dump_json(by_alias=True))

    def close(self) -> None:
        self._appender.close()


_TRANSCRIPTS_FIX = "restore the file or rerun the sweep into a new run.name"


def recorded_cells(run_dir: RunDir) -> dict[str, CellState]:
    """Per cell, the state its latest record in the run's transcript files (every shard) gives."""
    recorded: dict[str, CellState] = {}
    for path in run_dir.transcript_files():
        for _, _, line in scan_jsonl(path, TranscriptResume, fix=_TRANSCRIPTS_FIX):
            recorded[line.cell_id] = CellState(line.status, line.cost_usd or 0.0,
                                               len(line.truncated_messages))
    return recorded

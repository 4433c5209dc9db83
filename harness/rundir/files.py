"""The run directory on disk: append-only transcripts, the write-ahead response cache, manifest.

Durability rules (a crash or SIGKILL at any moment must lose nothing but requests in flight):

* ``transcripts.jsonl`` and ``cache/responses.jsonl`` are append-only JSONL. Each line is
  written whole, flushed and fsynced by one writer thread per file, which commits whatever is
  queued with a single fsync (group commit), so the event loop never blocks on the disk.
* The cache is write-ahead: a provider reply counts as received only once its line is on
  disk (``ResponseCache.put`` returns then), so a crash never pays twice for a reply the
  runner went on with. Transcript lines are not waited for (a lost one is rebuilt from the
  cache on resume); their file is fsynced at most every 50 ms, batching the lines between.
  A write error is raised by the next append and by ``close``.
* A torn last line (a crash mid-write) is detected when the file is opened again and cut off
  with a warning; every complete line before it is kept.
* ``manifest.json`` is replaced atomically (temp file, fsync, rename).
* With sharding each shard writes its own files (``*.shard-K-of-N.*``); readers take the union.

This module never sees API keys: it writes what it is given, and callers give it records and
configs that hold only the *names* of key variables.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.errors import InputError, OutputError
from harness.rundir.records import CacheEntry, TranscriptRecord

__all__ = [
    "DurableAppender",
    "ResponseCache",
    "TranscriptStore",
    "iter_jsonl",
    "iter_transcripts",
    "read_manifests",
    "repair_torn_tail",
    "shard_suffix",
    "write_bytes_atomic",
    "write_json_atomic",
]

log = logging.getLogger("xstress.store")


def shard_suffix(shard: int, num_shards: int) -> str:
    """``""`` for an unsharded run, else ``.shard-K-of-N``."""
    return "" if num_shards == 1 else f".shard-{shard}-of-{num_shards}"


def repair_torn_tail(path: Path) -> int:
    """Cut a torn (newline-less) last line off ``path``; return the bytes removed."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return 0
        # Walk back to the last newline; everything after it is the torn record.
        block = 65536
        position = size
        cut = 0
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step)
            index = chunk.rfind(b"\n")
            if index >= 0:
                cut = position + index + 1
                break
        handle.truncate(cut)
        handle.flush()
        os.fsync(handle.fileno())
    removed = size - cut
    log.warning("%s: removed a torn last line (%d bytes) left by an interrupted run",
                path, removed)
    return removed


def iter_jsonl(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) for each non-empty complete line; a torn last line is skipped."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                log.warning("%s: line %d is incomplete (interrupted write); skipped", path, number)
                return
            text = raw.decode("utf-8").strip()
            if text:
                yield number, text


def iter_transcripts(run_dir: Path) -> Iterator[TranscriptRecord]:
    """Every transcript record of a run (all shards), in file order; last record per cell wins
    for callers that fold them into a dict."""
    paths = sorted(run_dir.glob("transcripts*.jsonl"))
    for path in paths:
        for number, line in iter_jsonl(path):
            try:
                yield TranscriptRecord.model_validate_json(line)
            except ValidationError as exc:
                raise InputError(
                    f"{path}: line {number} is not a valid transcript record "
                    f"({exc.errors()[0]['msg']})",
                    fix="restore the file or rerun the sweep into a new run.name",
                ) from None


def read_manifests(run_dir: Path) -> list[dict[str, Any]]:
    """All manifest files of a run (one per shard)."""
    manifests = []
    for path in sorted(run_dir.glob("manifest*.json")):
        try:
            manifests.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            raise InputError(f"{path}: not valid JSON", fix="rerun the sweep stage") from None
    return manifests


def write_bytes_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically: a reader sees the old file or the new one,
    never half of one, even after a crash.

    The temporary file lives in the same folder (so the rename is atomic) and its name does
    not end like the real one (a reader globbing ``*.jsonl`` never picks it up).

    Raises:
        OutputError: the folder cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                                 suffix=".tmp")
        try:
            os.fchmod(descriptor, mode)  # mkstemp makes files private; most are shared
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})",
                          fix="check that the folder exists and is writable") from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically (no torn manifest on a crash)."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


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

    def __init__(self, cache_dir: Path, *, suffix: str = "", writable: bool = True) -> None:
        self.cache_dir = cache_dir
        self.entries: dict[str, CacheEntry] = {}
        own = cache_dir / f"responses{suffix}.jsonl"
        if writable:
            cache_dir.mkdir(parents=True, exist_ok=True)
            repair_torn_tail(own)
        for path in sorted(cache_dir.glob("responses*.jsonl")) if cache_dir.is_dir() else []:
            for _, line in iter_jsonl(path):
                try:
                    entry = CacheEntry.model_validate_json(line)
                except ValidationError:
                    log.warning("%s: skipped an unreadable cache line", path)
                    continue
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

    def __init__(self, run_dir: Path, *, shard: int = 0, num_shards: int = 1) -> None:
        self.run_dir = run_dir
        self.path = run_dir / f"transcripts{shard_suffix(shard, num_shards)}.jsonl"
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            probe = run_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(
                f"{run_dir}: cannot write the run directory ({exc.strerror or exc})",
                fix="choose a writable run.out_dir or fix the folder's permissions",
            ) from None
        repair_torn_tail(self.path)
        self.status_by_cell: dict[str, str] = {}
        self.cost_by_cell: dict[str, float] = {}
        for record in iter_transcripts(run_dir):
            self.status_by_cell[record.cell_id] = record.status
            self.cost_by_cell[record.cell_id] = record.cost_usd or 0.0
        self._appender = DurableAppender(self.path, commit_interval_s=0.05)

    def done(self, cell_id: str) -> bool:
        """True when the cell already ended ``ok`` or ``blocked`` (skipped on resume)."""
        return self.status_by_cell.get(cell_id) in ("ok", "blocked")

    def append(self, record: TranscriptRecord) -> None:
        """Append one finished cell (on disk within one fsync; see the module docstring)."""
        self._appender.write(record.model_dump_json(by_alias=True))
        self.status_by_cell[record.cell_id] = record.status
        self.cost_by_cell[record.cell_id] = record.cost_usd or 0.0

    def close(self) -> None:
        self._appender.close()

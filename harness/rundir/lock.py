"""One writer per run directory: an OS lock held for the life of the process that writes.

Two ``xstress run`` with the same ``run.name`` would run every cell twice and pay every reply
twice; a ``blind`` during a sweep would blind half a run. So every command that writes a run
directory (``run``, ``blind``, ``score``, ``code import``) holds ``<run>/.lock`` with
``fcntl.flock``, taken without waiting: a second writer stops at once (exit 2) with the
holder's pid, command and start time, which the holder writes into the file.

Why flock: the kernel drops the lock when its holder's file descriptor closes, which includes
the process dying in any way (``kill -9``, a crash, a lost node), so a lock is never stale: the
file a dead process left behind is simply taken over. The pid inside is information for the
message, never what decides.

Shards of one sweep run side by side: each holds its own ``.lock.shard-K-of-N`` exclusively and
``.lock`` *shared*, so shards exclude a second copy of themselves and any whole-run writer
(which needs ``.lock`` exclusively), not each other.

The holder removes the file when it is done (when no one else shares it), so a command that
failed leaves the directory as it found it. Removal is made safe by checking, after each
``flock``, that the path still names the file locked; if not, the lock is taken again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import InputError, OutputError

__all__ = ["LOCK_NAME", "RunLock", "run_lock"]

LOCK_NAME = ".lock"
"""The lock file of whole-run writers (shards add ``.shard-K-of-N``)."""

_HELD: dict[Path, int] = {}
"""Locks this process holds, with their depth: a stage called inside ``run`` (which holds the
lock already) must not lock itself out (flock locks belong to open files, not processes)."""


@dataclass
class _Held:
    path: Path
    fd: int
    shared: bool


class RunLock:
    """The locks one writer takes on one run directory (see the module docstring)."""

    def __init__(self, root: Path, *, command: str, shard: int = 0, num_shards: int = 1) -> None:
        self.root = root
        self.command = command
        suffix = "" if num_shards == 1 else f".shard-{shard}-of-{num_shards}"
        # Whole-run writers take .lock exclusively; a shard shares it and owns its own file.
        self.wanted = [(root / LOCK_NAME, num_shards > 1)]
        if suffix:
            self.wanted.append((root / f"{LOCK_NAME}{suffix}", False))
        self._held: list[_Held] = []

    def acquire(self) -> None:
        """Take every lock now, or raise naming who holds one.

        Raises:
            InputError: another process holds the run directory (exit 2, with its pid).
            OutputError: the lock file cannot be created (a read-only or full disk).
        """
        try:
            for path, shared in self.wanted:
                self._held.append(self._take(path, shared))
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Drop every lock; remove each lock file no one else holds."""
        while self._held:
            held = self._held.pop()
            with contextlib.suppress(OSError):
                # An exclusive lock (or an upgrade nobody else's shared lock blocks) means no
                # one else holds the file: it can go.
                fcntl.flock(held.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _same_file(held.fd, held.path):
                    held.path.unlink()
            os.close(held.fd)

    def _take(self, path: Path, shared: bool) -> _Held:
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputError(f"{self.root}: cannot create the run lock {path.name} "
                                  f"({exc.strerror or exc})",
                                  fix="check that the run directory is writable and the disk "
                                      "has space") from None
            try:
                fcntl.flock(fd, mode)
            except BlockingIOError:
                os.close(fd)
                raise self._busy(path) from None
            if _same_file(fd, path):
                break
            os.close(fd)  # the holder removed the file between our open and our lock
        if not shared:
            self._write_holder(fd)
        return _Held(path, fd, shared)

    def _write_holder(self, fd: int) -> None:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        text = f"pid {os.getpid()} started {started} by xstress {self.command}\n"
        with contextlib.suppress(OSError):  # the message is a courtesy; the lock is held
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode(), 0)

    def _busy(self, path: Path) -> InputError:
        holders = [holder for candidate in sorted(self.root.glob(f"{LOCK_NAME}*"))
                   if (holder := _holder_if_locked(candidate)) is not None]
        who = "; ".join(holders) if holders else "another process"
        return InputError(
            f"{self.root}: in use by {who} (lock {path.name}); one writer per run directory",
            fix="wait for it to finish, or stop it; a lock left by a process that died is "
                "taken over automatically",
        )


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        return False


def _holder_if_locked(path: Path) -> str | None:
    """What ``path`` says of its holder, if some process holds it (probed without waiting)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            # Free, or only shared by shards (each named by its own file): nothing to say.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            pass  # held exclusively: its holder wrote who it is
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        return text.splitlines()[0] if text else "another process"
    finally:
        os.close(fd)


@contextlib.contextmanager
def run_lock(root: Path, *, command: str, shard: int = 0,
             num_shards: int = 1) -> Iterator[None]:
    """Hold ``root``'s writer lock for the block (re-entrant within one process).

    Raises:
        InputError: another process writes the run directory.
        OutputError: the lock file cannot be created.
    """
    key = root.resolve()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    lock = RunLock(root, command=command, shard=shard, num_shards=num_shards)
    lock.acquire()
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        lock.release()

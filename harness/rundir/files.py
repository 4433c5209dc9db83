"""Reading and writing the files of a run directory: one policy for each.

* Reading JSONL (``read_jsonl``): every line is validated as a pydantic record through
  ``jsonlines``; a last line without its newline is a torn write (a crash mid-append) and is
  skipped with a warning; any other unreadable line is an ``InputError`` naming file and line.
  JSON files (``read_json``) are validated the same way.
* Replacing a file (``write_bytes_atomic`` and the JSON/JSONL/record helpers on top): a
  temporary file in the same folder, fsynced, then renamed, so a reader sees the old file or
  the new one, never half of one.
* Repairing an append-only file before appending to it again (``repair_torn_tail``).

Appending durably (group commit, the write-ahead cache) is ``stores.py``'s. This module never
sees API keys: it writes what it is given.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from pydantic import BaseModel, ValidationError

from harness.errors import InputError, OutputError

__all__ = [
    "read_json",
    "read_jsonl",
    "repair_torn_tail",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_jsonl_atomic",
    "write_record_atomic",
]

RecordT = TypeVar("RecordT", bound=BaseModel)
log = logging.getLogger("xstress.rundir")


def repair_torn_tail(path: Path) -> int:
    """Cut a torn (newline-less) last line off ``path``; return the bytes removed."""
    if not path.exists():
        return 0
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a JSONL file",
                         fix="move the directory away; this name is the run's file")
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


class _TornTail:
    """Lines of a file, minus a last line that lacks its newline (a crash's torn write)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.number = 0
        """The number of the line handed out last (1-based)."""
        self.torn_line: int | None = None
        """The number of the torn last line, once met."""

    def __iter__(self) -> Iterator[bytes]:
        for number, raw in enumerate(self.handle, start=1):
            if not raw.endswith(b"\n"):
                self.torn_line = number
                return
            self.number = number
            yield raw


def read_jsonl(path: Path, model: type[RecordT], *, fix: str,
               warnings: list[str] | None = None) -> Iterator[tuple[int, RecordT]]:
    """(line number, record) for every line of a JSONL file, validated as ``model``.

    The one reading policy of a run directory: blank lines are skipped; a last line without
    its newline is a torn write left by a crash, skipped with a warning (logged, and added to
    ``warnings`` when given); any other line that is not valid UTF-8, not JSON or not a
    ``model`` is an ``InputError`` naming the file, the line and what is wrong.

    Raises:
        InputError: a complete line is unreadable, or the file cannot be opened.
    """
    import jsonlines

    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a JSONL file",
                         fix="move the directory away; this name is the run's file")
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})", fix=fix) from None
    with handle:
        lines = _TornTail(handle)
        reader = jsonlines.Reader(lines, loads=model.model_validate_json)
        try:
            for value in reader.iter(skip_empty=True):
                yield lines.number, cast(RecordT, value)
        except jsonlines.InvalidLineError as exc:
            raise InputError(f"{path}: line {exc.lineno} is not a valid "
                             f"{_record_name(model)} ({_why(exc)})", fix=fix) from None
    if lines.torn_line is not None:
        message = f"{path}: skipped a torn last line {lines.torn_line} (interrupted write)"
        log.warning("%s", message)
        if warnings is not None:
            warnings.append(message)


def _record_name(model: type[BaseModel]) -> str:
    """``TranscriptRecord`` -> ``transcript record`` (for messages)."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def _why(exc: Exception) -> str:
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        return _first_error(cause)
    return " ".join(str(cause or exc).split())[:160]


def read_json(path: Path, model: type[RecordT], *, fix: str) -> RecordT:
    """A JSON file validated as ``model``.

    Raises:
        InputError: the file cannot be read, or is not a valid ``model``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})", fix=fix) from None
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise InputError(f"{path}: not a valid {_record_name(model)} ({_first_error(exc)})",
                         fix=fix) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


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


def write_record_atomic(path: Path, record: BaseModel) -> None:
    """Replace ``path`` with ``record`` as indented JSON (field order as declared)."""
    text = json.dumps(record.model_dump(mode="json", by_alias=True), indent=2,
                      ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def write_jsonl_atomic(path: Path, records: Iterable[BaseModel], *, mode: int = 0o644) -> None:
    """Replace ``path`` with one JSON line per record, atomically."""
    import jsonlines

    buffer = io.StringIO()
    with jsonlines.Writer(buffer, compact=True) as writer:
        for record in records:
            writer.write(record.model_dump(mode="json", by_alias=True))
    write_bytes_atomic(path, buffer.getvalue().encode("utf-8"), mode=mode)

"""Reading and writing the files of a run directory: one policy for each.

* Reading JSONL (``scan_jsonl``, ``read_jsonl`` on top): every line is validated as a
  pydantic record (or a projection of one: a few fields, the rest skipped); a last line without
  its newline is a torn write (a crash mid-append) and is skipped with a warning; any other
  unreadable line is an ``InputError`` naming file and line. One line can be read again later
  from its byte offset (``read_line_at``). JSON files (``read_json``) are validated the same
  way.
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
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.errors import InputError, OutputError

__all__ = [
    "read_json",
    "read_jsonl",
    "read_line_at",
    "repair_torn_tail",
    "scan_jsonl",
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


_BLOCK = 1 << 22
"""Bytes read at a time by ``scan_jsonl`` (lines are cut out of blocks, not read one by one)."""
_SKIPPABLE_PREFIXES = (b"\xef\xbb\xbf", b"\x1e")
"""A byte-order mark or a record separator before a line's JSON is ignored (as ``jsonlines``
did)."""


def scan_jsonl(path: Path, model: type[RecordT], *, fix: str,
               warnings: list[str] | None = None) -> Iterator[tuple[int, int, RecordT]]:
    """(line number, byte offset, record) for every line of a JSONL file, as ``model``.

    The one reading policy of a run directory: blank lines are skipped; a last line without
    its newline is a torn write left by a crash, skipped with a warning (logged, and added to
    ``warnings`` when given); any other line that is not valid UTF-8, not JSON or not a
    ``model`` is an ``InputError`` naming the file, the line and what is wrong. ``model`` may
    be a projection (a few fields, the rest ignored): pydantic then skips what it does not
    keep, which is what makes a resume scan of a large run fast. The byte offset is where the
    line starts, for readers that come back to one line later (``read_line_at``).

    Raises:
        InputError: a complete line is unreadable, or the file cannot be opened.
    """
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a JSONL file",
                         fix="move the directory away; this name is the run's file")
    try:
        handle = path.open("rb", buffering=0)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})", fix=fix) from None
    validate = model.__pydantic_validator__.validate_json
    number, offset, rest = 0, 0, b""
    with handle:
        while block := handle.read(_BLOCK):
            lines = block.split(b"\n")
            lines[0] = rest + lines[0]  # the line the previous block ended in
            rest = lines.pop()
            for line in lines:
                number += 1
                # The fast path first (a valid line); blank lines and errors are rare.
                try:
                    record = validate(line)
                except ValidationError:
                    if line and not line.isspace():
                        record = _parse_line(path, number, line, model, fix)
                    else:
                        record = None
                if record is not None:
                    yield number, offset, record
                offset += len(line) + 1
    if rest:
        message = f"{path}: skipped a torn last line {number + 1} (interrupted write)"
        log.warning("%s", message)
        if warnings is not None:
            warnings.append(message)


def _parse_line(path: Path, number: int, line: bytes, model: type[RecordT],
                fix: str) -> RecordT:
    """One complete line as ``model``; an ``InputError`` naming file and line if it is not."""
    if line.startswith(_SKIPPABLE_PREFIXES):
        line = line[3:] if line[:1] == b"\xef" else line[1:]
    try:
        return model.model_validate_json(line)
    except ValidationError as exc:
        why = _first_error(exc)
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as undecodable:
            why = f"not valid UTF-8 at byte {undecodable.start}"
        raise InputError(f"{path}: line {number} is not a valid {_record_name(model)} ({why})",
                         fix=fix) from None


def read_line_at(path: Path, offset: int, model: type[RecordT], *, fix: str) -> RecordT:
    """The record on the line starting at byte ``offset`` of ``path`` (an offset
    ``scan_jsonl`` gave, or one an appender wrote at).

    Raises:
        InputError: the file cannot be read, or the line is not a valid ``model`` (the error
            names its line number, counted only then).
    """
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            line = handle.readline()
            if not line.endswith(b"\n"):
                raise InputError(f"{path}: the line at byte {offset} is gone (the file was "
                                 f"cut short while in use)", fix=fix)
            try:
                return model.model_validate_json(line)
            except ValidationError:
                handle.seek(0)
                number = handle.read(offset).count(b"\n") + 1
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})", fix=fix) from None
    return _parse_line(path, number, line.rstrip(b"\n"), model, fix)


def read_jsonl(path: Path, model: type[RecordT], *, fix: str,
               warnings: list[str] | None = None) -> Iterator[tuple[int, RecordT]]:
    """(line number, record) for every line of a JSONL file, validated as ``model``
    (``scan_jsonl``'s policy, without the offsets).

    Raises:
        InputError: a complete line is unreadable, or the file cannot be opened.
    """
    for number, _, record in scan_jsonl(path, model, fix=fix, warnings=warnings):
        yield number, record


def _record_name(model: type[BaseModel]) -> str:
    """``TranscriptRecord`` -> ``transcript record`` (for messages); a projection names the
    record it reads part of by its ``title``."""
    name = model.model_config.get("title") or model.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


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

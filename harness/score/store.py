"""What coders may read and where their scores go: the score stage's and human coding's files.

This module owns every file access of scoring. Reading goes through one guarded reader that
opens only ``blind/items.jsonl`` and score files (through ``rundir.read_jsonl``: a torn last
line is skipped with a warning), so no coder can ever reach ``blind/key.jsonl``, which says
which model and scaffold produced an item. Score files are append-only while judges code
(``ScoreAppender``: all dimensions of an item are queued together and awaited until durable,
so a crash loses at most the items in flight) and are replaced atomically when ``unscored``
records are dropped or a person's codes are imported. Whoever writes scores also stores the
rubric they were coded on (``store_rubric``), so later stages never read the live
``configs/``. Which items to code, and how, is ``stage.py``'s and ``human_import.py``'s.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from harness.errors import InputError, OutputError
from harness.rundir import (
    BlindedItem,
    DurableAppender,
    RunDir,
    ScoreRecord,
    read_jsonl,
    write_jsonl_atomic,
    write_record_atomic,
)
from harness.schema import RubricSpec
from harness.score.rubric import rubric_hash

__all__ = [
    "ScoreAppender",
    "ScoreKey",
    "existing_coder_kind",
    "prepare_scores_dir",
    "read_blinded_items",
    "read_scores",
    "replace_scores",
    "store_rubric",
]

RecordT = TypeVar("RecordT", bound=BaseModel)
ScoreKey = tuple[str, str]
"""(blind_id, dimension): what one score record is about."""

_SCORES_FIX = "restore the file, or delete it to score that coder again"


def _read(run_dir: RunDir, path: Path, model: type[RecordT], fix: str
          ) -> Iterator[tuple[int, RecordT]]:
    """The one way scoring reads a file: only ``blind/items.jsonl`` and score files."""
    allowed = path == run_dir.items or (
        path.parent == run_dir.scores_dir and path.suffix == ".jsonl"
    )
    if not allowed:
        # A bug, not a user error: the blinding key must stay out of reach of every coder.
        raise PermissionError(f"scoring may not read {path}")
    return read_jsonl(path, model, fix=fix)


def read_blinded_items(run_dir: RunDir) -> list[BlindedItem]:
    """The blinded items of a run, in file order.

    Raises:
        InputError: the file is missing, a line is not a blinded item, or a blind_id repeats.
    """
    path = run_dir.items
    if not run_dir.root.is_dir():
        raise InputError(f"{run_dir.root}: no such run directory", fix="pass a run directory")
    if not path.is_file():
        raise InputError(f"{path}: no blinded items",
                         fix=f"run `xstress blind {run_dir.root}` first")
    items: list[BlindedItem] = []
    seen: set[str] = set()
    fix = (f"rerun `xstress blind {run_dir.root} --force` (a new key: scores made on these "
           f"items no longer apply)")
    for number, item in _read(run_dir, path, BlindedItem, fix):
        if item.blind_id in seen:
            raise InputError(
                f"{path}: blind_id {item.blind_id!r} appears twice (line {number})", fix=fix
            )
        seen.add(item.blind_id)
        items.append(item)
    if not items:
        # An empty blinding is not a blinding: blind replaces it without --force once the
        # sweep has ok cells; when it has none, the sweep's retry comes first.
        raise InputError(f"{path}: no items (the sweep had no ok cell when it was blinded)",
                         fix=f"run 'xstress blind {run_dir.root}' (it replaces an empty "
                             f"blinding); if no cell has ended ok yet, first retry the failed "
                             f"cells with 'xstress run run.name={run_dir.root.name} "
                             f"run.out_dir={run_dir.root.parent}' and the run's own selections")
    return items


def read_scores(run_dir: RunDir, coder: str) -> dict[ScoreKey, ScoreRecord]:
    """A coder's records by (blind_id, dimension); empty when the coder has no score file.

    A torn last line is skipped with a warning, and when a pair appears more than once the
    last record wins.

    Raises:
        InputError: a complete line is not a score record.
    """
    path = run_dir.scores(coder)
    if not path.is_file():
        return {}
    return {(record.blind_id, record.dimension): record
            for _, record in _read(run_dir, path, ScoreRecord, _SCORES_FIX)}


def existing_coder_kind(run_dir: RunDir, coder: str) -> str | None:
    """The ``coder_kind`` of the first record of a coder's score file; None when there is no
    readable first record."""
    records = _read(run_dir, run_dir.scores(coder), ScoreRecord, _SCORES_FIX)
    try:
        first = next(records, None)  # the rest of the file is never read
    except InputError:
        return None
    return None if first is None else first[1].coder_kind


def prepare_scores_dir(run_dir: RunDir) -> None:
    """Create ``scores/``.

    Raises:
        OutputError: it cannot be created.
    """
    try:
        run_dir.scores_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{run_dir.scores_dir}: cannot create the scores folder ({exc.strerror or exc})",
            fix="check the run directory's permissions",
        ) from None


def replace_scores(run_dir: RunDir, coder: str, records: Iterable[ScoreRecord]) -> Path:
    """Replace a coder's score file with ``records``, atomically; returns its path.

    Raises:
        OutputError: the file cannot be written.
    """
    path = run_dir.scores(coder)
    write_jsonl_atomic(path, records)
    return path


def store_rubric(run_dir: RunDir, rubric: RubricSpec) -> Path:
    """Store the rubric under ``scores/rubrics/<rubric_hash>.json`` unless it is there already.

    Raises:
        OutputError: the file cannot be written.
    """
    path = run_dir.rubric(rubric_hash(rubric))
    if not path.exists():
        write_record_atomic(path, rubric)
    return path


class ScoreAppender:
    """Appends one coder's records to its score file, an item at a time, durably.

    Raises:
        OutputError: the file cannot be opened for appending.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        """Records written through this appender, by status."""
        try:
            self._appender = DurableAppender(path)
        except OSError as exc:
            raise OutputError(
                f"{path}: cannot open for writing ({exc.strerror or exc})",
                fix="check the run directory's permissions",
            ) from None

    async def append(self, records: Sequence[ScoreRecord]) -> None:
        """Write one item's records and return once they are on disk."""
        # Queue the item's lines together before awaiting, so they share one fsync.
        futures = [self._appender.append(r.model_dump_json(by_alias=True)) for r in records]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        self.counts.update(r.status for r in records)

    def close(self) -> None:
        """Flush what is queued and close the file."""
        self._appender.close()

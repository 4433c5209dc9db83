"""Reading every coder's codes for agreement: one ``CoderScores`` per ``scores/<coder>.jsonl``.

This module owns how ``xstress agree`` reads a run's score files: the file stem names the
coder (people, LLM judges and the heuristic coder alike), a (blind_id, dimension) coded twice
keeps its later line (a rescored item is appended), and the file's records tell the coder's
kind and the rubric versions it used. Damaged lines follow the run directory's one policy
(``harness.rundir.read_jsonl``: a torn last line is skipped with a warning, any other bad line
is an ``InputError``). It computes no statistic (``agreement.py``) and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.rundir import RunDir, ScoreRecord, read_jsonl

__all__ = ["CoderScores", "Key", "load_scores"]

Key = tuple[str, str]
"""(blind_id, dimension)"""


@dataclass(frozen=True)
class CoderScores:
    """One coder's codes, as read from ``scores/<coder>.jsonl``."""

    name: str
    """The file stem."""
    kind: str
    """``human``, ``llm_judge`` or ``heuristic`` (``mixed`` if the file disagrees with itself)."""
    levels: Mapping[Key, int]
    """Levels of the codes with status ``scored``."""
    not_scored: Mapping[Key, str]
    """Status (``null`` or ``unscored``) of the codes without a level."""
    rubric_hashes: frozenset[str]
    """The rubric versions the codes name."""

    def keys(self, dimension: str) -> set[Key]:
        """Every item this coder coded on ``dimension``, with a level or without."""
        return {key for key in (*self.levels, *self.not_scored) if key[1] == dimension}


def load_scores(run_dir: Path) -> tuple[dict[str, CoderScores], list[str]]:
    """Read every ``scores/*.jsonl`` of a run.

    A torn last line (a crash mid-write) is skipped with a warning; if a (blind_id, dimension)
    appears twice in a file, the later line wins (a rescored item is appended).

    Args:
        run_dir: The run directory.

    Returns:
        The coders by name (sorted) and the warnings met while reading.

    Raises:
        InputError: No scores, or a line that is not a score record.
    """
    layout = RunDir(Path(run_dir))
    paths = layout.score_files()
    if not paths:
        raise InputError(
            f"{layout.scores_dir}: no scores to compare",
            fix=f"run `xstress score {layout.root}` or `xstress code import {layout.root} FILE "
                f"coder=NAME` for two or more coders first",
        )
    coders: dict[str, CoderScores] = {}
    notes: list[str] = []
    for path in paths:
        coder = _read_coder(path, notes)
        coders[coder.name] = coder
    return coders, notes


def _read_coder(path: Path, notes: list[str]) -> CoderScores:
    records: dict[Key, ScoreRecord] = {}
    for _, record in read_jsonl(path, ScoreRecord, warnings=notes,
                                fix="re-run the scoring or import that wrote this file"):
        records[(record.blind_id, record.dimension)] = record
    name = path.stem
    named = {record.coder for record in records.values()}
    if named - {name}:
        notes.append(
            f"{path}: records name coder(s) {', '.join(sorted(named))}; "
            f"agreement calls this coder {name!r} (the file name)"
        )
    kinds = {record.coder_kind for record in records.values()}
    if len(kinds) > 1:
        notes.append(f"{path}: mixes coder kinds {', '.join(sorted(kinds))}")
    return CoderScores(
        name=name,
        kind=kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "unknown"),
        levels={key: r.level for key, r in records.items() if r.level is not None},
        not_scored={key: r.status for key, r in records.items() if r.level is None},
        rubric_hashes=frozenset(r.rubric_hash for r in records.values() if r.rubric_hash),
    )

"""Reading a run directory for export: every record the later formats are built from.

This module owns what an export reads and how records are folded: the transcripts (all
shards; the last record of a cell wins, as for every reader of a run), the blinded items, every
coder's score file (the last record of a (coder, item, dimension) wins, as in the report), the
manifests, and, only when unblinding is asked for, the blinding key through its one reader
(``harness.rundir.read_key``, the report's too). Every file is read as its ``harness.rundir``
record under the run directory's one policy for damaged JSONL. It builds no table and writes nothing
(``frames.py``, ``inspect_log.py`` and ``table.py`` do).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.rundir import (
    BlindedItem,
    KeyEntry,
    Manifest,
    RunDir,
    ScoreRecord,
    TranscriptRecord,
    iter_transcripts,
    read_jsonl,
    read_key,
    read_manifests,
)

__all__ = ["RunRecords", "read_run"]


@dataclass(frozen=True)
class RunRecords:
    """The records of one run directory, folded.

    Attributes:
        run_dir: the run directory read.
        transcripts: one record per cell (the last one written), in first-seen order.
        items: the blinded items by blind_id (empty when the run was not blinded).
        scores: per coder (the score file's name, ``scores/<coder>.jsonl``, as the report
            names coders) its records, one per (blind_id, dimension), in file order.
        key: the blinding key (blind_id -> cell), or None when unblinding was not asked for.
        manifests: the sweep's manifests (one per shard).
        warnings: data problems met while reading (torn last lines).
    """

    run_dir: RunDir
    transcripts: list[TranscriptRecord]
    items: dict[str, BlindedItem]
    scores: dict[str, list[ScoreRecord]]
    key: list[KeyEntry] | None
    manifests: list[Manifest]
    warnings: list[str]

    @property
    def simulated(self) -> bool:
        """True when any cell came from one of xstress's simulated models."""
        return any(record.simulated for record in self.transcripts) or any(
            manifest.simulated or manifest.simulated_models for manifest in self.manifests)

    def key_by_cell(self) -> dict[str, KeyEntry]:
        """The key by cell_id (empty when unblinding was not asked for)."""
        return {entry.cell_id: entry for entry in self.key or []}


def read_run(path: str | Path, *, unblind: bool) -> RunRecords:
    """Read a run directory's records.

    Args:
        path: the run directory (``transcripts/<run_name>``).
        unblind: also read the blinding key (``blind/key.jsonl``), so that scores can be joined
            to the cells they are about.

    Raises:
        InputError: no such run directory, no transcripts, a damaged file, or (``unblind``) no
            blinding key.
    """
    run_dir = RunDir(Path(path))
    if not run_dir.root.is_dir():
        raise InputError(f"{run_dir.root}: no such run directory",
                         fix="give the path of a run (e.g. transcripts/<run_name>)")
    if not run_dir.transcript_files():
        raise InputError(f"{run_dir.root}: no transcripts*.jsonl (not a run directory?)",
                         fix="give the path of a run the sweep wrote (transcripts/<run_name>)")
    warnings: list[str] = []
    cells: dict[str, TranscriptRecord] = {}
    for record in iter_transcripts(run_dir, warnings):
        cells[record.cell_id] = record
    items: dict[str, BlindedItem] = {}
    if run_dir.items.is_file():
        for _, item in read_jsonl(run_dir.items, BlindedItem, warnings=warnings,
                                  fix=f"rerun xstress blind {run_dir.root} --force"):
            items[item.blind_id] = item
    return RunRecords(
        run_dir=run_dir,
        transcripts=list(cells.values()),
        items=items,
        scores=_read_scores(run_dir, warnings),
        key=read_key(run_dir, warnings) if unblind else None,
        manifests=read_manifests(run_dir),
        warnings=warnings,
    )


def _read_scores(run_dir: RunDir, warnings: list[str]) -> dict[str, list[ScoreRecord]]:
    """Every score file's records; a repeated (item, dimension) keeps its last record."""
    scores: dict[str, list[ScoreRecord]] = {}
    for path in run_dir.score_files():
        latest: dict[tuple[str, str], ScoreRecord] = {}
        for _, record in read_jsonl(path, ScoreRecord, warnings=warnings,
                                    fix=f"restore {path.name} or rerun "
                                        f"'xstress score {run_dir.root}'"):
            latest[(record.blind_id, record.dimension)] = record
        if latest:
            scores[path.stem] = list(latest.values())
    return scores

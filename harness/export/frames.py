"""A run as pandas DataFrames: ``load_run`` (public as ``harness.load_run``).

This module owns the Python API's shape: which frames a loaded run has and what their columns
mean (``CELL_COLUMNS``, ``TURN_COLUMNS``, ``SCORE_COLUMNS``, ``KEY_COLUMNS``; the README
lists the same). Scores are blind (``blind_id`` only) unless the key is joined on request
(``unblind=True``). pandas is imported here only, when a run is loaded. Reading the run is
``reading.py``'s; it writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.export.reading import RunRecords, read_run
from harness.rundir import KeyEntry, ScoreRecord, TranscriptRecord

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CELL_COLUMNS", "KEY_COLUMNS", "SCORE_COLUMNS", "TURN_COLUMNS", "RunData",
           "frames_of", "load_run"]

CELL_COLUMNS = {
    "run_id": "the run directory's name",
    "cell_id": "stable id of (model, scaffold, scenario, replicate)",
    "model": "model config name",
    "scaffold": "scaffold name",
    "prompt_id": "scenario id",
    "prompt_set": "the prompt set the scenario belongs to",
    "domain": "the scenario's domain (health, finance, ...)",
    "probe": "what the scenario stresses: underspecified, checkable or multiturn",
    "replicate": "replicate index, from 0",
    "status": "ok, error or blocked (a content-policy refusal: a result, never a 0)",
    "simulated": "True when the model is one of xstress's simulated models (not a real model)",
    "litellm_model": "the litellm model string called",
    "model_reported": "model versions the provider reported, joined by ', ' (empty if none)",
    "n_user_turns": "user turns in the conversation the user saw",
    "n_calls": "provider calls of the cell (replies, scaffold passes, simulated-user turns)",
    "n_truncated": "replies shown to the user that were cut off at max_tokens",
    "prompt_tokens": "request tokens over all calls",
    "completion_tokens": "reply tokens over all calls",
    "total_tokens": "their sum, as reported",
    "cost_usd": "cost over all calls; empty when any call's price is unknown",
    "error": "why the cell ended error or blocked",
    "started_at": "ISO time the cell started (UTC)",
    "finished_at": "ISO time the cell finished (UTC)",
    "scaffold_hash": "content hash of the scaffold",
    "prompt_hash": "content hash of the scenario",
    "model_hash": "content hash of the model's identity and sampling parameters",
    "blind_id": "the cell's blinded item (unblind=True only; empty for cells not blinded)",
}
"""``RunData.cells``: one row per cell (the last transcript record of each)."""

TURN_COLUMNS = {
    "cell_id": "the cell",
    "message_index": "position of the message in the conversation, from 0",
    "turn": "the user turn the message belongs to, from 0",
    "role": "user or assistant (system if a transcript holds one)",
    "content": "the text as the user saw it",
}
"""``RunData.turns``: one row per message of every cell's conversation as the user saw it
(no system prompt, no scaffold pass: those are in the transcript's calls)."""

SCORE_COLUMNS = {
    "blind_id": "the item scored",
    "coder": "the coder: its score file's name (scores/<coder>.jsonl)",
    "coder_kind": "llm_judge, heuristic or human",
    "dimension": "rubric dimension (D1 ...)",
    "status": "scored (level 0-2), null (not applicable, reason given) or unscored (the "
              "coder failed); nulls and unscored are never a 0",
    "level": "0, 1 or 2 for scored; empty otherwise",
    "reason": "why null or unscored",
    "rationale": "the coder's reasoning, when given",
    "evidence": "a quote from the transcript supporting the level",
    "evidence_found": "LLM judges: whether the quote occurs verbatim in the conversation",
    "rubric_hash": "content hash of the rubric coded on",
    "coder_hash": "content hash of the judge config (empty for people)",
    "scored_at": "ISO time of the score (UTC)",
}
"""``RunData.scores``: one row per (coder, item, dimension) score record (the last of each)."""

KEY_COLUMNS = {
    "blind_id": "the item",
    "cell_id": "the cell it came from",
    "model": "the cell's model",
    "scaffold": "the cell's scaffold",
    "prompt_id": "the cell's scenario",
    "replicate": "the cell's replicate index",
}
"""``RunData.key`` (unblind=True only); its columns but ``blind_id`` are also joined onto
``RunData.scores``."""


@dataclass(frozen=True)
class RunData:
    """A run loaded as DataFrames (``harness.load_run``).

    Attributes:
        run_id: the run directory's name.
        path: the run directory.
        simulated: the run used xstress's simulated models: its outputs describe no real
            model (the ``simulated`` column of ``cells`` says which cells).
        unblinded: the blinding key was joined (``load_run(..., unblind=True)``).
        cells: one row per cell; columns ``CELL_COLUMNS``.
        turns: one row per message; columns ``TURN_COLUMNS``.
        scores: one row per score record; columns ``SCORE_COLUMNS``, plus ``KEY_COLUMNS``
            but ``blind_id`` when unblinded.
        key: the blinding key (``KEY_COLUMNS``), or None unless unblinded.
        warnings: data problems met while reading (torn last lines).
    """

    run_id: str
    path: Path
    simulated: bool
    unblinded: bool
    cells: pd.DataFrame
    turns: pd.DataFrame
    scores: pd.DataFrame
    key: pd.DataFrame | None
    warnings: tuple[str, ...]


def load_run(path: str | Path, unblind: bool = False) -> RunData:
    """Load a run directory as pandas DataFrames: cells, turns and scores.

    Args:
        path: the run directory (``transcripts/<run_name>``).
        unblind: join the blinding key (read through the report's one reader of
            ``blind/key.jsonl``): ``scores`` gains the cell's id, model, scaffold, scenario and
            replicate, ``cells`` its ``blind_id``, and ``key`` is set. Leave it False to keep
            scores blind.

    Returns:
        The run's frames (see ``RunData``).

    Raises:
        harness.errors.InputError: no such run directory, no transcripts, a damaged file, or
            (``unblind``) no blinding key.
    """
    records = read_run(path, unblind=unblind)
    return frames_of(records)


def frames_of(records: RunRecords) -> RunData:
    """The DataFrames of records already read (``load_run`` without the reading)."""
    import pandas as pd

    key_by_cell = records.key_by_cell()
    cell_rows = [_cell_row(record, key_by_cell) for record in records.transcripts]
    cell_columns = list(CELL_COLUMNS) if records.key is not None else list(CELL_COLUMNS)[:-1]
    cells = pd.DataFrame([{c: row[c] for c in cell_columns} for row in cell_rows],
                         columns=cell_columns)
    turns = pd.DataFrame([row for record in records.transcripts for row in _turn_rows(record)],
                         columns=list(TURN_COLUMNS))
    scores = pd.DataFrame([_score_row(coder, record)
                           for coder, coder_records in sorted(records.scores.items())
                           for record in coder_records], columns=list(SCORE_COLUMNS))
    scores["level"] = scores["level"].astype("Int64")
    key = None
    if records.key is not None:
        key = pd.DataFrame([_key_row(entry) for entry in records.key], columns=list(KEY_COLUMNS))
        scores = scores.merge(key, on="blind_id", how="left")
        scores["replicate"] = scores["replicate"].astype("Int64")
    return RunData(
        run_id=records.run_dir.name,
        path=records.run_dir.root,
        simulated=records.simulated,
        unblinded=records.key is not None,
        cells=cells,
        turns=turns,
        scores=scores,
        key=key,
        warnings=tuple(records.warnings),
    )


def _cell_row(record: TranscriptRecord, key_by_cell: dict[str, KeyEntry]) -> dict[str, Any]:
    reported = sorted({call.model_reported for call in record.calls if call.model_reported})
    entry = key_by_cell.get(record.cell_id)
    return {
        "run_id": record.run_id, "cell_id": record.cell_id, "model": record.model,
        "scaffold": record.scaffold, "prompt_id": record.prompt_id,
        "prompt_set": record.prompt_set, "domain": record.domain, "probe": record.probe,
        "replicate": record.replicate, "status": record.status, "simulated": record.simulated,
        "litellm_model": record.litellm_model, "model_reported": ", ".join(reported),
        "n_user_turns": sum(message.role == "user" for message in record.messages),
        "n_calls": len(record.calls), "n_truncated": len(record.truncated_messages),
        "prompt_tokens": record.usage.prompt_tokens,
        "completion_tokens": record.usage.completion_tokens,
        "total_tokens": record.usage.total_tokens, "cost_usd": record.cost_usd,
        "error": record.error, "started_at": record.started_at,
        "finished_at": record.finished_at, "scaffold_hash": record.scaffold_hash,
        "prompt_hash": record.prompt_hash, "model_hash": record.model_hash,
        "blind_id": entry.blind_id if entry is not None else None,
    }


def _turn_rows(record: TranscriptRecord) -> list[dict[str, Any]]:
    rows, turn = [], -1
    for index, message in enumerate(record.messages):
        if message.role == "user":
            turn += 1
        rows.append({"cell_id": record.cell_id, "message_index": index, "turn": max(turn, 0),
                     "role": message.role, "content": message.content})
    return rows


def _score_row(coder: str, record: ScoreRecord) -> dict[str, Any]:
    row = record.model_dump(include=set(SCORE_COLUMNS) - {"coder"})
    row["coder"] = coder
    return row


def _key_row(entry: KeyEntry) -> dict[str, Any]:
    return entry.model_dump(include=set(KEY_COLUMNS))

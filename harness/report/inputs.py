"""Reading a run directory for the report: the blinding key, the score files present, transcript
status counts, the manifests, the leak report and ``report/agreement.csv``; and settling the
rubric that names the dimensions, from what the run directory itself stores.

This is the report's only reader of ``blind/key.jsonl`` (through ``harness.rundir.read_key``,
which the run browser's unblinded view shares). Every file is read as its
``harness.rundir`` record, under the run directory's one policy for damaged JSONL (a
newline-less last line is a torn write, skipped with a warning the report lists; any other bad
line is an ``InputError``); an invalid manifest is an ``InputError`` too. The leak report and
the agreement rows are another stage's optional products: when one is missing the report says
"not measured" / "not computed", and when one is invalid it is ignored the same way, with a
warning the report lists (rerunning ``xstress blind`` or ``xstress agree`` rewrites it). The
report never reads the live ``configs/``. This module does not choose the coder (``coders.py``),
interpret the manifests (``context.py``), compute statistics or write anything.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import InputError
from harness.report.coders import CoderFile, list_coders
from harness.rundir import (
    AGREEMENT_COLUMNS,
    AgreementRow,
    KeyEntry,
    LeakReport,
    Manifest,
    RunDir,
    read_json,
    read_jsonl,
    read_key,
    read_manifests,
)
from harness.schema import RubricSpec, content_hash

__all__ = ["RunInputs", "TranscriptCounts", "TranscriptStatus", "read_inputs", "resolve_rubric"]


class TranscriptStatus(BaseModel):
    """The fields of a transcript record the report needs; the rest of each line is not
    turned into Python objects, which keeps 10^5 transcripts fast."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cell_id: str
    model: str
    scaffold: str
    status: Literal["ok", "error", "blocked"]
    simulated: bool = False
    truncated_messages: list[int] = []


@dataclass(frozen=True)
class TranscriptCounts:
    """Per cell_id (last record wins) its (model, scaffold, status); whether any record
    came from a simulated model; and per cell the replies cut off at the length limit."""

    cells: dict[str, tuple[str, str, str]]
    simulated: bool
    truncated: dict[str, int] = field(default_factory=dict)
    """Per cell_id (last record wins), replies shown to the user that were cut off at
    ``max_tokens``; cells with none are left out."""

    def counts(self) -> Counter[tuple[str, str, str]]:
        """(model, scaffold, status) -> number of cells."""
        return Counter(self.cells.values())


@dataclass
class RunInputs:
    """Everything read from the run directory besides the scores."""

    run_dir: RunDir
    key_entries: list[KeyEntry]
    coders: dict[str, CoderFile]
    manifests: list[Manifest]
    transcripts: TranscriptCounts | None
    leak_report: LeakReport | None
    agreement: list[AgreementRow] | None
    warnings: list[str]


def read_inputs(run_dir: RunDir) -> RunInputs:
    """Everything the report reads from ``run_dir`` except the scores themselves.

    Raises:
        InputError: no run directory, key or scores; a damaged key, score file, transcript
            file or manifest.
    """
    if not run_dir.root.is_dir():
        raise InputError(
            f"{run_dir.root}: no such run directory",
            fix="give the path of a run (e.g. transcripts/<run_name>)",
        )
    warnings: list[str] = []
    key_entries = read_key(run_dir, warnings)
    coders = list_coders(run_dir, warnings)
    leak_report = _read_leak_report(run_dir, warnings)
    _check_key_complete(run_dir, key_entries, leak_report)
    return RunInputs(
        run_dir=run_dir,
        key_entries=key_entries,
        coders=coders,
        manifests=read_manifests(run_dir),
        transcripts=_read_transcripts(run_dir, warnings),
        leak_report=leak_report,
        agreement=_read_agreement(run_dir, warnings),
        warnings=warnings,
    )


def _check_key_complete(run_dir: RunDir, entries: list[KeyEntry],
                        leak_report: LeakReport | None) -> None:
    """The key holds one line per blinded item (the blinding's leak report counts them)."""
    if leak_report is not None and leak_report.n_items != len(entries):
        raise InputError(
            f"{run_dir.key}: {len(entries)} entries but the blinding wrote "
            f"{leak_report.n_items} items (the key was edited or truncated)",
            fix=f"restore {run_dir.blind_dir} from a backup, or re-blind with 'xstress blind "
                f"{run_dir.root} --force' and code the new items again")


def _read_transcripts(run_dir: RunDir, warnings: list[str]) -> TranscriptCounts | None:
    paths = run_dir.transcript_files()
    if not paths:
        return None
    cells: dict[str, tuple[str, str, str]] = {}
    truncated: dict[str, int] = {}
    simulated = False
    for path in paths:
        for _, record in read_jsonl(path, TranscriptStatus, warnings=warnings,
                                    fix="restore the file or rerun the sweep"):
            cells[record.cell_id] = (record.model, record.scaffold, record.status)
            simulated = simulated or record.simulated
            if record.truncated_messages:
                truncated[record.cell_id] = len(record.truncated_messages)
            else:
                truncated.pop(record.cell_id, None)
    return TranscriptCounts(cells=cells, simulated=simulated, truncated=truncated)


def _read_leak_report(run_dir: RunDir, warnings: list[str]) -> LeakReport | None:
    path = run_dir.leak_report
    if not path.is_file():
        return None
    try:
        return read_json(path, LeakReport, fix=f"rerun xstress blind {run_dir.root} --force")
    except InputError as exc:
        warnings.append(f"{exc.message}; ignored")
        return None


def _read_agreement(run_dir: RunDir, warnings: list[str]) -> list[AgreementRow] | None:
    path = run_dir.agreement
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not set(AGREEMENT_COLUMNS) <= set(reader.fieldnames or ()):
            warnings.append("report/agreement.csv lacks the expected columns; ignored")
            return None
        rows = []
        for row in reader:
            try:
                rows.append(AgreementRow.model_validate(
                    {column: row[column] for column in AGREEMENT_COLUMNS}))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                warnings.append(f"report/agreement.csv line {reader.line_num} is not a valid "
                                f"agreement row ({where}: {first['msg']}); ignored")
                return None
    return rows


def resolve_rubric(rubric: RubricSpec | None, run_dir: RunDir, manifests: Sequence[Manifest],
                   coders: Sequence[CoderFile], warnings: list[str]) -> RubricSpec | None:
    """The rubric whose names and order the report uses; None means dimension ids only.

    In order: the rubric given (a warning if the scores were made with another); else the
    rubric the run directory stores under the scores' ``rubric_hash``; else the manifest's
    configured rubric when the scores were made with it; else None.
    """
    hashes = {h for c in coders for h in c.rubric_hashes}
    if rubric is not None:
        if hashes and content_hash(rubric) not in hashes:
            warnings.append(
                f"the rubric given ({rubric.name}) is not the one the scores were "
                "made with (rubric hashes differ)"
            )
        return rubric
    for rubric_hash in sorted(hashes):
        stored = _stored_rubric(run_dir, rubric_hash, warnings)
        if stored is not None:
            return stored
    for manifest in manifests:
        configured = manifest.config.rubric
        if configured is not None and content_hash(configured) in hashes:
            return configured
    return None


def _stored_rubric(run_dir: RunDir, rubric_hash: str, warnings: list[str]) -> RubricSpec | None:
    """The stored rubric with this hash; a damaged one is a warning, then ignored."""
    path = run_dir.rubric(rubric_hash)
    if not path.is_file():
        return None
    try:
        stored = read_json(path, RubricSpec,
                           fix=f"rerun 'xstress score {run_dir.root}' to store it again")
    except InputError as exc:
        warnings.append(f"{exc.message}; ignored")
        return None
    if content_hash(stored) != rubric_hash:
        warnings.append(f"{path}: its content does not match its hash; ignored")
        return None
    return stored

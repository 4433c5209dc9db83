"""Blinding: turn a run's transcripts into items coders can score without knowing the source.

This module owns the ``blind`` stage's orchestration. It reads the run's transcripts and
manifests (through ``RunDir``), and writes ``blind/items.jsonl`` (what coders see,
``BlindedItem``), ``blind/key.jsonl`` (blind_id -> cell, file mode 0600, never read by
scoring) and ``blind/leak_report.json`` (``LeakReport``). It chooses the bucket size and the
worker processes, and publishes the files. Its parts live in modules of their own: the tells
file in ``tells.py``, the run's own names in ``terms.py``, the regex building blocks in
``patterns.py``, their compilation in ``rules.py``; the scenarios' targets and reference
notes in ``references.py``; the scrubber and the leak scan of a text in ``scrubber.py``; the
bucketed streaming and the blinding of one bucket in ``buckets.py``, of all buckets in
``workers.py``; the identifiability classifier in ``leak_audit.py``; the report's assembly in
``leak_report.py``. It does not score, unblind or analyse.

What an item holds: a random ``blind_id`` (``secrets``, never derived from the cell), the
scenario id and domain, the conversation as the user saw it (their turns, the replies shown to
them) with identity tells replaced by placeholders, and the scenario's targets and reference
notes from the manifest (what every coder judges against). No system prompt, scaffold pass,
model, provider metadata, timing, cost or token count is copied.

Leak scan. After scrubbing, every item (its reference notes included) is scanned again, on a
Unicode-normalised copy, for any tell (names, label uses, instruction sentences, and the
cutoff categories' ``detect`` patterns). Any hit fails the stage (``InputError``, exit 2)
unless ``allow_leaks``; the report is written either way, items and key only on success
(temporary files, renamed last).

Scale. Transcripts stream into bucket files; each bucket is then loaded alone, shuffled,
scrubbed and written out, by worker processes for large runs (the output does not depend on
how many). Memory is bounded by the bucket size, not the run, and the identifiability audit
trains on a bounded random sample. ``scripts/bench_blind.py`` measures it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.blind.buckets import ProgressBar, partition_transcripts
from harness.blind.leak_audit import AuditReservoir, AuditSkipped, audit_identifiability
from harness.blind.leak_report import build_leak_report, leaks_remain
from harness.blind.references import ScenarioReference, add_references
from harness.blind.scrubber import Scrubber
from harness.blind.tells import TellsSpec, default_tells_path, load_tells
from harness.blind.terms import RunTerms
from harness.blind.workers import blind_buckets
from harness.errors import InputError, OutputError
from harness.rundir import (
    Identifiability,
    LeakReport,
    Manifest,
    RunDir,
    read_json,
    write_record_atomic,
)

__all__ = ["BlindSummary", "blind_run", "has_blinding"]

BUCKET_TARGET_BYTES = 16 * 2**20
"""Transcript bytes per shuffle bucket: bounds the memory of the write phase."""
MAX_BUCKETS = 512
MAX_WORKERS = 4
PARALLEL_MIN_BYTES = 64 * 2**20
"""Runs smaller than this are blinded in-process (worker start-up would cost more)."""
WORK_ITEMS, WORK_KEY = "items.jsonl", "key.jsonl"
"""The items and key as written in the work folder, before they are published."""


@dataclass(frozen=True)
class BlindSummary:
    """What ``blind_run`` did (the CLI prints it)."""

    n_items: int
    """Items written."""
    n_excluded: int
    """Cells that gave no item (``error`` or ``blocked``)."""
    leak_report_path: Path
    """Where the leak report is."""
    remaining_tells: int
    """Tells the leak scan found after scrubbing (only with ``allow_leaks``, else an error)."""
    identifiability: Identifiability | None
    """How well the model can be predicted from the items; None when not measured."""
    scaffold_identifiability: Identifiability | None = None
    """How well the scaffold can be predicted from the items; None when not measured."""


def blind_run(
    run_dir: Path,
    *,
    seed: int | None = None,
    force: bool = False,
    allow_leaks: bool = False,
    tells_path: Path | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> BlindSummary:
    """Blind a run directory: write ``blind/items.jsonl``, ``key.jsonl``, ``leak_report.json``.

    Args:
        run_dir: The run directory holding the transcripts (and the manifests).
        seed: Makes the item order (and the audit sample) reproducible. Blind ids stay
            cryptographically random either way.
        force: Replace an existing blinding (its key will no longer match earlier scores).
        allow_leaks: Write the items even when the leak scan finds tells (they are listed
            in the report).
        tells_path: A tells file other than the project's ``configs/blinding/tells.yaml``.
        progress: Show a progress bar on stderr.
        workers: Processes that blind buckets in parallel; default: the CPU count (at most
            4) for runs over 64 MiB, else 1. The output does not depend on it.

    Returns:
        A summary: item and exclusion counts, the report path, remaining tells and the
        model and scaffold identifiability results.

    Raises:
        InputError: No transcripts; already blinded and not ``force``; tells remain and not
            ``allow_leaks`` (the leak report is still written, the items and key are not).
        ConfigError: The tells file is invalid.
    """
    layout = RunDir(Path(run_dir))
    sources = _transcript_files(layout)
    already = has_blinding(layout)
    if already and not force:
        raise InputError(
            f"{layout.blind_dir} already holds a blinding",
            fix="re-blinding would change the key under existing scores; pass --force",
        )
    tells_file = tells_path or default_tells_path()
    tells = load_tells(tells_file)
    warnings: list[str] = []
    terms, references = _read_manifests(layout, warnings)
    created = not layout.blind_dir.exists()
    work = _work_dir(layout)
    try:
        report = _blind(layout, sources, work, tells, tells_file, terms, references, seed=seed,
                        workers=workers, progress=progress, warnings=warnings)
        if report.n_items == 0:
            # Nothing to code: an empty blinding would only be refused by the next blind.
            raise InputError(
                f"{layout.root}: no transcript ended ok ({len(report.excluded)} error or "
                f"blocked): nothing to blind; nothing was written",
                fix="fix the cause of the errors (see the sweep's summary) and rerun the sweep "
                    "with the same run.name; blind after that",
            )
        if report.n_remaining_tells and not allow_leaks:
            # A failed re-blinding must not replace the report of the blinding in place.
            failed_path = layout.rejected_leak_report if already else layout.leak_report
            write_record_atomic(failed_path, report)
            raise leaks_remain(report, failed_path, tells_file)
        _publish(layout, work, report)
    except OSError as exc:  # a full or read-only disk: the blinding in place is untouched
        raise _unwritable(layout, exc) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created and not any(layout.blind_dir.iterdir()):
            layout.blind_dir.rmdir()
    return BlindSummary(
        n_items=report.n_items,
        n_excluded=len(report.excluded),
        leak_report_path=layout.leak_report,
        remaining_tells=report.n_remaining_tells,
        identifiability=report.identifiability,
        scaffold_identifiability=report.scaffold_identifiability,
    )


def _work_dir(layout: RunDir) -> Path:
    """A fresh folder under ``blind/`` where the new blinding is written before it is moved
    into place."""
    try:
        layout.blind_dir.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".work-", dir=layout.blind_dir))
    except OSError as exc:
        raise _unwritable(layout, exc) from None


def _unwritable(layout: RunDir, exc: OSError) -> OutputError:
    where = exc.filename or layout.blind_dir
    return OutputError(f"{where}: cannot write the blinding ({exc.strerror or exc}); nothing "
                       f"was changed", fix="free disk space or make the run directory writable, "
                                           "then rerun")


def has_blinding(layout: RunDir) -> bool:
    """True when the run holds a blinding with items or a key (written whole, atomically); an
    empty one (left by an older xstress after a sweep where every cell failed) is none."""
    return any(path.is_file() and path.stat().st_size > 0 for path in (layout.items, layout.key))


def _transcript_files(layout: RunDir) -> list[Path]:
    """Every transcript file of the run, or an ``InputError`` saying why there is none."""
    if not layout.root.is_dir():
        raise InputError(f"run directory {layout.root} not found", fix="pass a run directory")
    sources = layout.transcript_files()
    if not sources:
        raise InputError(
            f"no transcripts in {layout.root} (no transcripts*.jsonl)",
            fix="run the sweep first or pass the run directory that holds transcripts.jsonl",
        )
    return sources


def _read_manifests(
    layout: RunDir, warnings: list[str]
) -> tuple[RunTerms, dict[str, ScenarioReference]]:
    """The run's names and its scenarios' targets and notes, from its manifests. An unreadable
    manifest is only a warning: the transcript records name the models and scaffolds too, and
    items without reference notes can still be coded."""
    terms = RunTerms()
    references: dict[str, ScenarioReference] = {}
    for path in layout.manifests():
        try:
            manifest = read_json(path, Manifest,
                                 fix="rerun the sweep stage (same run.name) to rewrite it")
        except InputError as exc:
            warnings.append(f"{path.name}: unreadable ({exc}); used names from records only")
            continue
        terms.add_manifest(manifest)
        add_references(references, manifest)
    return terms, references


def _blind(
    layout: RunDir,
    sources: list[Path],
    work: Path,
    tells: TellsSpec,
    tells_file: Path,
    terms: RunTerms,
    references: dict[str, ScenarioReference],
    *,
    seed: int | None,
    workers: int | None,
    progress: bool,
    warnings: list[str],
) -> LeakReport:
    """Blind the transcripts into ``work`` (items and key) and return the leak report."""
    if seed is None:
        bucket_key = secrets.token_bytes(32)
    else:
        bucket_key = hashlib.sha256(f"xstress-blind:{seed}".encode()).digest()
    audit_seed = seed if seed is not None else 0
    with ProgressBar(progress) as bar:
        partition = partition_transcripts(sources, work, terms, bucket_key, bar,
                                          bucket_bytes=BUCKET_TARGET_BYTES,
                                          max_buckets=MAX_BUCKETS)
        warnings.extend(partition.warnings)
        if partition.n_records == 0:
            raise InputError(
                f"no transcripts in {layout.root} (the transcripts files are empty)",
                fix="run the sweep first",
            )
        scrubber = Scrubber(tells, terms, source=str(tells_file))
        if workers is None:
            big = partition.n_bytes >= PARALLEL_MIN_BYTES
            workers = min(MAX_WORKERS, os.cpu_count() or 1) if big else 1
        outcome, reservoir = blind_buckets(
            partition, scrubber, (tells, terms, str(tells_file)), references,
            items=work / WORK_ITEMS, key=work / WORK_KEY, seed=seed, workers=workers,
            audit_seed=audit_seed, progress=bar, warnings=warnings,
        )
        if outcome.dropped_system:
            warnings.append(f"dropped {outcome.dropped_system} system message(s) from items")
        bar.task("identifiability audit", None)
        audit = _audit(reservoir, audit_seed)
    return build_leak_report(outcome=outcome, partition=partition, tells=tells,
                             tells_file=tells_file, scrubber=scrubber, audit=audit,
                             warnings=warnings)


def _audit(reservoir: AuditReservoir, seed: int) -> dict[str, Identifiability | AuditSkipped]:
    """Model and scaffold identifiability on the sample."""
    return audit_identifiability(
        reservoir.texts,
        {target: reservoir.labels(target) for target in ("model", "scaffold")},
        seed=seed,
    )


def _publish(layout: RunDir, work: Path, report: LeakReport) -> None:
    """Move the items, key and report into place (key first, sealed). Every file is written
    in the work folder first, so a full disk fails before anything in place is replaced;
    renames within one folder need no space."""
    write_record_atomic(work / "leak_report.json", report)
    os.chmod(work / WORK_KEY, 0o600)
    os.replace(work / WORK_KEY, layout.key)
    os.replace(work / WORK_ITEMS, layout.items)
    os.replace(work / "leak_report.json", layout.leak_report)
    layout.rejected_leak_report.unlink(missing_ok=True)

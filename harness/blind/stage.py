"""Blinding: turn a run's transcripts into items coders can score without knowing the source.

This module owns the ``blind`` stage. It reads ``transcripts*.jsonl`` (and the run's
manifests for names), and writes ``blind/items.jsonl`` (what coders see, schema
``xstress.blinded/1``), ``blind/key.jsonl`` (blind_id -> cell, file mode 0600, never read by
scoring) and ``blind/leak_report.json``. It does not score, unblind or analyse. Its parts
live in modules of their own: the tells file, the run's own names and the regex building
blocks in ``tells.py``; the scrubber and the leak scan of a text in ``scrubber.py``; the
bucketed streaming and the blinding of one bucket in ``blind_buckets.py``; the
identifiability classifier in ``leak_audit.py``. This module runs them, chooses the bucket
size and the worker processes, and writes the files and the report.

What an item holds: a random ``blind_id`` (``secrets``, never derived from the cell), the
scenario id and domain, and the conversation as the user saw it (their turns, the replies
shown to them), with identity tells replaced by placeholders. No system prompt, scaffold pass,
model, provider metadata, timing, cost or token count is copied.

Leak scan. After scrubbing, every item is scanned again, on a Unicode-normalised copy, for
any tell (names, label uses, instruction sentences, and the cutoff categories' ``detect``
patterns). Any hit fails the stage (``InputError``, exit 2) unless ``allow_leaks``; the
report is written either way, items and key only on success (temporary files, renamed last).

Scale. Transcripts stream into bucket files; each bucket is then loaded alone, shuffled,
scrubbed and written out, by worker processes for large runs (the output does not depend on
how many). Memory is bounded by the bucket size, not the run, and the identifiability audit
trains on a bounded random sample. ``scripts/bench_blind.py`` measures it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.blind.buckets import (
    BucketResult,
    Outcome,
    Partition,
    ProgressBar,
    blind_bucket,
    open_private,
    partition_transcripts,
)
from harness.blind.leak_audit import AuditReservoir, AuditSkipped, audit_identifiability
from harness.blind.scrubber import Scrubber, Tell
from harness.blind.tells import (
    MIN_ECHO_WORDS,
    RUN_CATEGORIES,
    NameSpec,
    RunTerms,
    TellCategory,
    TellsSpec,
    default_tells_path,
    load_tells,
)
from harness.errors import InputError
from harness.rundir import write_bytes_atomic

__all__ = [
    "BlindSummary",
    "NameSpec",
    "RunTerms",
    "Scrubber",
    "Tell",
    "TellCategory",
    "TellsSpec",
    "blind_run",
    "default_tells_path",
    "load_tells",
]

log = logging.getLogger(__name__)

LEAK_REPORT_SCHEMA = "xstress.leak_report/1"
AUDIT_SAMPLE_SIZE = 2000
"""Items the identifiability audit trains on at most (a seeded reservoir sample)."""
BUCKET_TARGET_BYTES = 16 * 2**20
"""Transcript bytes per shuffle bucket: bounds the memory of the write phase."""
MAX_BUCKETS = 512
MAX_WORKERS = 4
PARALLEL_MIN_BYTES = 64 * 2**20
"""Runs smaller than this are blinded in-process (worker start-up would cost more)."""


@dataclass(frozen=True)
class BlindSummary:
    """What ``blind_run`` did (the CLI prints it)."""

    n_items: int
    n_excluded: int
    leak_report_path: Path
    remaining_tells: int
    identifiability: dict[str, float | int | str] | None
    scaffold_identifiability: dict[str, float | int | str] | None = None


# --------------------------------------------------------------------------- worker processes


_WORKER_SCRUBBER: Scrubber | None = None


def _start_worker(tells: TellsSpec, terms: RunTerms, source: str) -> None:
    """Process-pool initializer: build this worker's scrubber once."""
    global _WORKER_SCRUBBER
    _WORKER_SCRUBBER = Scrubber(tells, terms, source=source)


def _blind_in_worker(bucket: Path, seed: str | None, sample_rate: float) -> BucketResult:
    """Process-pool task: blind one bucket with the scrubber ``_start_worker`` built."""
    assert _WORKER_SCRUBBER is not None, "worker started without a scrubber"
    return blind_bucket(bucket, seed, sample_rate, _WORKER_SCRUBBER)


def _finalize(
    partition: Partition,
    work: Path,
    scrubber: Scrubber,
    rebuild: tuple[TellsSpec, RunTerms, str],
    seed: int | None,
    workers: int,
    audit_seed: int,
    progress: ProgressBar,
    warnings: list[str],
) -> tuple[Outcome, AuditReservoir]:
    """Blind every bucket into ``work/items.jsonl`` and ``work/key.jsonl``.

    With several workers the buckets are blinded in worker processes; should the pool fail
    (a platform without working process pools, a caller script that cannot be re-imported),
    the buckets, still on disk, are blinded again in this process.
    """
    # Oversample a little, then the reservoir trims to its capacity: a uniform sample.
    rate = min(1.0, 1.5 * AUDIT_SAMPLE_SIZE / max(1, partition.n_records))
    seeds = [None if seed is None else f"{seed}:{i}" for i in range(len(partition.buckets))]
    if workers > 1 and len(partition.buckets) > 1:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return _blind_buckets(
                partition, work, seeds, rate, audit_seed, progress, scrubber, (workers, rebuild)
            )
        except (BrokenProcessPool, OSError) as exc:
            message = f"worker processes failed ({exc!r}); blinded in one process instead"
            log.warning(message)
            warnings.append(message)
    return _blind_buckets(partition, work, seeds, rate, audit_seed, progress, scrubber, None)


def _blind_buckets(
    partition: Partition,
    work: Path,
    seeds: list[str | None],
    rate: float,
    audit_seed: int,
    progress: ProgressBar,
    scrubber: Scrubber,
    pool: tuple[int, tuple[TellsSpec, RunTerms, str]] | None,
) -> tuple[Outcome, AuditReservoir]:
    outcome = Outcome()
    reservoir = AuditReservoir(AUDIT_SAMPLE_SIZE, seed=audit_seed)
    advance = progress.task("blinding", len(partition.buckets))
    for stale in (
        work / "items.jsonl",
        work / "key.jsonl",
        *work.glob("*.items"),
        *work.glob("*.key"),
    ):
        stale.unlink(missing_ok=True)
    with (
        (work / "items.jsonl").open("w", encoding="utf-8") as items,
        open_private(work / "key.jsonl") as key,
    ):
        if pool is None:
            for bucket, bucket_seed in zip(partition.buckets, seeds, strict=True):
                part = blind_bucket(bucket, bucket_seed, rate, scrubber)
                outcome.merge(part, items, key, reservoir)
                advance(1)
            return outcome, reservoir
        import multiprocessing
        import sys
        import threading
        from concurrent.futures import ProcessPoolExecutor

        workers, rebuild = pool
        # fork needs no re-import of the caller's script, but is unsafe with other threads
        # alive (a finished sweep's writers, litellm's) and on macOS; spawn is safe there.
        single = threading.active_count() == 1 and sys.platform.startswith("linux")
        context = multiprocessing.get_context("fork" if single else "spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(partition.buckets)),
            mp_context=context,
            initializer=_start_worker,
            initargs=rebuild,
        ) as executor:
            futures = [
                executor.submit(_blind_in_worker, bucket, bucket_seed, rate)
                for bucket, bucket_seed in zip(partition.buckets, seeds, strict=True)
            ]
            # Merged in bucket order, so the output does not depend on scheduling.
            for future in futures:
                outcome.merge(future.result(), items, key, reservoir)
                advance(1)
    return outcome, reservoir


# --------------------------------------------------------------------------- the stage


def _known_limits(scrubber: Scrubber) -> list[str]:
    plain = sorted(set(scrubber.label_only["scaffold"]) | set(scrubber.label_only["model"]))
    limits = [
        "Scaffold-revealing structure is visible by design: a scaffold that shapes replies "
        "(e.g. verify's 'How to check this' sections, confidence and assumption lists; steer's "
        "restatements and checkpoints) can be recognised from the text. "
        "scaffold_identifiability measures how far.",
        "Style can identify a model without naming it (length, formatting, stock phrases); "
        "identifiability measures how far.",
        "Instruction text is scrubbed only where a reply repeats one of its sentences "
        f"({MIN_ECHO_WORDS}+ words) verbatim; paraphrases are not detected.",
        "Names glued into a longer word with no case or punctuation boundary (e.g. "
        "'myopenaikey') and look-alike letters from other scripts are not detected.",
        "User turns are scrubbed with the same rules (a simulated user may be played by the "
        "model under test); user_turn_replacements counts the changes made to them.",
    ]
    if plain:
        limits.append(
            "Ordinary-word run names are scrubbed only where used as labels (after "
            "'scaffold:', before 'mode', in [brackets], alone on a line), not in prose: "
            + ", ".join(plain)
            + "."
        )
    return limits


def _write_json(path: Path, data: object) -> None:
    """Write JSON atomically (fields in the order given, unlike the sorted manifest)."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def _audit(
    reservoir: AuditReservoir, seed: int, skipped: dict[str, str]
) -> dict[str, dict[str, float | int | str] | None]:
    """Model and scaffold identifiability on the sample (a dict per target, or None)."""
    outcomes = audit_identifiability(
        reservoir.texts,
        {target: reservoir.labels(target) for target in ("model", "scaffold")},
        seed=seed,
    )
    results: dict[str, dict[str, float | int | str] | None] = {}
    for target, outcome in outcomes.items():
        if isinstance(outcome, AuditSkipped):
            skipped[target] = outcome.reason
            results[target] = None
        else:
            results[target] = outcome.as_dict()
    return results


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
        run_dir: The run directory holding ``transcripts*.jsonl`` (and ``manifest*.json``).
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
        model identifiability result.

    Raises:
        InputError: No transcripts; already blinded and not ``force``; tells remain and not
            ``allow_leaks`` (the leak report is still written, the items and key are not).
        ConfigError: The tells file is invalid.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} not found", fix="pass a run directory")
    sources = sorted(run_dir.glob("transcripts*.jsonl"))
    if not sources:
        raise InputError(
            f"no transcripts in {run_dir} (no transcripts*.jsonl)",
            fix="run the sweep first or pass the run directory that holds transcripts.jsonl",
        )
    blind_dir = run_dir / "blind"
    items_path, key_path = blind_dir / "items.jsonl", blind_dir / "key.jsonl"
    report_path = blind_dir / "leak_report.json"
    already = items_path.exists() or key_path.exists()
    if already and not force:
        raise InputError(
            f"{blind_dir} already holds a blinding",
            fix="re-blinding would change the key under existing scores; pass --force",
        )
    tells_file = tells_path or default_tells_path()
    tells = load_tells(tells_file)

    terms = RunTerms()
    warnings: list[str] = []
    for manifest in sorted(run_dir.glob("manifest*.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.append(f"{manifest.name}: unreadable ({exc}); used names from records only")
            continue
        if isinstance(data, dict):
            terms.add_manifest(data)

    if seed is None:
        bucket_key = secrets.token_bytes(32)
    else:
        bucket_key = hashlib.sha256(f"xstress-blind:{seed}".encode()).digest()
    audit_seed = seed if seed is not None else 0

    blind_dir.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=blind_dir))
    try:
        with ProgressBar(progress) as bar:
            partition = partition_transcripts(
                sources,
                work,
                terms,
                bucket_key,
                bar,
                bucket_bytes=BUCKET_TARGET_BYTES,
                max_buckets=MAX_BUCKETS,
            )
            warnings.extend(partition.warnings)
            if partition.n_records == 0:
                raise InputError(
                    f"no transcripts in {run_dir} (the transcripts files are empty)",
                    fix="run the sweep first",
                )
            scrubber = Scrubber(tells, terms, source=str(tells_file))
            if workers is None:
                big = partition.n_bytes >= PARALLEL_MIN_BYTES
                workers = min(MAX_WORKERS, os.cpu_count() or 1) if big else 1
            outcome, reservoir = _finalize(
                partition,
                work,
                scrubber,
                (tells, terms, str(tells_file)),
                seed,
                workers,
                audit_seed,
                bar,
                warnings,
            )
            if outcome.dropped_system:
                warnings.append(f"dropped {outcome.dropped_system} system message(s) from items")
            bar.task("identifiability audit", None)
            skipped: dict[str, str] = {}
            audit = _audit(reservoir, audit_seed, skipped)
            identifiability, scaffold_identifiability = audit["model"], audit["scaffold"]

        report = {
            "schema": LEAK_REPORT_SCHEMA,
            "passed": outcome.n_tells == 0,
            "n_transcripts": outcome.n_cells,
            "n_records": partition.n_records,
            "n_duplicates_replaced": outcome.n_duplicates,
            "n_items": outcome.n_items,
            "excluded": sorted(outcome.excluded, key=lambda e: str(e["cell_id"])),
            "replacements": {
                name: outcome.counts.get(name, 0)
                for name in sorted({c.name for c in tells.categories} | set(RUN_CATEGORIES))
            },
            "user_turn_replacements": outcome.user_replacements,
            "remaining_tells": outcome.tells,
            "n_remaining_tells": outcome.n_tells,
            "known_limits": _known_limits(scrubber),
            "identifiability": identifiability,
            "scaffold_identifiability": scaffold_identifiability,
            "identifiability_skipped": skipped,
            "tells_file": str(tells_file),
            "run_names": {
                "scrubbed_everywhere": scrubber.everywhere,
                "scrubbed_as_labels": scrubber.label_only,
            },
            "warnings": warnings,
        }
        if outcome.n_tells and not allow_leaks:
            failed_path = blind_dir / "leak_report.rejected.json" if already else report_path
            _write_json(failed_path, report)
            first = outcome.tells[0]
            raise InputError(
                f"{outcome.n_tells} identity tell(s) remain after scrubbing (first: "
                f"{first['match']!r} [{first['category']}] in {first['field']} of cell "
                f"{first['cell_id']}); no items written, see {failed_path}",
                fix=f"add a pattern or name to {tells_file} and re-run, or pass --allow-leaks",
            )
        os.replace(work / "key.jsonl", key_path)
        os.chmod(key_path, 0o600)
        os.replace(work / "items.jsonl", items_path)
        _write_json(report_path, report)
        stale = blind_dir / "leak_report.rejected.json"
        if stale.exists():
            stale.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BlindSummary(
        n_items=outcome.n_items,
        n_excluded=len(outcome.excluded),
        leak_report_path=report_path,
        remaining_tells=outcome.n_tells,
        identifiability=identifiability,
        scaffold_identifiability=scaffold_identifiability,
    )

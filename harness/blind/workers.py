"""Blinding every bucket of a run, in this process or in worker processes.

This module owns the fan-out of the ``blind`` stage's write phase: it blinds the buckets
``buckets.py`` partitioned (each bucket alone, with its own seed), in worker processes when
asked to, merges their items and key lines into one items file and one key file in bucket
order (so the output does not depend on the number of workers or their scheduling), and
feeds the identifiability audit's sample on the way. Should the process pool fail, it blinds
the buckets again in this process. It does not choose the number of workers or the bucket
size, publish the files or write the leak report (``stage.py`` does).
"""

from __future__ import annotations

import logging
from pathlib import Path

from harness.blind.buckets import (
    BucketResult,
    Outcome,
    Partition,
    ProgressBar,
    blind_bucket,
    open_private,
)
from harness.blind.leak_audit import AuditReservoir
from harness.blind.references import ScenarioReference
from harness.blind.scrubber import Scrubber
from harness.blind.tells import TellsSpec
from harness.blind.terms import RunTerms

__all__ = ["AUDIT_SAMPLE_SIZE", "ScrubberRecipe", "blind_buckets"]

log = logging.getLogger("xstress.blind")

AUDIT_SAMPLE_SIZE = 2000
"""Items the identifiability audit trains on at most (a seeded reservoir sample)."""

ScrubberRecipe = tuple[TellsSpec, RunTerms, str]
"""What a worker process builds its own scrubber from: tells, run names, the tells file."""


_WORKER_SCRUBBER: Scrubber | None = None
_WORKER_REFERENCES: dict[str, ScenarioReference] = {}


def _start_worker(tells: TellsSpec, terms: RunTerms, source: str,
                  references: dict[str, ScenarioReference]) -> None:
    """Process-pool initializer: build this worker's scrubber once, keep the references."""
    global _WORKER_SCRUBBER, _WORKER_REFERENCES
    _WORKER_SCRUBBER = Scrubber(tells, terms, source=source)
    _WORKER_REFERENCES = references


def _blind_in_worker(bucket: Path, seed: str | None, sample_rate: float) -> BucketResult:
    """Process-pool task: blind one bucket with the scrubber ``_start_worker`` built."""
    assert _WORKER_SCRUBBER is not None, "worker started without a scrubber"
    return blind_bucket(bucket, seed, sample_rate, _WORKER_SCRUBBER, _WORKER_REFERENCES)


def blind_buckets(
    partition: Partition,
    scrubber: Scrubber,
    recipe: ScrubberRecipe,
    references: dict[str, ScenarioReference],
    *,
    items: Path,
    key: Path,
    seed: int | None,
    workers: int,
    audit_seed: int,
    progress: ProgressBar,
    warnings: list[str],
) -> tuple[Outcome, AuditReservoir]:
    """Blind every bucket into ``items`` and ``key`` (mode 0600), in bucket order.

    Each item gets its scenario's entry of ``references`` (targets and reference notes).
    With several workers the buckets are blinded in worker processes (each builds its
    scrubber from ``recipe``); should the pool fail (a platform without working process
    pools, a caller script that cannot be re-imported), the buckets, still on disk, are
    blinded again in this process with ``scrubber``, and ``warnings`` says so.

    Returns:
        The merged tallies, and the audit's sample of the items.
    """
    # Oversample a little, then the reservoir trims to its capacity: a uniform sample.
    rate = min(1.0, 1.5 * AUDIT_SAMPLE_SIZE / max(1, partition.n_records))
    seeds = [None if seed is None else f"{seed}:{i}" for i in range(len(partition.buckets))]
    run = _BucketRun(partition, seeds, rate, items, key, audit_seed, progress, references)
    if workers > 1 and len(partition.buckets) > 1:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return run.in_pool(workers, recipe)
        except (BrokenProcessPool, OSError) as exc:
            message = f"worker processes failed ({exc!r}); blinded in one process instead"
            log.warning(message)
            warnings.append(message)
    return run.here(scrubber)


class _BucketRun:
    """One pass over the buckets, into fresh items and key files."""

    def __init__(self, partition: Partition, seeds: list[str | None], rate: float,
                 items: Path, key: Path, audit_seed: int, progress: ProgressBar,
                 references: dict[str, ScenarioReference]) -> None:
        self.partition = partition
        self.seeds = seeds
        self.rate = rate
        self.items = items
        self.key = key
        self.audit_seed = audit_seed
        self.progress = progress
        self.references = references

    def _start(self) -> tuple[Outcome, AuditReservoir]:
        """Fresh tallies and sample; the files of an earlier, failed pass removed."""
        for stale in (self.items, self.key, *self.items.parent.glob("*.items"),
                      *self.items.parent.glob("*.key")):
            stale.unlink(missing_ok=True)
        return Outcome(), AuditReservoir(AUDIT_SAMPLE_SIZE, seed=self.audit_seed)

    def here(self, scrubber: Scrubber) -> tuple[Outcome, AuditReservoir]:
        """Blind the buckets one after the other in this process."""
        outcome, reservoir = self._start()
        advance = self.progress.task("blinding", len(self.partition.buckets))
        with self.items.open("w", encoding="utf-8") as items, open_private(self.key) as key:
            for bucket, bucket_seed in zip(self.partition.buckets, self.seeds, strict=True):
                part = blind_bucket(bucket, bucket_seed, self.rate, scrubber, self.references)
                outcome.merge(part, items, key, reservoir)
                advance(1)
        return outcome, reservoir

    def in_pool(self, workers: int, recipe: ScrubberRecipe) -> tuple[Outcome, AuditReservoir]:
        """Blind the buckets in up to ``workers`` processes; merge them in bucket order."""
        import multiprocessing
        import sys
        import threading
        from concurrent.futures import ProcessPoolExecutor

        outcome, reservoir = self._start()
        advance = self.progress.task("blinding", len(self.partition.buckets))
        # fork needs no re-import of the caller's script, but is unsafe with other threads
        # alive (a finished sweep's writers, litellm's) and on macOS; spawn is safe there.
        single = threading.active_count() == 1 and sys.platform.startswith("linux")
        context = multiprocessing.get_context("fork" if single else "spawn")
        with (
            self.items.open("w", encoding="utf-8") as items,
            open_private(self.key) as key,
            ProcessPoolExecutor(
                max_workers=min(workers, len(self.partition.buckets)),
                mp_context=context,
                initializer=_start_worker,
                initargs=(*recipe, self.references),
            ) as executor,
        ):
            futures = [
                executor.submit(_blind_in_worker, bucket, bucket_seed, self.rate)
                for bucket, bucket_seed in zip(self.partition.buckets, self.seeds, strict=True)
            ]
            # Merged in bucket order, so the output does not depend on scheduling.
            for future in futures:
                outcome.merge(future.result(), items, key, reservoir)
                advance(1)
        return outcome, reservoir

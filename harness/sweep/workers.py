"""One sweep in several processes of this machine: ``run.workers=N|auto``.

Owns the fan-out of a sweep to worker processes and the one face the user sees of it. Each
worker runs the ordinary sweep (``runner.py``) on a disjoint slice of the cells: worker ``k`` of
``W`` in shard ``s`` of ``S`` is shard ``s + S*k`` of ``S*W``, so slices follow the existing
sharding by ``cell_id`` and each writes its own ``*.shard-J-of-M.*`` transcript and cache
files (readers take the union; a resume reads every file, whatever the number of workers
was). The processes come from ``concurrent.futures.ProcessPoolExecutor`` with the spawn
context (each imports litellm and registers its providers itself).

Limits are divided, not coordinated: each worker gets ``run.concurrency``, every model's
``limits.max_concurrency`` and ``limits.rpm`` and ``run.max_cost_usd`` divided by ``W``
(rounded down, at least 1), so together they stay within what was configured.

The parent is the only one that writes the run's manifest (with the run's own configuration:
one ``manifest.json`` as a one-process sweep writes), draws the one progress bar (the sum of
the counts workers report), owns Ctrl-C and SIGTERM (it asks every worker to stop, and each
ends like a one-process sweep: what finished is on disk, a rerun resumes exactly once), and
returns one merged ``SweepResult``. Workers die with the parent (``PR_SET_PDEATHSIG`` on
Linux): after a ``kill -9`` no orphan goes on writing while a rerun starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import queue as queue_module
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.config import SIMULATED_BANNER, RunConfig
from harness.errors import OutputError
from harness.providers import check_keys, now_iso
from harness.rundir import RunDir, ServerListing, read_manifests, recorded_cells
from harness.schema import ModelSpec
from harness.sweep.cells import sweep_cells
from harness.sweep.compatibility import check_resume
from harness.sweep.manifest import ManifestWriter
from harness.sweep.progress import SweepProgress
from harness.sweep.result import SweepResult
from harness.sweep.runner import WorkerLink, run_sweep

__all__ = ["die_with_parent", "run_sweep_in_workers", "run_sweep_stage", "slice_config"]

log = logging.getLogger("xstress.runner")

_PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal this process gets when its parent dies (Linux)."""


def run_sweep_stage(config: RunConfig, run_dir: Path, *,
                    announce: Callable[[str], object]) -> SweepResult:
    """The sweep of ``config`` in ``run.workers`` processes (``auto``: the usable cores; never
    more than there are cells), or in this one.

    ``run.limit`` (the first N cells, a smoke test) always runs in this process.
    """
    workers = config.run.worker_count()
    if workers > 1 and config.run.limit is not None:
        announce(f"run.limit={config.run.limit}: a smoke test runs in one process "
                 f"(run.workers={config.run.workers} applies to full sweeps)")
        workers = 1
    if workers > 1:
        workers = min(workers, _count_cells(config))
    if workers <= 1:
        return asyncio.run(run_sweep(config, run_dir, announce=announce))
    return run_sweep_in_workers(config, run_dir, workers=workers, announce=announce)


def _count_cells(config: RunConfig) -> int:
    return sum(1 for _ in sweep_cells(config))


def _on_disk(config: RunConfig, layout: RunDir) -> tuple[Counter[str], float]:
    """This shard's cells by their latest records on disk: how many ended each way, and
    their cost (what a resume would start from)."""
    recorded = recorded_cells(layout)
    counts: Counter[str] = Counter()
    cost = 0.0
    for cell in sweep_cells(config):
        state = recorded.get(cell.cell_id)
        if state is not None:
            counts[state.status] += 1
            cost += state.cost_usd
    return counts, cost


def _divided(value: int, workers: int) -> int:
    return max(1, value // workers)


def _model_share(model: ModelSpec, workers: int) -> ModelSpec:
    """The model with its rate limits divided between ``workers`` processes."""
    limits = model.limits.model_copy(update={
        "max_concurrency": _divided(model.limits.max_concurrency, workers),
        "rpm": None if model.limits.rpm is None else _divided(model.limits.rpm, workers)})
    return model.model_copy(update={"limits": limits})


def slice_config(config: RunConfig, index: int, workers: int) -> RunConfig:
    """Worker ``index``'s configuration: its slice of the cells and its share of the limits."""
    run = config.run
    budget = run.max_cost_usd
    settings = run.model_copy(update={
        "shard": run.shard + run.num_shards * index, "num_shards": run.num_shards * workers,
        "concurrency": _divided(run.concurrency, workers), "workers": 1, "progress": False,
        "max_cost_usd": None if budget is None else budget / workers})
    return replace(
        config, run=settings, models=tuple(_model_share(m, workers) for m in config.models),
        simulated_user_models=tuple(_model_share(m, workers)
                                    for m in config.simulated_user_models),
        user_model=(_model_share(config.user_model, workers) if config.user_model else None))


# ------------------------------------------------------------------------ in the worker


@dataclass
class SliceOutcome:
    """What one worker hands back: its result and what it noted for the manifest."""

    result: SweepResult
    model_versions: dict[str, set[str]] = field(default_factory=dict)
    reported: dict[str, set[str]] = field(default_factory=dict)
    fingerprints: dict[str, set[str]] = field(default_factory=dict)
    listings: dict[str, ServerListing] = field(default_factory=dict)
    cost_of_cells: float = 0.0
    """The slice's cells' cost, each by its latest record (what the manifest records)."""


_REPORTS: Any = None
_STOP: Any = None
_STOPPED_HERE = False


def die_with_parent(parent: int) -> None:
    """In a worker process (a pool initializer): be killed when process ``parent`` dies
    (``PR_SET_PDEATHSIG`` on Linux), exit at once if it already has (it died while this
    worker was starting, before the kernel was asked), and leave Ctrl-C to it (Ctrl-C reaches
    the whole process group: the parent decides, its workers wait for its word)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_worker(reports: Any, stop: Any, parent: int) -> None:
    """Pool initializer: die with the parent; leave Ctrl-C and SIGTERM to the parent."""
    global _REPORTS, _STOP
    _REPORTS, _STOP = reports, stop
    die_with_parent(parent)
    signal.signal(signal.SIGTERM, _stop_here)


def _stop_here(signum: int, frame: object) -> None:
    """SIGTERM sent to a worker alone: it ends its slice like Ctrl-C."""
    global _STOPPED_HERE
    _STOPPED_HERE = True


def _run_slice(config: RunConfig, run_dir: str, index: int) -> SliceOutcome:
    """Pool task: run worker ``index``'s slice of the sweep."""
    outcome = SliceOutcome(result=SweepResult(run_dir=Path(run_dir), total_cells=0, skipped=0))

    def report(counts: Counter[str], spent: float) -> None:
        _REPORTS.put((index, dict(counts), spent))  # a copy: the loop goes on counting

    def finished(writer: ManifestWriter, cost_of_cells: float) -> None:
        outcome.cost_of_cells = cost_of_cells
        outcome.model_versions, outcome.listings = writer.model_versions, writer.listings
        outcome.reported, outcome.fingerprints = writer.reported, writer.fingerprints

    link = WorkerLink(report=report, finished=finished,
                      stop_requested=lambda: _STOPPED_HERE or _STOP.is_set())
    outcome.result = asyncio.run(run_sweep(config, Path(run_dir), link=link))
    return outcome


# ------------------------------------------------------------------------ in the parent


def run_sweep_in_workers(config: RunConfig, run_dir: Path, *, workers: int,
                         announce: Callable[[str], object]) -> SweepResult:
    """Run (or resume) the sweep of ``config`` in ``workers`` processes; one merged result.

    Raises:
        XstressError: a worker's configuration or output problem (the first one met).
    """
    # Before the manifest is written: the checks each worker makes again, made once here.
    check_resume(config, run_dir)
    check_keys([*config.models, *config.user_models()], config.provider)
    context = multiprocessing.get_context("spawn")
    reports, stop = context.Queue(), context.Event()
    layout = RunDir(run_dir)
    total = _count_cells(config)
    writer = _parent_manifest(config, layout, total)
    merged = SweepResult(run_dir=run_dir, total_cells=total, skipped=0)
    writer.write(merged, cost_usd=0.0, finished=False)
    _announce_start(config, workers, announce)
    def resuming(done: int) -> None:
        if done:
            announce(f"resuming {run_dir}: {done} of {total} cells already done")

    board = _Board(workers, resuming)
    interrupted = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        stop.set()

    with _signals(on_signal), \
            SweepProgress(config.run.progress, total, config.simulated) as progress, \
            ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                initializer=_start_worker,
                                initargs=(reports, stop, os.getpid())) as pool:
        futures = [pool.submit(_run_slice, slice_config(config, k, workers), str(run_dir), k)
                   for k in range(workers)]
        while not all(future.done() for future in futures):
            _drain(reports, board, progress, timeout=0.1)
        _drain(reports, board, progress, timeout=0.0)
    outcomes, errors = _outcomes(futures)
    merged = _merge(run_dir, total, outcomes, writer)
    cost_of_cells = sum(o.cost_of_cells for o in outcomes)
    if len(outcomes) < workers:
        # A worker that failed took its figures with it (and a dead one breaks the pool, so
        # the others' go too): the cells are counted from what is on disk.
        merged.counts, cost_of_cells = _on_disk(config, layout)
    if interrupted or errors:
        merged.stopped_by = "interrupt" if interrupted else merged.stopped_by
        merged.not_started = total - sum(merged.counts.values())
    # What the workers that finished did is on record before a failed one's error is raised.
    writer.write(merged, cost_usd=cost_of_cells, finished=True)
    if errors:
        raise errors[0]
    return merged


@dataclass
class _Board:
    """The latest counts and spending each worker reported."""

    workers: int
    started: Callable[[int], object]
    """Called once every worker has reported, with the cells they found already done (each
    worker's first report comes before its first cell)."""
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    spent: dict[int, float] = field(default_factory=dict)
    _done_at_start: dict[int, int] = field(default_factory=dict)

    def note(self, index: int, counts: dict[str, int], spent: float) -> None:
        self.counts[index], self.spent[index] = counts, spent
        if index not in self._done_at_start:
            self._done_at_start[index] = sum(counts.values())
            if len(self._done_at_start) == self.workers:
                self.started(sum(self._done_at_start.values()))

    def total(self) -> tuple[Counter[str], float]:
        summed: Counter[str] = Counter()
        for counts in self.counts.values():
            summed.update(counts)
        return summed, sum(self.spent.values())


def _drain(reports: Any, board: _Board, progress: SweepProgress, *, timeout: float) -> None:
    """Take every report waiting (the first within ``timeout``) and redraw the bar once."""
    got = False
    try:
        while True:
            index, counts, spent = reports.get(timeout=timeout) if not got else \
                reports.get_nowait()
            board.note(index, counts, spent)
            got = True
    except queue_module.Empty:
        pass
    if got:
        progress.update(*board.total())


def _outcomes(futures: list[Future[SliceOutcome]]
              ) -> tuple[list[SliceOutcome], list[BaseException]]:
    """Every worker's outcome, and the errors of those that failed (a user-facing error keeps
    its message and fix; a worker that died is named)."""
    outcomes: list[SliceOutcome] = []
    errors: list[BaseException] = []
    for index, future in enumerate(futures):
        try:
            outcomes.append(future.result())
        except BrokenProcessPool:
            errors.append(OutputError(
                f"sweep worker {index} died before it finished (killed, or out of memory); "
                f"what every worker finished is on disk",
                fix="rerun the same command (same run.name) to resume the rest"))
        except Exception as exc:  # raised in the parent once every worker is in
            errors.append(exc)
    return outcomes, errors


@contextlib.contextmanager
def _signals(handler: Callable[[int, object], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM ask the workers to stop (handlers restored after)."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for signum in previous:
            signal.signal(signum, handler)
    except ValueError:  # not the main thread: the caller keeps its own handling
        pass
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, TypeError):
            for signum, old in previous.items():
                if old is not None:
                    signal.signal(signum, old)


def _parent_manifest(config: RunConfig, layout: RunDir, total: int) -> ManifestWriter:
    """The run's manifest writer, keeping what earlier invocations recorded."""
    previous = read_manifests(layout)
    writer = ManifestWriter(
        config, layout.manifest(config.run.shard, config.run.num_shards), run_id=layout.name,
        cells=total, started_at=next((m.started_at for m in previous if m.started_at),
                                     now_iso()))
    for manifest in previous:
        if (manifest.shard, manifest.num_shards) == (config.run.shard, config.run.num_shards):
            for model, versions in manifest.model_versions.items():
                writer.note_versions(model, versions)
            for model, identity in manifest.served.items():
                writer.note_served_before(model, identity)
    return writer


def _announce_start(config: RunConfig, workers: int, announce: Callable[[str], object]) -> None:
    if config.simulated:
        announce(f"running {SIMULATED_BANNER}; outputs are labelled simulated")
    announce(f"sweep in {workers} worker processes (run.workers={config.run.workers}), one "
             f"slice of the cells each; concurrency, rate limits and budget divided between "
             f"them")
    for model in config.models:
        if model.limits.tpm is not None:
            announce(f"warning: configs/models/{model.name}.yaml: limits.tpm is not enforced "
                     f"yet; use limits.rpm and limits.max_concurrency to stay under the "
                     f"provider's limits")


def _merge(run_dir: Path, total: int, outcomes: list[SliceOutcome],
           writer: ManifestWriter) -> SweepResult:
    """One result from every worker's, and their notes into the parent's manifest writer."""
    merged = SweepResult(run_dir=run_dir, total_cells=total, skipped=0)
    for outcome in outcomes:
        result = outcome.result
        merged.skipped += result.skipped
        merged.counts.update(result.counts)
        merged.not_started += result.not_started
        if result.stopped_by == "interrupt" or merged.stopped_by is None:
            merged.stopped_by = result.stopped_by or merged.stopped_by
        merged.calls_made += result.calls_made
        merged.spent_usd += result.spent_usd
        merged.error_causes.update(result.error_causes)
        merged.auth_failures.update(result.auth_failures)
        merged.truncated_replies += result.truncated_replies
        merged.truncated_cells += result.truncated_cells
        for model, versions in outcome.model_versions.items():
            writer.note_versions(model, versions)
        for target, source in ((writer.reported, outcome.reported),
                               (writer.fingerprints, outcome.fingerprints)):
            for model, values in source.items():
                target.setdefault(model, set()).update(values)
        for model, listing in outcome.listings.items():
            writer.listings.setdefault(model, listing)
    return merged

"""The sweep: run every cell of this shard through the providers and record it.

Owns one invocation of the sweep: which cells still need running (resume skips ``ok`` and
``blocked`` cells and retries ``error`` ones), global concurrency (a pool of
``run.concurrency`` workers), the budget gate, stopping a model after an authentication failure,
Ctrl-C and SIGTERM, the progress bar and the manifest at start and end. Its memory does not grow
with the number of cells: cells are generated as workers take them (one counting pass first)
and a finished cell leaves only running totals behind. A cell's conversation is
``conversation.py``'s, the manifest's shape ``manifest.py``'s; per-model limits, retries and
the cache are ``harness.providers``'; files and their paths are ``harness.rundir``'s. In a
worker process (``workers.py``) the sweep runs one slice of the cells and hands the manifest,
the signals, the announcements and the progress bar to the parent through a ``WorkerLink``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from harness.config import SIMULATED_BANNER, RunConfig
from harness.errors import OutputError
from harness.providers import (
    PROVIDERS,
    ProviderClient,
    check_keys,
    fetch_listings,
    make_client,
    now_iso,
)
from harness.rundir import (
    ResponseCache,
    RunDir,
    TranscriptRecord,
    TranscriptStore,
    read_manifests,
    shard_suffix,
)
from harness.schema import ModelSpec
from harness.sweep.cells import Cell, sweep_cells
from harness.sweep.compatibility import check_replay_source, check_resume
from harness.sweep.conversation import CellRunner
from harness.sweep.manifest import ManifestWriter
from harness.sweep.planning import estimate_cell
from harness.sweep.progress import SweepProgress
from harness.sweep.result import SweepResult, cause_key

__all__ = ["WorkerLink", "default_run_name", "run_dir_for", "run_sweep"]

log = logging.getLogger("xstress.runner")


def default_run_name() -> str:
    """A timestamp with microseconds (two runs in one second do not collide)."""
    return datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def run_dir_for(config: RunConfig) -> Path:
    """``<run.out_dir>/<run.name>``, the name defaulting to a timestamp."""
    name = config.run.name or default_run_name()
    return Path(config.run.out_dir) / name


STOP_POLL_S = 0.2
"""How often a worker process looks for the parent's request to stop."""


@dataclass(frozen=True)
class WorkerLink:
    """A worker process's line to its parent, which owns the manifest, the signals, the
    announcements and the progress bar of the whole sweep."""

    report: Callable[[Counter[str], float], None]
    """Takes this slice's counts by status and the money spent on its cells."""
    stop_requested: Callable[[], bool]
    """True once the parent asks every worker to stop (Ctrl-C, SIGTERM): ends like Ctrl-C."""
    finished: Callable[[ManifestWriter, float], None]
    """Takes what this slice noted for the manifest (versions, served identity, listings) and
    its cells' cost (each cell by its latest record, every invocation's)."""


async def run_sweep(config: RunConfig, run_dir: Path, *,
                    announce: Callable[[str], object] | None = None,
                    link: WorkerLink | None = None) -> SweepResult:
    """Run (or resume) the sweep of ``config`` into ``run_dir``.

    Args:
        config: the validated run configuration.
        run_dir: the run directory (created if missing; resumed if it holds records).
        announce: a callable taking one line of text for the user (default: log.info).
        link: in a worker process, the line to the parent (then no manifest is written, no
            signal handler installed and nothing announced here).

    Returns:
        The sweep's result (counts, cost, how it stopped).
    """
    return await _Sweep(config, run_dir, announce or log.info, link).run()


class _Sweep:
    """One invocation of the sweep over this shard's cells."""

    def __init__(self, config: RunConfig, run_dir: Path, say: Callable[[str], object],
                 link: WorkerLink | None = None) -> None:
        settings = config.run
        self.link = link
        # Before any file is opened: a run directory holds one configuration's cells.
        check_resume(config, run_dir)
        if PROVIDERS[config.provider.mode].uses_recordings and config.replay.from_:
            check_replay_source(config, Path(config.replay.from_))
        check_keys([*config.models, *config.user_models()], config.provider)
        self.config = config
        self.say = say
        self.layout = RunDir(run_dir)
        self.store = TranscriptStore(self.layout, shard=settings.shard,
                                     num_shards=settings.num_shards)
        self.cache = ResponseCache(self.layout,
                                   suffix=shard_suffix(settings.shard, settings.num_shards))
        self.recordings = self._open_recordings()
        self.result = SweepResult(run_dir=run_dir, total_cells=0, skipped=0)
        self.cost_of_cells = 0.0
        """This shard's cells' cost, each by its latest record (every invocation's)."""
        self.todo_count = self._count_cells()
        previous = read_manifests(self.layout)
        self.manifest = ManifestWriter(
            config, self.layout.manifest(settings.shard, settings.num_shards),
            run_id=self.layout.name, cells=self.result.total_cells,
            started_at=next((m.started_at for m in previous if m.started_at), now_iso()))
        for manifest in previous:
            # A resume calls only what is left: keep the versions earlier invocations saw.
            if (manifest.shard, manifest.num_shards) == (settings.shard, settings.num_shards):
                for model, versions in manifest.model_versions.items():
                    self.manifest.note_versions(model, versions)
                for model, identity in manifest.served.items():
                    self.manifest.note_served_before(model, identity)
        # This shard's cells only: with sharding, each shard gets its own budget.
        self.spent = self.cost_of_cells
        self.in_flight_estimate = 0.0
        self._estimates: dict[str, float] = {}
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def _cells(self) -> Iterator[Cell]:
        """This shard's cells, generated again on each call (never held in a list)."""
        return sweep_cells(self.config)

    def _count_cells(self) -> int:
        """One pass over this shard's cells: how many, which are done (skipped on resume),
        what earlier invocations spent on them and cut off; returns how many are left to run.
        """
        todo = 0
        for cell in self._cells():
            self.result.total_cells += 1
            state = self.store.previous.get(cell.cell_id)
            if state is None:
                todo += 1
                continue
            self._tally(state.cost_usd, state.truncated, sign=1)
            if self.store.done(cell.cell_id):
                self.result.skipped += 1
                self.result.counts[state.status] += 1
            else:
                todo += 1
        return todo

    def _tally(self, cost_usd: float, truncated: int, *, sign: int) -> None:
        """Add (or, for a cell's record that a new one replaces, take away) one record's cost
        and cut-off replies from this shard's totals."""
        self.cost_of_cells += sign * cost_usd
        self.result.truncated_replies += sign * truncated
        self.result.truncated_cells += sign * (truncated > 0)

    def _open_recordings(self) -> ResponseCache | None:
        """The replay source's replies, when the provider serves recordings."""
        if not PROVIDERS[self.config.provider.mode].uses_recordings:
            return None
        source = RunDir(Path(self.config.replay.from_ or ""))
        return ResponseCache(source, writable=False)

    def _write_manifest(self, *, finished: bool) -> None:
        if self.link is not None:  # the parent writes the run's one manifest
            return
        self.manifest.write(self.result, cost_usd=self.cost_of_cells, finished=finished)

    def _announce_start(self) -> None:
        if self.link is not None:  # the parent speaks for every worker
            return
        if self.config.simulated:
            self.say(f"running {SIMULATED_BANNER}; outputs are labelled simulated")
        for model in self.config.models:
            if model.limits.tpm is not None:
                self.say(f"warning: configs/models/{model.name}.yaml: limits.tpm is not enforced "
                         f"yet; use limits.rpm and limits.max_concurrency to stay under the "
                         f"provider's limits")
        if self.result.skipped:
            self.say(f"resuming {self.layout.root}: {self.result.skipped} of "
                     f"{self.result.total_cells} cells already done")

    def _on_auth_failure(self, model: ModelSpec, cause: str) -> None:
        self.result.auth_failures[model.name] = cause
        self.say(f"authentication failed for model {model.name}; no more calls to it this run: "
                 f"{cause}")

    async def run(self) -> SweepResult:
        """Run the cells still to do; write the manifest before and after."""
        # What each OpenAI-compatible endpoint serves, asked once before any cell (a failure
        # is recorded in the manifest, never fatal).
        self.manifest.listings = await fetch_listings(self.config.models, self.config.provider)
        self._write_manifest(finished=False)
        self._announce_start()
        client = make_client(self.config.provider, self.config.run, cache=self.cache,
                             replay=self.recordings, replay_strict=self.config.replay.strict,
                             on_auth_failure=self._on_auth_failure)
        runner = CellRunner(client, self.layout.name, self.config)
        progress = SweepProgress(self.config.run.progress, self.result.total_cells,
                                 self.config.simulated,
                                 sink=self.link.report if self.link is not None else None)
        if self.link is not None:
            try:
                watcher = asyncio.create_task(self._watch_parent(self.link))
                with progress:
                    await self._run_workers(client, runner, progress)
            finally:
                watcher.cancel()
                self._finish(client)
                self.link.finished(self.manifest, self.cost_of_cells)
            return self.result
        loop = asyncio.get_running_loop()
        # asyncio puts back the default handlers, not the ones it replaced (the CLI's SIGTERM
        # handler, which makes later stages end like Ctrl-C): restore them ourselves.
        previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
            loop.add_signal_handler(signal.SIGTERM, self._interrupt)
        try:
            with progress:
                await self._run_workers(client, runner, progress)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)
            with contextlib.suppress(ValueError, TypeError):  # not the main thread
                for signum, handler in previous.items():
                    if handler is not None:
                        signal.signal(signum, handler)
            self._finish(client)
        return self.result

    async def _run_workers(self, client: ProviderClient, runner: CellRunner,
                           progress: SweepProgress) -> None:
        progress.update(self.result.counts, self.spent)
        # Cells are generated as workers take them: at most run.concurrency are in flight.
        queue = (cell for cell in self._cells() if not self.store.done(cell.cell_id))
        workers = min(self.config.run.concurrency, max(1, self.todo_count))
        self.tasks = [asyncio.create_task(self._worker(queue, client, runner, progress))
                      for _ in range(workers)]
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for task in self.tasks:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _worker(self, queue: Iterator[Cell], client: ProviderClient, runner: CellRunner,
                      progress: SweepProgress) -> None:
        while not self.stop.is_set():
            cell = next(queue, None)
            if cell is None:
                return
            auth = client.auth_failure(cell.model)
            if auth is not None:
                record = await runner.run_failed(cell, f"not run: {auth}")
            else:
                estimate = self._estimated_cost(cell)
                if not self._within_budget(estimate):
                    self._stop_for_budget(queue)
                    return
                self.in_flight_estimate += estimate
                try:
                    record = await runner.run(cell)
                finally:
                    self.in_flight_estimate -= estimate
            self._record(record)
            progress.update(self.result.counts, self.spent)

    def _estimated_cost(self, cell: Cell) -> float:
        """The cell's worst-case cost, computed once per model and scaffold."""
        key = f"{cell.model.name}/{cell.scaffold.name}"
        if key not in self._estimates:
            self._estimates[key] = estimate_cell(cell).cost_usd or 0.0
        return self._estimates[key]

    def _within_budget(self, estimate: float) -> bool:
        """The budget gate: a cell starts only if spent + in flight + its worst case fit."""
        budget = self.config.run.max_cost_usd
        return budget is None or self.spent + self.in_flight_estimate + estimate <= budget

    def _stop_for_budget(self, queue: Iterator[Cell]) -> None:
        self.result.not_started += 1 + sum(1 for _ in queue)
        self.result.stopped_by = self.result.stopped_by or "budget"
        self.stop.set()

    def _record(self, record: TranscriptRecord) -> None:
        self.spent += record.cost_usd or 0.0
        self.store.append(record)
        earlier = self.store.previous.get(record.cell_id)
        if earlier is not None:  # an error cell run again: its new record replaces the old
            self._tally(earlier.cost_usd, earlier.truncated, sign=-1)
        self._tally(record.cost_usd or 0.0, len(record.truncated_messages), sign=1)
        self.result.counts[record.status] += 1
        if record.status == "error" and record.error:
            self.result.error_causes[cause_key(record.error)] += 1
        self.manifest.note_versions(record.model, (call.model_reported for call in record.calls))
        self.manifest.note_served(record.model, record.calls)

    async def _watch_parent(self, link: WorkerLink) -> None:
        """In a worker: stop like Ctrl-C once the parent asks (it owns the signals)."""
        while not link.stop_requested():
            await asyncio.sleep(STOP_POLL_S)
        self._interrupt()

    def _interrupt(self) -> None:
        if self.result.stopped_by != "interrupt":
            self.result.stopped_by = "interrupt"
            self.stop.set()
            for task in self.tasks:
                task.cancel()

    def _finish(self, client: ProviderClient) -> None:
        """Count what did not start, close every file, write the final manifest."""
        if self.result.stopped_by == "interrupt":
            self.result.not_started = self.result.total_cells - sum(self.result.counts.values())
        self.result.calls_made = client.calls_made
        self.result.spent_usd = self.spent
        close_errors: list[OutputError] = []
        for closable in (self.store, self.cache, self.recordings):
            try:
                if closable is not None:
                    closable.close()
            except OutputError as exc:  # every file gets closed before the first is reported
                close_errors.append(exc)
        self._write_manifest(finished=True)
        if close_errors:
            raise close_errors[0]

"""One LLM judge's remaining items, coded in this process or shared with worker processes.

This module owns running an LLM judge over the work ``stage.py`` found (each item with the
dimensions missing from the judge's file): in this process with ``concurrency`` items in
flight, or, with ``run.workers`` = W above 1, in W processes: this one and W-1 workers (a
spawn-context ``ProcessPoolExecutor``). The items are dealt round robin; this process codes
slice 0 with the client it already has (one litellm import fewer than W fresh workers), and
worker K builds its own client with its own write-ahead cache file
(``cache/responses.judges.worker-K-of-W.jsonl``; every ``ResponseCache`` of the run reads all
of them, so a rerun reuses each reply whatever its number of workers). Each process codes with
its share of ``concurrency`` and of the judge's ``limits`` (divided by W, rounded down, at
least 1, so that together they stay within them). Workers send each finished item's codes
back through a queue, so this process stays the only writer of the score file, through the
same writer as in-process coding, and moves the one progress bar. Workers ignore Ctrl-C: this
process stops them when it is interrupted or one of them fails, and they die with it (on Linux
the kernel kills them; elsewhere they notice within a fraction of a second), so a rerun never
races an orphan. Which pairs to code, and the records written, are ``stage.py``'s; how an item
is judged is ``judge.py``'s.
"""

from __future__ import annotations

import asyncio
import os
import queue
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import XstressError
from harness.providers import make_client
from harness.rundir import BlindedItem, ResponseCache, RunDir
from harness.schema import JudgeSpec, ProviderSettings, RubricSpec, RunSettings
from harness.score.judge import ProviderClientLike, judge_item
from harness.score.judge_setup import judge_setup
from harness.score.rubric import DimensionCode
from harness.sweep import die_with_parent

__all__ = ["JudgeWorkers", "Work", "Writer", "run_llm_judge", "worker_cache_suffix"]

Work = list[tuple[BlindedItem, list[str]]]
"""Items still to code, each with the dimensions missing from its coder's file."""
Writer = Callable[[BlindedItem, list[DimensionCode], list[str]], Awaitable[None]]
"""Writes one item's codes (only the listed dimensions) durably."""

_POLL_S = 0.2
"""How often a waiting parent looks at its workers, and a worker at its parent."""
_QUIET_POLLS = 50
"""Empty polls after every worker returned before codes are declared lost (a bug)."""


@dataclass(frozen=True)
class JudgeWorkers:
    """Worker processes for LLM judges: how many, and what each builds its client from."""

    count: int
    """Processes sharing one judge's items (``run.worker_count()``); 1 codes in-process."""
    provider: ProviderSettings
    """``provider.*`` of the judges' client (as ``make_client`` takes it)."""
    run: RunSettings
    """``run.*``: timeout, attempts and waits of every call."""


def worker_cache_suffix(worker: int, workers: int) -> str:
    """The cache suffix of judge worker ``worker`` of ``workers`` (``RunDir.cache``)."""
    return f".judges.worker-{worker}-of-{workers}"


async def run_llm_judge(
    judge: JudgeSpec,
    rubric: RubricSpec,
    work: Work,
    *,
    run_dir: Path,
    client: ProviderClientLike,
    write: Writer,
    advance: Callable[[], None],
    concurrency: int,
    workers: JudgeWorkers | None,
) -> None:
    """Code ``work`` with an LLM judge, writing each item through ``write`` as it finishes.

    With ``workers`` above 1 (and at least two items), this process codes one share through
    ``client`` and worker processes the others (each through a client of its own); otherwise
    this process codes them all.

    Raises:
        XstressError: a user error from the judge's calls (e.g. a missing key), raised as
            itself, or a worker process that ended without a word; what was written stays.
    """
    count = min(workers.count if workers is not None else 1, len(work))
    if workers is not None and count > 1:
        pool = _JudgePool(judge, rubric, work, run_dir, workers, count, concurrency)
        await pool.run(client, write, advance)
        return

    async def done(index: int, codes: list[DimensionCode]) -> None:
        item, missing = work[index]
        await write(item, codes, missing)
        advance()

    await _code(_indexed(work), judge, rubric, client, concurrency, done)


_Indexed = list[tuple[int, BlindedItem, list[str]]]
"""Work entries with their index in the parent's work list."""
_Done = Callable[[int, list[DimensionCode]], Awaitable[None]]
"""Takes one finished item's codes, by its index in the parent's work list."""


def _indexed(work: Work, *, slice_of: int = 1, slice_number: int = 0) -> _Indexed:
    """``work`` with indices; with ``slice_of`` above 1, every ``slice_of``-th entry only."""
    return [(index, item, missing) for index, (item, missing) in enumerate(work)
            if index % slice_of == slice_number]


async def _code(entries: _Indexed, judge: JudgeSpec, rubric: RubricSpec,
                client: ProviderClientLike, concurrency: int, done: _Done) -> None:
    """Judge the entries, ``concurrency`` items in flight, handing each item to ``done``."""
    setup = judge_setup(judge)
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int, item: BlindedItem, missing: list[str]) -> None:
        async with semaphore:
            codes = await judge_item(item, judge, rubric, client, dimensions=missing,
                                     setup=setup)
            await done(index, codes)

    await _all_or_first_failure(one(*entry) for entry in entries)


async def _all_or_first_failure(jobs: Iterable[Coroutine[Any, Any, None]]) -> None:
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)
    except BaseExceptionGroup as failures:
        # A judge failure is data (unscored); anything raised here is a user error (e.g. a
        # missing key, a replay miss) or a bug. Surface the first one as itself so the CLI
        # prints it; items already written stay on disk for the next run.
        raise _first_leaf(failures) from None


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _share(judge: JudgeSpec, count: int) -> JudgeSpec:
    """The judge as one of ``count`` workers calls it: its limits divided, rounded down (at
    least 1), so that together the workers stay within them (as the sweep's workers do)."""
    limits = judge.limits

    def part(value: int) -> int:
        return max(1, value // count)

    shared = limits.model_copy(update={
        "rpm": None if limits.rpm is None else part(limits.rpm),
        "tpm": None if limits.tpm is None else part(limits.tpm),
        "max_concurrency": part(limits.max_concurrency),
    })
    return judge.model_copy(update={"limits": shared})


@dataclass(frozen=True)
class _Slice:
    """One worker process's share of a judge's work, and all it needs to code it."""

    run_dir: Path
    worker: int
    workers: int
    judge: JudgeSpec
    """The judge with its share of the limits."""
    rubric: RubricSpec
    entries: _Indexed
    provider: ProviderSettings
    run: RunSettings
    concurrency: int
    """This worker's share of ``concurrency``."""


class _JudgePool:
    """A judge's work split ``count`` ways: slice 0 coded here, with the client this process
    already has (one litellm import fewer), the others in worker processes, which send their
    items back to be written here."""

    def __init__(self, judge: JudgeSpec, rubric: RubricSpec, work: Work, run_dir: Path,
                 workers: JudgeWorkers, count: int, concurrency: int) -> None:
        self.judge = _share(judge, count)
        self.rubric = rubric
        self.work = work
        self.concurrency = max(1, concurrency // count)
        self.here = _indexed(work, slice_of=count, slice_number=0)
        self.slices = [
            _Slice(run_dir, k, count, self.judge, rubric,
                   _indexed(work, slice_of=count, slice_number=k), workers.provider,
                   workers.run, self.concurrency)
            for k in range(1, count)
        ]

    async def run(self, client: ProviderClientLike, write: Writer,
                  advance: Callable[[], None]) -> None:
        """Start the workers, code slice 0, write every item, stop the workers on the way
        out (an error, an interrupt, or the end)."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        async def done(index: int, codes: list[DimensionCode]) -> None:
            item, missing = self.work[index]
            await write(item, codes, missing)
            advance()

        # spawn: this process has threads (durable writers, maybe a server); fork is unsafe.
        context = multiprocessing.get_context("spawn")
        self.replies = context.Queue()
        self.stop = context.Event()
        executor = ProcessPoolExecutor(
            max_workers=len(self.slices), mp_context=context, initializer=_start_worker,
            initargs=(self.replies, self.stop, os.getpid()))
        try:
            # Submitted from this thread, which so spawns the workers: their parent-death
            # signal is tied to the thread that spawned them.
            futures = [executor.submit(_code_slice, piece) for piece in self.slices]
            await _all_or_first_failure([
                _code(self.here, self.judge, self.rubric, client, self.concurrency, done),
                self._collect(futures, done),
            ])
        finally:
            self.stop.set()
            executor.shutdown(wait=True, cancel_futures=True)

    async def _collect(self, futures: list[Future[int]], done: _Done) -> None:
        """Hand every item the workers send back to ``done``; raise a worker's failure once
        what it sent before is handed on."""
        left, quiet = sum(len(piece.entries) for piece in self.slices), 0
        while left:
            reply = await self._next()
            if reply is None:
                failure = _failure(self.judge.name, futures)
                if failure is not None:
                    self.stop.set()
                    while (reply := await self._next()) is not None:
                        await done(*reply)
                    raise failure
                quiet = quiet + 1 if all(f.done() for f in futures) else 0
                if quiet > _QUIET_POLLS:
                    raise RuntimeError(f"judge {self.judge.name}: {left} item(s) never came "
                                       "back from workers that finished")
                continue
            await done(*reply)
            left -= 1

    async def _next(self) -> tuple[int, list[DimensionCode]] | None:
        """The next finished item from any worker, or None after a quiet poll."""
        loop = asyncio.get_running_loop()
        try:
            reply: tuple[int, list[DimensionCode]] = await loop.run_in_executor(
                None, self.replies.get, True, _POLL_S)
        except queue.Empty:
            return None
        return reply


def _failure(judge_name: str, futures: Sequence[Future[int]]) -> BaseException | None:
    """The first worker failure, as the error to raise; None while none failed."""
    from concurrent.futures.process import BrokenProcessPool

    for future in futures:
        if not future.done() or future.cancelled():
            continue
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            return XstressError(
                f"judge {judge_name}: a worker process ended unexpectedly ({error}); the codes "
                "already on file are kept",
                fix="rerun the same command: only the pairs not on file are coded, and replies "
                    "already received come from the cache")
        if error is not None:
            return error
    return None


# ---------------------------------------------------------------- in the worker processes

_REPLIES: Any = None
"""This worker's queue back to the parent (a ``multiprocessing`` queue)."""
_STOP: Any = None
"""Set by the parent when the workers must stop (a ``multiprocessing`` event)."""
_PARENT = 0
"""The parent's process id."""


def _start_worker(replies: Any, stop: Any, parent: int) -> None:
    """Process-pool initializer: keep the queue and the stop event, die with the parent."""
    global _REPLIES, _STOP, _PARENT
    _REPLIES, _STOP, _PARENT = replies, stop, parent
    # The parent decides when its workers stop, so that an interrupt ends with one message
    # and no traceback per worker.
    die_with_parent(parent)
    # The parent reads every item before it shuts the pool down; after a failure, items
    # still buffered here may be dropped rather than hold up the exit (their replies are
    # cached, so a rerun codes them again without a call).
    replies.cancel_join_thread()


def _code_slice(piece: _Slice) -> int:
    """Process-pool task: code one slice, sending each item's codes back as it finishes;
    returns how many items were sent (0 when stopped)."""
    if _STOP.is_set():
        return 0
    return asyncio.run(_code_slice_here(piece))


async def _code_slice_here(piece: _Slice) -> int:
    cache = ResponseCache(RunDir(piece.run_dir),
                          suffix=worker_cache_suffix(piece.worker, piece.workers))

    async def send(index: int, codes: list[DimensionCode]) -> None:
        _REPLIES.put((index, codes))

    try:
        client = make_client(piece.provider, piece.run, cache=cache)
        coding = asyncio.ensure_future(_code(piece.entries, piece.judge, piece.rubric, client,
                                             piece.concurrency, send))
        watching = asyncio.ensure_future(_watch_parent())
        await asyncio.wait({coding, watching}, return_when=asyncio.FIRST_COMPLETED)
        watching.cancel()
        if not coding.done():  # asked to stop: calls in flight are dropped, not coded
            coding.cancel()
            await asyncio.gather(coding, return_exceptions=True)
            return 0
        coding.result()
        return len(piece.entries)
    finally:
        cache.close()


async def _watch_parent() -> None:
    """Returns when the parent asks the workers to stop; exits when the parent is gone."""
    while not _STOP.is_set():
        if os.getppid() != _PARENT:
            os._exit(1)
        await asyncio.sleep(_POLL_S)

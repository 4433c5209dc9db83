"""The sweep: run every cell's conversation through the providers and record it.

Owns the conversation loop (scripted or simulated user turns, the scaffold's wrapper, system
prompt and extra passes), global concurrency (a pool of ``run.concurrency`` workers), the budget
gate, stopping a model after an authentication failure, resume (skip ``ok``/``blocked`` cells,
retry ``error`` cells), Ctrl-C handling, the progress bar and the manifest. Per-model limits,
retries and the cache live in ``providers.py``; files in ``store.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from harness.config import RunConfig
from harness.errors import OutputError, ReplayMissError
from harness.providers import ProviderClient, check_keys, now_iso
from harness.rundir import (
    CallRecord,
    Message,
    ResponseCache,
    RunDir,
    TranscriptRecord,
    TranscriptStore,
    Usage,
    read_manifests,
    shard_suffix,
    write_json_atomic,
)
from harness.schema import ModelSpec
from harness.sweep.cells import Cell, enumerate_cells
from harness.sweep.planning import estimate_cell

__all__ = ["SweepResult", "default_run_name", "run_dir_for", "run_sweep"]

log = logging.getLogger("xstress.runner")
CellStatus = Literal["ok", "error", "blocked"]

SIMULATED_USER_PROMPT = (
    "You are playing the user in a conversation with an AI assistant. Stay in character.\n"
    "Persona: {persona}\nGoal: {goal}\n"
    "Write only the user's next message, in their voice, in one to three sentences."
)


def default_run_name() -> str:
    """A timestamp with microseconds (two runs in one second do not collide)."""
    return datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def run_dir_for(config: RunConfig) -> Path:
    name = config.run.name or default_run_name()
    return Path(config.run.out_dir) / name


@dataclass
class SweepResult:
    """What a sweep did; ``exit_code`` follows the CLI contract."""

    run_dir: Path
    total_cells: int
    skipped: int
    counts: Counter[str] = field(default_factory=Counter)
    not_started: int = 0
    stopped_by: str | None = None
    calls_made: int = 0
    spent_usd: float = 0.0
    error_causes: Counter[str] = field(default_factory=Counter)
    auth_failures: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        if self.stopped_by == "interrupt":
            return 130
        if self.counts.get("error"):
            return 1
        if self.not_started:
            return 3
        return 0


class CellRunner:
    """Runs one cell's conversation; returns its transcript record."""

    def __init__(self, client: ProviderClient, run_id: str, simulated_user_models:
                 dict[str, ModelSpec]) -> None:
        self.client = client
        self.run_id = run_id
        self.simulated_user_models = simulated_user_models

    async def run(self, cell: Cell) -> TranscriptRecord:
        started = now_iso()
        visible: list[Message] = []
        history: list[Message] = []
        if cell.scaffold.system:
            history.append(Message(role="system", content=cell.scaffold.system))
        calls: list[CallRecord] = []
        status: CellStatus = "ok"
        error: str | None = None

        async def call(messages: list[Message], purpose: str, turn: int,
                       model: ModelSpec | None = None) -> CallRecord:
            record = await self.client.complete(model or cell.model, messages, purpose=purpose,
                                                turn=turn, replicate=cell.replicate,
                                                label=cell.label)
            calls.append(record)
            return record

        try:
            for user_text, turn_index, sim_call in self._user_turns(cell, visible, call):
                if sim_call is not None:
                    text_record = await sim_call
                    if text_record.status != "ok" or text_record.reply is None:
                        status, error = self._failure(text_record, "simulated user")
                        break
                    user_text = text_record.reply.strip()
                visible.append(Message(role="user", content=user_text))
                history.append(Message(role="user",
                                       content=cell.scaffold.user_template.format(user=user_text)))
                reply_record = await call(list(history), "reply", turn_index)
                if reply_record.status != "ok" or reply_record.reply is None:
                    status, error = self._failure(reply_record, "reply")
                    break
                shown = reply_record.reply
                for scaffold_pass in cell.scaffold.passes:
                    pass_messages = [*history, Message(role="assistant", content=shown),
                                     Message(role="user", content=scaffold_pass.instruction)]
                    pass_record = await call(pass_messages, f"pass:{scaffold_pass.name}",
                                             turn_index)
                    if pass_record.status != "ok" or pass_record.reply is None:
                        status, error = self._failure(pass_record, f"pass {scaffold_pass.name}")
                        break
                    if scaffold_pass.replace_reply:
                        shown = pass_record.reply
                if status != "ok":
                    break
                history.append(Message(role="assistant", content=shown))
                visible.append(Message(role="assistant", content=shown))
        except ReplayMissError as exc:
            status, error = "error", exc.one_line()

        usage = Usage()
        cost: float | None = 0.0
        for record in calls:
            usage = usage + record.usage
            if record.cost_usd is None:
                cost = None
            elif cost is not None:
                cost += record.cost_usd
        return TranscriptRecord(
            run_id=self.run_id, cell_id=cell.cell_id, model=cell.model.name,
            scaffold=cell.scaffold.name, prompt_id=cell.scenario.id, prompt_set=cell.prompt_set,
            domain=cell.scenario.domain, probe=cell.scenario.probe, replicate=cell.replicate,
            status=status,
            simulated=cell.model.simulated, messages=visible, calls=calls, usage=usage,
            cost_usd=cost, error=error, started_at=started, finished_at=now_iso(),
            scaffold_hash=cell.scaffold_hash, prompt_hash=cell.prompt_hash,
            model_hash=cell.model_hash, model_params=cell.model.params,
            litellm_model=cell.model.litellm_model,
        )

    async def run_failed(self, cell: Cell, error: str) -> TranscriptRecord:
        """A cell that is not run (its model failed authentication): an error record."""
        now = now_iso()
        return TranscriptRecord(
            run_id=self.run_id, cell_id=cell.cell_id, model=cell.model.name,
            scaffold=cell.scaffold.name, prompt_id=cell.scenario.id, prompt_set=cell.prompt_set,
            domain=cell.scenario.domain, probe=cell.scenario.probe, replicate=cell.replicate,
            status="error", simulated=cell.model.simulated, messages=[], calls=[], usage=Usage(),
            cost_usd=0.0, error=error, started_at=now, finished_at=now,
            scaffold_hash=cell.scaffold_hash, prompt_hash=cell.prompt_hash,
            model_hash=cell.model_hash, model_params=cell.model.params,
            litellm_model=cell.model.litellm_model,
        )

    @staticmethod
    def _failure(record: CallRecord, what: str) -> tuple[CellStatus, str]:
        if record.status == "blocked":
            return "blocked", f"{what}: blocked by the provider's content policy"
        last = record.attempts[-1] if record.attempts else None
        if last is not None and last.outcome != "ok":
            cause = f"{last.error_class}"
            if last.status_code:
                cause += f" ({last.status_code})"
            return "error", f"{what}: {cause} after {len(record.attempts)} attempt(s): " \
                            f"{last.message or ''}".strip()
        return "error", f"{what}: {record.error or 'call not made'}"

    def _user_turns(self, cell: Cell, visible: list[Message], call: Any
                    ) -> Iterator[tuple[str, int, Any]]:
        """Yields (text, turn index, pending simulated-user call or None)."""
        for index, turn in enumerate(cell.scenario.turns):
            if turn.user is not None:
                yield turn.user, index, None
                continue
            assert turn.simulated_user is not None
            spec = turn.simulated_user
            model = self.simulated_user_models.get(spec.model or "", cell.model)
            for _ in range(spec.max_turns):
                prompt = [Message(role="system", content=SIMULATED_USER_PROMPT.format(
                    persona=spec.persona, goal=spec.goal))]
                # The simulator sees the conversation from the user's side: roles swap.
                for message in visible:
                    role = "assistant" if message.role == "user" else "user"
                    prompt.append(Message(role=role, content=message.content))
                if len(prompt) == 1:
                    prompt.append(Message(role="user", content="(Start the conversation.)"))
                yield "", index, call(prompt, "simulated_user", index, model)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).parent, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("xstress", "litellm", "hydra-core", "pydantic"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "unknown"
    return versions


class _Progress:
    """A rich progress bar on a terminal; silent elsewhere (the summary line still prints)."""

    def __init__(self, enabled: bool, total: int, simulated: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None
        self.simulated = simulated
        self.total = total

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            label = "sweep (SIMULATED models)" if self.simulated else "sweep"
            self._progress = Progress(
                TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("sweep", total=self.total, stats="")
        return self

    def update(self, counts: Counter[str], spent: float) -> None:
        if self._progress is not None:
            stats = (f"ok {counts['ok']}  error {counts['error']}  blocked {counts['blocked']}"
                     f"  ${spent:.4f}")
            self._progress.update(self._task, completed=sum(counts.values()), stats=stats)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)


async def run_sweep(config: RunConfig, run_dir: Path, *, announce: Any = None) -> SweepResult:
    """Run (or resume) the sweep of ``config`` into ``run_dir``.

    Args:
        config: the validated run configuration.
        run_dir: the run directory (created if missing; resumed if it holds records).
        announce: a callable taking one line of text for the user (default: log.info).

    Returns:
        The sweep's result (counts, cost, how it stopped).
    """
    say = announce or log.info
    settings = config.run
    check_keys([*config.models, *config.simulated_user_models], config.provider)
    cells = enumerate_cells(config.models, config.scaffolds, config.prompts,
                            replicates=settings.replicates, shard=settings.shard,
                            num_shards=settings.num_shards)
    layout = RunDir(run_dir)
    store = TranscriptStore(layout, shard=settings.shard, num_shards=settings.num_shards)
    suffix = shard_suffix(settings.shard, settings.num_shards)
    cache = ResponseCache(layout, suffix=suffix)
    replay_cache = None
    if config.provider.mode == "replay":
        source = RunDir(Path(config.replay.from_ or ""))
        replay_cache = ResponseCache(source, writable=False)
    manifest_path = layout.manifest(settings.shard, settings.num_shards)
    run_id = run_dir.name
    previous = read_manifests(layout)
    started_at = next((m.started_at for m in previous if m.started_at), now_iso())

    todo = [cell for cell in cells if not store.done(cell.cell_id)]
    result = SweepResult(run_dir=run_dir, total_cells=len(cells), skipped=len(cells) - len(todo))
    for cell in cells:
        if store.done(cell.cell_id):
            result.counts[store.status_by_cell[cell.cell_id]] += 1
    model_versions: dict[str, set[str]] = {}

    def write_manifest(finished: bool) -> None:
        spent_before = sum(store.cost_by_cell.get(c.cell_id, 0.0) for c in cells)
        write_json_atomic(manifest_path, {
            "schema": "xstress.manifest/1",
            "run_id": run_id,
            "simulated": config.simulated,
            "simulated_models": sorted(m.name for m in config.models if m.simulated),
            "config": config.to_manifest(),
            "hashes": config.hashes(),
            "versions": _versions(),
            "git_commit": _git_commit(),
            "shard": settings.shard,
            "num_shards": settings.num_shards,
            "cells": len(cells),
            "counts": {k: result.counts.get(k, 0) for k in ("ok", "error", "blocked")},
            "not_started": result.not_started,
            "stopped_by": result.stopped_by,
            "cost_usd": round(spent_before, 6),
            "calls_made_this_invocation": result.calls_made,
            "model_versions": {k: sorted(v) for k, v in model_versions.items()},
            "started_at": started_at,
            "finished_at": now_iso() if finished else None,
        })

    write_manifest(finished=False)
    for model in config.models:
        if model.limits.tpm is not None:
            say(f"warning: configs/models/{model.name}.yaml: limits.tpm is not enforced yet; "
                f"use limits.rpm and limits.max_concurrency to stay under the provider's limits")
    if result.skipped:
        say(f"resuming {run_dir}: {result.skipped} of {len(cells)} cells already done")

    stop = asyncio.Event()
    # This shard's cells only: with sharding, each shard gets its own budget.
    spent = sum(store.cost_by_cell.get(cell.cell_id, 0.0) for cell in cells)
    in_flight_estimate = 0.0
    cost_estimate_cache: dict[str, float] = {}

    def estimated_cost(cell: Cell) -> float:
        key = f"{cell.model.name}/{cell.scaffold.name}"
        if key not in cost_estimate_cache:
            cost_estimate_cache[key] = estimate_cell(cell).cost_usd or 0.0
        return cost_estimate_cache[key]

    def on_auth_failure(model: ModelSpec, cause: str) -> None:
        result.auth_failures[model.name] = cause
        say(f"authentication failed for model {model.name}; no more calls to it this run: "
            f"{cause}")

    client = ProviderClient(config.provider, settings, cache=cache, replay=replay_cache,
                            replay_strict=config.replay.strict, on_auth_failure=on_auth_failure)
    sim_user_models = {model.name: model for model in config.simulated_user_models}
    runner = CellRunner(client, run_id, sim_user_models)
    queue_iter = iter(todo)
    progress = _Progress(settings.progress, len(cells), config.simulated)

    async def worker() -> None:
        nonlocal spent, in_flight_estimate
        while not stop.is_set():
            try:
                cell = next(queue_iter)
            except StopIteration:
                return
            auth = client.auth_failure(cell.model)
            if auth is not None:
                record = await runner.run_failed(cell, f"not run: {auth}")
            else:
                estimate = estimated_cost(cell)
                if (settings.max_cost_usd is not None
                        and spent + in_flight_estimate + estimate > settings.max_cost_usd):
                    result.not_started += 1 + sum(1 for _ in queue_iter)
                    result.stopped_by = result.stopped_by or "budget"
                    stop.set()
                    return
                in_flight_estimate += estimate
                try:
                    record = await runner.run(cell)
                finally:
                    in_flight_estimate -= estimate
            spent += record.cost_usd or 0.0
            store.append(record)
            result.counts[record.status] += 1
            if record.status == "error" and record.error:
                result.error_causes[_cause_key(record.error)] += 1
            for call in record.calls:
                if call.model_reported:
                    model_versions.setdefault(record.model, set()).add(call.model_reported)
            progress.update(result.counts, spent)

    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[None]] = []

    def interrupt() -> None:
        if result.stopped_by != "interrupt":
            result.stopped_by = "interrupt"
            stop.set()
            for task in tasks:
                task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, interrupt)
        loop.add_signal_handler(signal.SIGTERM, interrupt)
    try:
        with progress:
            progress.update(result.counts, spent)
            tasks = [asyncio.create_task(worker())
                     for _ in range(min(settings.concurrency, max(1, len(todo))))]
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
        if result.stopped_by == "interrupt":
            result.not_started = len(cells) - sum(result.counts.values())
        result.calls_made = client.calls_made
        result.spent_usd = spent
        close_errors: list[OutputError] = []
        for closable in (store, cache, replay_cache):
            try:
                if closable is not None:
                    closable.close()
            except OutputError as exc:  # every file gets closed before the first is reported
                close_errors.append(exc)
        write_manifest(finished=True)
        if close_errors:
            raise close_errors[0]
    return result


def _cause_key(error: str) -> str:
    """Group error messages by their leading cause for the summary line."""
    head = error.split(":", 2)
    return ":".join(head[:2]).strip()[:120]

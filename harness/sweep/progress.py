"""The sweep's progress bar: a rich bar on a terminal, nothing elsewhere.

Owns how progress looks (cells done of all, counts by status, money spent); the summary line
after the sweep is the CLI's. It does not count anything itself: the runner hands it counts.
In a worker process it draws nothing and hands the counts to a sink instead (the parent's one
bar sums every worker's), at most every ``SINK_INTERVAL_S`` and once at the end.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["SINK_INTERVAL_S", "SweepProgress"]

SINK_INTERVAL_S = 0.1
"""Least time between two reports to a sink (a worker's counts sent to its parent)."""


class SweepProgress:
    """A rich progress bar on a terminal; silent elsewhere (the summary line still prints)."""

    def __init__(self, enabled: bool, total: int, simulated: bool, *,
                 sink: Callable[[Counter[str], float], None] | None = None) -> None:
        self.enabled = enabled and sys.stderr.isatty() and sink is None
        self.sink = sink
        self._sent_at = 0.0
        self._last: tuple[Counter[str], float] | None = None
        self._progress: Any = None
        self._task: Any = None
        self.simulated = simulated
        self.total = total

    def __enter__(self) -> SweepProgress:
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
        """Show ``counts`` (cells by status) and ``spent`` (USD)."""
        if self.sink is not None:
            self._last = (counts, spent)
            now = time.monotonic()
            if now - self._sent_at >= SINK_INTERVAL_S:
                self._sent_at = now
                self.sink(counts, spent)
                self._last = None
        if self._progress is not None:
            stats = (f"ok {counts['ok']}  error {counts['error']}  blocked {counts['blocked']}"
                     f"  ${spent:.4f}")
            self._progress.update(self._task, completed=sum(counts.values()), stats=stats)

    def __exit__(self, *exc: object) -> None:
        if self.sink is not None and self._last is not None:
            self.sink(*self._last)
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

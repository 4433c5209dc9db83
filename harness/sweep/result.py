"""What a sweep did, and the exit code that means (the CLI's contract).

Owns ``SweepResult``: cells by status, cells not started, why the sweep stopped, calls and money
spent, error causes, authentication failures and replies cut off at the length limit. The
runner fills it in; the manifest and the CLI's summary read it. It runs nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["SweepResult", "cause_key"]


@dataclass
class SweepResult:
    """What a sweep did; ``exit_code`` follows the CLI contract."""

    run_dir: Path
    total_cells: int
    skipped: int
    counts: Counter[str] = field(default_factory=Counter)
    not_started: int = 0
    stopped_by: Literal["budget", "interrupt"] | None = None
    """Why the sweep stopped early, if it did."""
    calls_made: int = 0
    spent_usd: float = 0.0
    error_causes: Counter[str] = field(default_factory=Counter)
    auth_failures: dict[str, str] = field(default_factory=dict)
    truncated_replies: int = 0
    """Replies shown to the user that the provider cut off at ``max_tokens`` (this shard's
    cells, earlier invocations included)."""
    truncated_cells: int = 0
    """Cells with at least one such reply."""

    @property
    def exit_code(self) -> int:
        """130 interrupted, 1 a cell ended ``error``, 3 cells not started, else 0."""
        if self.stopped_by == "interrupt":
            return 130
        if self.counts.get("error"):
            return 1
        if self.not_started:
            return 3
        return 0


def cause_key(error: str) -> str:
    """Group error messages by their leading cause for the summary line."""
    # The cell, turn and request a message names make every line unique; the cause is the rest.
    error = _FIX.sub("", _SPECIFIC.sub("", error))
    head = error.split(":", 2)
    return ":".join(head[:2]).strip()[:120]


_SPECIFIC = re.compile(r" for cell \S+( turn \d+)?| \((?:reply|pass|simulated_user)[^)]*\)")
_FIX = re.compile(r" \(fix: .*$")

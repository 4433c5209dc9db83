"""The simulated judge: codes simulated models' replies, offline, through the judge's real path.

SIMULATED. Not written yet: no model config uses it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["judge_reply"]


def judge_reply(messages: list[dict[str, Any]]) -> str:
    """The simulated judge's reply to a judge prompt."""
    del messages
    raise ValueError("the simulated judge is not available yet")

"""The simulated user: plays the user of a scenario's ``simulated_user`` turns, offline.

SIMULATED. A stand-in for an LLM playing the user, so reactive-user scenarios run with no
network and replay exactly. This module owns what the simulated user says; which model plays
the user, and what it is shown, is the sweep's (``harness.sweep``).
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["user_reply"]


def user_reply(messages: list[dict[str, Any]], rng: random.Random) -> str:
    """The simulated user's next message (``messages`` from the user's side)."""
    del messages
    options = ["ok but what should i actually do", "can you just give me the short version",
               "that's a lot. which one matters most?", "ok, and is that safe for me?"]
    return rng.choice(options)

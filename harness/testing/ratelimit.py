"""The local test server's rate limit: at most N requests per model in any sliding window.

This module owns ``RateLimit`` (how many requests a window admits, how long the window is, and
which ``Retry-After`` header a refused request carries) and ``SlidingWindow``, the log of
admitted arrivals that decides each request. It models a provider that enforces its limit over
a short window (8 requests in any 1 s, say): a client that sends a minute's budget in a burst
meets 429s, one that spreads its requests evenly does not. Refused requests do not count
against the window. The handlers (``chat_handlers``) ask the window; the wire format of the
429 is ``chat_wire``'s.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

from harness.testing.faults import Fault

__all__ = ["RateLimit", "SlidingWindow"]

RetryAfterHeader = Literal["none", "seconds", "ms"]


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` admitted per model in any ``window_s`` seconds."""

    requests: int
    """Requests admitted per window."""
    window_s: float = 1.0
    """Length of the sliding window, in seconds."""
    retry_after: RetryAfterHeader = "ms"
    """What a 429 says about when to come back: nothing, ``Retry-After`` in seconds (rounded
    up to the millisecond), or ``retry-after-ms``."""

    def __post_init__(self) -> None:
        if self.requests < 1 or not self.window_s > 0:
            raise ValueError(f"rate limit needs requests >= 1 and window_s > 0, got {self}")
        if self.retry_after not in ("none", "seconds", "ms"):
            raise ValueError(f"retry_after must be none, seconds or ms, got {self.retry_after!r}")

    def fault(self, wait_s: float) -> Fault:
        """The 429 answered to a refused request, telling it to come back in ``wait_s``."""
        if self.retry_after == "seconds":
            return Fault.status(429, retry_after=math.ceil(wait_s * 1000) / 1000)
        if self.retry_after == "ms":
            return Fault.status(429, retry_after_ms=math.ceil(wait_s * 1000))
        return Fault.status(429)


class SlidingWindow:
    """The admitted arrival times of one model, newest last."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._admitted: deque[float] = deque()

    def admit(self, now: float) -> float | None:
        """Admit an arrival at ``now`` (None), or refuse it: seconds until a slot frees."""
        window = self.limit.window_s
        while self._admitted and self._admitted[0] <= now - window:
            self._admitted.popleft()
        if len(self._admitted) < self.limit.requests:
            self._admitted.append(now)
            return None
        return self._admitted[0] + window - now

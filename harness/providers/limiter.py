"""The per-model rate limiter: paces attempt starts evenly, and adapts to the provider's 429s.

This module owns ``RateLimiter``, which decides *when* an attempt may start. With a known limit
(``limits.rpm``) starts are spaced evenly at a little under that rate (no bursts: a provider
that enforces its limit over a window shorter than a minute answers a burst with 429s), and a
lone 429 at that rate is taken for jitter. With no limit (``limits.rpm: null``) starts are not
paced until the provider answers 429; from then on, and whenever a configured limit proves
wrong, the rate adapts: every start waits out the ``Retry-After`` the provider sent; the first
429 halves the rate of the burst that met it and the rate then doubles until the next 429,
which takes what the provider accepted in the last second as the limit; each later 429 lowers
the rate by a tenth, which recovers to just under the rate that met it and then probes upward,
more slowly after each 429. It does not limit concurrency (``attempts.ModelGate`` holds the
semaphore), retry (``attempts.AttemptLoop``) or decide what a 429 is (``retrying``).

The clock and the sleep are injected so tests run the limiter on a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["RateLimiter"]

KNOWN_MARGIN = 0.97
"""A known limit is paced at this share of it: starts reach the provider with a few
milliseconds of jitter, and a window-based limit counts arrivals, not our schedule."""
FIRST_DECREASE = 0.5
"""From unpaced to paced: half the start rate that met the first 429 ..."""
DOUBLING_S = 0.5
"""... then double the rate every this many seconds until the next 429: a burst of a few starts
says little about the limit, and a rate guessed too low must not stay low."""
DECREASE = 0.9
"""Multiplicative decrease on a 429 once paced."""
HOLD = 0.98
"""Recover to this share of the rate that met the last 429 ..."""
RECOVER_S = 2.0
"""... over this many seconds, then probe upward."""
PROBE_PER_S = 0.01
"""Probe above the hold rate by this share of the last 429's rate per second; halved at each
429 once paced (the limit is near: find it without knocking on it)."""
MIN_PROBE_SCALE = 1 / 16
QUIET_S = 10.0
"""No 429 for this long after the recovery: the limit rose, or the last estimate was low (a
probe slowed by earlier 429s would take minutes to find out); the rate doubles again ..."""
REDOUBLING_S = 2.0
"""... every this many seconds, until the next 429."""
TRUST_S = 5.0
"""A 429 at the configured rate is taken for arrival jitter (a pause for its ``Retry-After``,
the rate unchanged) unless ``DISTRUST_AFTER`` others came in the last this many seconds: then
the configured limit is wrong and the rate adapts below it."""
DISTRUST_AFTER = 2
SLACK = 0.5
"""A start that is late (a sleep woke late, the loop was busy) keeps the schedule for up to
this share of an interval, so lateness does not lower the rate; more is idleness, not debt."""
MIN_RATE_PER_S = 1 / 60
PAUSE_CAP_S = 60.0
FIRST_ALONE_S = 2.0
"""The others wait for the first attempt's answer at most this long (a slow model's first
reply must not hold the whole model back)."""
OBSERVE_S = 1.0
"""Unpaced, the rate that met a 429 is the number of starts in this many seconds up to the
refused attempt's start ..."""
MIN_BURST = 4
"""... if there were at least this many: fewer say nothing about a rate (the provider's budget
was spent elsewhere, or the 429 was a blip), so the limiter only pauses for ``Retry-After``."""


class RateLimiter:
    """When each attempt of one model may start (see the module docstring).

    Create it inside the running event loop (its lock binds to the loop). Call ``acquire()``
    before each attempt and ``answered()`` when it ends, whatever the outcome; report every 429
    with ``rate_limited(started, retry_after_s)``.

    The first attempt goes alone: the others start once it is answered (or ``FIRST_ALONE_S``
    later). It pays litellm's lazy set-up (up to a second, during which requests started on
    schedule would queue inside litellm and leave together, a burst) and meets a wrong key or
    endpoint before a burst does.
    """

    def __init__(self, rpm: int | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """A limiter for ``rpm`` requests per minute (None: unknown, unpaced until a 429).

        Args:
            rpm: the model's ``limits.rpm``.
            clock: seconds, monotonic (injected in tests).
            sleep: waits that many seconds (injected in tests).
        """
        self.configured = rpm / 60.0 if rpm else None
        """The configured rate in requests per second, or None when unknown."""
        self.clock = clock
        self.sleep = sleep
        self.rate_limited_count = 0
        """429s reported so far."""
        self.decreases = 0
        """How many times the rate was lowered (one per burst of 429s, not one per 429)."""
        self.forgiven = 0
        """429s at the configured rate taken for jitter (the rate was kept)."""
        self._lock = asyncio.Lock()
        self._first_sent = False
        self._first_answered = asyncio.Event()
        self._next_start = float("-inf")
        self._paused_until = float("-inf")
        self._ceiling: float | None = None
        self._floor = 0.0
        self._decreased_at: float | None = None
        self._probe_scale = 1.0
        self._doubling = False
        self._at_cap: deque[float] = deque()
        self._recent: deque[float] = deque()
        self._refused: deque[float] = deque()

    def rate(self, now: float | None = None) -> float | None:
        """Requests per second allowed at ``now``; None while unpaced (unknown, no 429 yet)."""
        cap = None if self.configured is None else KNOWN_MARGIN * self.configured
        if self._decreased_at is None or self._ceiling is None:
            return cap
        elapsed = max(0.0, (self.clock() if now is None else now) - self._decreased_at)
        if self._doubling:
            rate = self._floor * 2 ** min(elapsed / DOUBLING_S, 30.0)
            return rate if cap is None else min(rate, cap)
        hold = max(self._floor, HOLD * self._ceiling)
        rate = self._floor + (hold - self._floor) * min(1.0, elapsed / RECOVER_S)
        probing = min(elapsed, RECOVER_S + QUIET_S) - RECOVER_S
        rate += PROBE_PER_S * self._probe_scale * self._ceiling * max(0.0, probing)
        quiet = elapsed - RECOVER_S - QUIET_S
        if quiet > 0:
            rate *= 2 ** min(quiet / REDOUBLING_S, 30.0)
        return rate if cap is None else min(rate, cap)

    @property
    def paused_until(self) -> float:
        """Clock time before which no attempt starts (the last ``Retry-After``)."""
        return self._paused_until

    async def acquire(self, *, retry: bool = False) -> float:
        """Wait until an attempt may start; returns its start time on ``clock``.

        Waiters are served in arrival order and only the first of them sleeps, so a thousand
        waiting attempts cost nothing while they wait.

        Args:
            retry: the attempt retries a failed one. Its wait was the retry policy's (which
                honours the ``Retry-After`` it was given, within ``run.max_retry_wait_s``), so
                it keeps the pace but not the pause that other calls' 429s set.
        """
        if self._first_sent and not self._first_answered.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_answered.wait(), FIRST_ALONE_S)
        self._first_sent = True
        async with self._lock:
            while True:
                now = self.clock()
                rate = self.rate(now)
                paused_until = float("-inf") if retry else self._paused_until
                ready = max(paused_until, self._next_start if rate else now)
                if now >= ready:
                    break
                # Asleep with the lock held: a 429 meanwhile moves the pause or the rate, and the
                # loop reads them again on waking.
                await self.sleep(ready - now)
            if rate:
                interval = 1.0 / rate
                # After a pause, the first start is the one the server made room for and the
                # next keeps the spacing: catching up on the schedule would be a burst.
                scheduled = max(self._next_start, paused_until)
                late = now - scheduled
                base = now if late >= interval else max(scheduled, now - SLACK * interval)
                self._next_start = base + interval
            self._recent.append(now)
            while self._recent and self._recent[0] <= now - 5 * OBSERVE_S:
                self._recent.popleft()
            return now

    def _accepted(self, started: float) -> int:
        """Starts in the ``OBSERVE_S`` up to ``started`` that were not refused (so far)."""
        window = (started - OBSERVE_S, started)
        starts = sum(1 for t in self._recent if window[0] < t <= window[1])
        refused = sum(1 for t in self._refused if window[0] < t <= window[1])
        return max(0, starts - refused)

    def answered(self) -> None:
        """An attempt ended (answered, failed or timed out): the first one opens the gate."""
        self._first_answered.set()

    def rate_limited(self, started: float, retry_after_s: float | None) -> None:
        """The attempt started at ``started`` was answered 429.

        Every 429 pauses new starts for its ``Retry-After``; the rate drops once per burst: a
        429 to an attempt that started before the last decrease was already answered by it.
        """
        now = self.clock()
        self.rate_limited_count += 1
        self._refused.append(started)
        while self._refused and self._refused[0] <= now - 5 * OBSERVE_S:
            self._refused.popleft()
        if retry_after_s:
            self._paused_until = max(self._paused_until, now + min(retry_after_s, PAUSE_CAP_S))
        if self._decreased_at is not None and started < self._decreased_at:
            return
        current = self.rate(now)
        if current is None:
            # The starts of the burst the refused attempt was part of.
            burst = sum(1 for t in self._recent if started - OBSERVE_S < t <= started)
            if burst < MIN_BURST:
                return
            observed = burst / OBSERVE_S
            current, factor = max(observed, MIN_RATE_PER_S), FIRST_DECREASE
        else:
            factor = DECREASE
        cap = None if self.configured is None else KNOWN_MARGIN * self.configured
        if cap is not None and current >= cap * 0.999:
            while self._at_cap and self._at_cap[0] <= now - TRUST_S:
                self._at_cap.popleft()
            trusted = len(self._at_cap) < DISTRUST_AFTER
            self._at_cap.append(now)
            if trusted:
                self.forgiven += 1
                return
        ceiling = self._ceiling
        if ceiling is not None:
            self._probe_scale = max(MIN_PROBE_SCALE, self._probe_scale / 2)
        quiet = self._decreased_at is not None and now - self._decreased_at > RECOVER_S + QUIET_S
        if (self._doubling or quiet) and factor == DECREASE:
            # Doubling overshoots by up to twice the limit: what the provider accepted in the
            # last moments is the better guide (a windowed limit admits about its limit), and
            # the rate doubling started from was accepted.
            accepted = self._accepted(started) / OBSERVE_S
            current = min(current, max(accepted, self._floor))
        self._floor = max(MIN_RATE_PER_S, factor * current)
        # Unpaced, the rate that met the 429 was a burst's, no guide to the limit: the halved
        # rate is where to resume, doubling from there.
        self._doubling = factor == FIRST_DECREASE
        if self._doubling:
            self._ceiling = self._floor / HOLD
        elif ceiling is None or current >= ceiling or quiet:
            self._ceiling = current
        else:
            # Below the last ceiling, a 429 is as likely arrival jitter as a lower limit: the
            # estimate falls halfway (a limit that really fell is reached in a few 429s, while
            # jitter alone would ratchet the rate down 429 by 429).
            self._ceiling = (current + ceiling) / 2
        self._decreased_at = now
        self.decreases += 1

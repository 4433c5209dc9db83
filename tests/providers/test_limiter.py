"""Tests for harness/providers/limiter.py: the rate limiter, on a fake clock.

The properties a provider's limit needs: no more starts in any window than the limit allows
(also after idleness), a known limit paced evenly just under it, unpaced until the first 429
when the limit is unknown, one decrease per burst of 429s, every start held back for the
server's Retry-After, recovery and a slow probe upward afterwards, and a configured limit that
keeps meeting 429s treated as wrong.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from harness.providers.limiter import (
    DECREASE,
    DISTRUST_AFTER,
    DOUBLING_S,
    FIRST_DECREASE,
    HOLD,
    KNOWN_MARGIN,
    MIN_BURST,
    QUIET_S,
    RECOVER_S,
    REDOUBLING_S,
    TRUST_S,
    RateLimiter,
)


class FakeClock:
    """Monotonic seconds that move only when the limiter sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def limiter(rpm: int | None) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(rpm, clock=clock, sleep=clock.sleep), clock


async def starts(rate_limiter: RateLimiter, count: int) -> list[float]:
    """``count`` attempts asking at once; their start times in order (answered at once)."""

    async def one() -> float:
        started = await rate_limiter.acquire()
        rate_limiter.answered()
        return started

    return sorted(await asyncio.gather(*(one() for _ in range(count))))


def gaps_of(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def most_in_window(times: list[float], window: float) -> int:
    """The most starts in any half-open window [t, t + window)."""
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def test_a_known_limit_is_paced_evenly_just_under_it() -> None:
    async def scenario() -> None:
        rate_limiter, _ = limiter(600)  # 10 per second
        times = await starts(rate_limiter, 60)
        gaps = gaps_of(times)
        interval = 1 / (KNOWN_MARGIN * 10)
        assert min(gaps) == pytest.approx(interval) == max(gaps)
        assert most_in_window(times, 1.0) <= 10
        assert most_in_window(times, 6.0) <= 60 * KNOWN_MARGIN + 1

    asyncio.run(scenario())


def test_no_burst_after_idleness() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(600)
        before = await starts(rate_limiter, 10)
        clock.now += 30.0  # idle: the unused budget is not saved up for a burst
        resumed = clock.now
        after = await starts(rate_limiter, 20)
        assert after[0] == resumed
        assert most_in_window(before + after, 1.0) <= 10
        gaps = gaps_of(after)
        assert min(gaps) == pytest.approx(1 / (KNOWN_MARGIN * 10))

    asyncio.run(scenario())


def test_an_unknown_limit_is_unpaced_until_a_429_then_halves_the_rate_met() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(None)
        times = await starts(rate_limiter, 20)
        assert times == [0.0] * 20 and rate_limiter.rate() is None
        clock.now = 0.5
        rate_limiter.rate_limited(started=0.0, retry_after_s=None)
        # 20 starts in the second before the 429, halved: 10 per second from here, doubling
        # every DOUBLING_S until the next 429.
        assert rate_limiter.rate() == pytest.approx(FIRST_DECREASE * 20)
        later = await starts(rate_limiter, 5)
        assert later[1] - later[0] == pytest.approx(0.1)
        expected = [1 / rate_limiter.rate(t) for t in later[1:-1]]  # type: ignore[operator]
        gaps = gaps_of(later[1:])
        assert gaps == pytest.approx(expected) and gaps[-1] < gaps[0] < 0.1
        assert rate_limiter.rate(clock.now + DOUBLING_S) == pytest.approx(
            2 * rate_limiter.rate(clock.now))  # type: ignore[operator]


def test_a_429_after_a_few_starts_only_pauses() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(None)
        times = await starts(rate_limiter, MIN_BURST - 1)
        clock.now = 0.2
        rate_limiter.rate_limited(times[0], retry_after_s=0.3)
        assert rate_limiter.rate() is None and rate_limiter.decreases == 0
        assert (await starts(rate_limiter, 3)) == [pytest.approx(0.5)] * 3

    asyncio.run(scenario())


def test_one_decrease_per_burst_of_429s() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(None)
        times = await starts(rate_limiter, 8)
        clock.now = 0.2
        for started in times:  # every attempt of the burst answered 429
            rate_limiter.rate_limited(started, retry_after_s=None)
        assert rate_limiter.decreases == 1 and rate_limiter.rate_limited_count == 8
        assert rate_limiter.rate() == pytest.approx(FIRST_DECREASE * 8)
        # An attempt started after the decrease that meets a 429 lowers the rate again.
        started = await rate_limiter.acquire()
        met = rate_limiter.rate()
        rate_limiter.rate_limited(started, retry_after_s=None)
        assert rate_limiter.decreases == 2
        assert rate_limiter.rate() == pytest.approx(DECREASE * met)  # type: ignore[operator]

    asyncio.run(scenario())


def test_retry_after_holds_every_start_back() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(None)
        await starts(rate_limiter, 6)
        clock.now = 1.0
        rate_limiter.rate_limited(started=0.0, retry_after_s=2.5)
        assert rate_limiter.paused_until == pytest.approx(3.5)
        # A retry waited as its own policy said; it keeps the pace, not the pause.
        assert await rate_limiter.acquire(retry=True) == pytest.approx(1.0)
        times = await starts(rate_limiter, 4)
        assert times[0] == pytest.approx(3.5)
        # after the pause, the spacing of the lowered rate (no catching up on the schedule)
        interval = 1 / rate_limiter.rate(3.5)  # type: ignore[operator]
        assert times[1] - times[0] == pytest.approx(interval)

    asyncio.run(scenario())


def test_the_rate_recovers_then_probes_upward_slowly() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(None)
        await starts(rate_limiter, 10)
        clock.now = 0.5
        rate_limiter.rate_limited(0.0, None)  # unpaced: 10 starts -> 5 per second
        started = await rate_limiter.acquire()
        clock.now = started + 0.1
        met = rate_limiter.rate(clock.now)
        assert met is not None
        rate_limiter.rate_limited(started, None)  # paced: the 429 met this rate
        decreased_at = clock.now
        floor = rate_limiter.rate(decreased_at)
        assert floor == pytest.approx(DECREASE * met)
        recovered = rate_limiter.rate(decreased_at + RECOVER_S)
        assert recovered is not None and floor < recovered < met
        probed = rate_limiter.rate(decreased_at + RECOVER_S + QUIET_S)
        assert probed is not None and recovered < probed < 1.2 * met
        # Quiet for QUIET_S after the recovery: the estimate may be low, the rate doubles again.
        doubled = rate_limiter.rate(decreased_at + RECOVER_S + QUIET_S + REDOUBLING_S)
        assert doubled == pytest.approx(2 * probed)

    asyncio.run(scenario())


def test_a_configured_limit_is_forgiven_a_few_429s_but_not_a_stream_of_them() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(600)
        cap = KNOWN_MARGIN * 10
        for forgiven in range(1, DISTRUST_AFTER + 1):
            started = await rate_limiter.acquire()
            rate_limiter.answered()
            clock.now = started + 0.1
            rate_limiter.rate_limited(started, 0.02)  # at the cap: jitter, probably
            assert rate_limiter.rate() == pytest.approx(cap)
            assert rate_limiter.forgiven == forgiven
            assert rate_limiter.paused_until == pytest.approx(clock.now + 0.02)
            clock.now += 1.0
        started = await rate_limiter.acquire()
        clock.now = started + 0.1
        assert clock.now < TRUST_S
        rate_limiter.rate_limited(started, None)  # one more, soon: the configured limit is wrong
        assert rate_limiter.decreases == 1
        assert rate_limiter.rate(clock.now) == pytest.approx(DECREASE * cap)
        assert rate_limiter.rate(clock.now + RECOVER_S) == pytest.approx(HOLD * cap)
        assert rate_limiter.rate(clock.now + 600) == pytest.approx(cap)  # never above it


def test_the_first_attempt_goes_alone() -> None:
    async def scenario() -> None:
        rate_limiter, _ = limiter(None)
        await rate_limiter.acquire()
        second = asyncio.create_task(rate_limiter.acquire())
        for _ in range(5):
            await asyncio.sleep(0)
        assert not second.done()
        rate_limiter.answered()
        assert await second == 0.0

    asyncio.run(scenario())


def test_a_429_while_doubling_takes_the_accepted_rate_as_the_limit() -> None:
    async def scenario() -> None:
        rate_limiter, clock = limiter(None)
        burst = await starts(rate_limiter, 8)
        clock.now = 0.1
        for started in burst:
            rate_limiter.rate_limited(started, None)  # 8 starts -> 4 per second, doubling
        paced = await starts(rate_limiter, 24)  # the fake clock moves as the limiter sleeps
        refused = paced[-3:]
        clock.now = paced[-1] + 0.1  # the 429s arrive a moment later
        met = rate_limiter.rate()
        for started in refused:
            rate_limiter.rate_limited(started, None)
        window = [t for t in burst + paced if refused[0] - 1.0 < t <= refused[0]]
        refused_in_window = [t for t in burst if t > refused[0] - 1.0] + refused[:1]
        accepted = len(window) - len(refused_in_window)
        assert rate_limiter.decreases == 2
        assert met is not None and 4 < accepted < met  # doubling overshot what was accepted
        assert rate_limiter.rate() == pytest.approx(DECREASE * accepted)

    asyncio.run(scenario())

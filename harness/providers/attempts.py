"""Every HTTP attempt of one logical call: the model's gate, each attempt's record, retries.

Owns the per-model gate (``limits.max_concurrency`` outside, the rate limiter inside, which
hears of every 429, and the authentication failure that closes the gate), the ``Attempt`` record
of every try, and the retry loop (tenacity), which waits as ``retrying.backoff_seconds`` says
within ``run.max_attempts`` and ``run.max_retry_wait_s``. It does not decide what is sent (the
provider does), when an attempt may start (``limiter``), whether an error is worth retrying
(``retrying.classify``) or what the call's record says (``client.py``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.providers.limiter import RateLimiter
from harness.providers.retrying import Classified, backoff_seconds, classify
from harness.rundir import Attempt
from harness.schema import ModelSpec, RunSettings

__all__ = ["AttemptLoop", "AttemptsFailed", "ModelGate", "now_iso"]

BACKOFF_CAP_S = 60.0


def now_iso() -> str:
    """The current UTC time as ISO 8601 with microseconds (every record's time stamp)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class ModelGate:
    """Per-model concurrency (outside) and rate limit (inside), created in the running loop."""

    semaphore: asyncio.Semaphore
    limiter: RateLimiter
    auth_failure: str | None = None
    """The cause, once the model answered 401/403: no more attempts go through."""

    @classmethod
    def for_model(cls, model: ModelSpec) -> ModelGate:
        """A gate with the model's ``limits`` (``rpm: null``: adaptive from the first 429)."""
        return cls(asyncio.Semaphore(model.limits.max_concurrency),
                   RateLimiter(model.limits.rpm))


class AttemptsFailed(Exception):
    """Every attempt of a call failed, or the gate was closed (the attempts say which)."""


class _Retryable(AttemptsFailed):
    """The last attempt failed in a way worth retrying."""


class _Final(AttemptsFailed):
    """The last attempt failed for good (fatal or blocked), or the gate is closed."""


@dataclass(slots=True)
class AttemptLoop:
    """The attempts of one logical call, each recorded in ``attempts``.

    ``call()`` returns the first successful response, or raises ``AttemptsFailed`` once the
    attempts, the wait budget or the model's gate say stop; ``failures`` then says why.
    """

    model: ModelSpec
    gate: ModelGate
    send: Callable[[], Awaitable[Any]]
    """One attempt: the provider's ``send`` with the call's arguments."""
    run: RunSettings
    rng: random.Random
    sleep: Callable[[float], Awaitable[None]]
    on_auth_failure: Callable[[ModelSpec, str], None] | None
    attempts: list[Attempt] = field(default_factory=list)
    failures: list[Classified] = field(default_factory=list)

    async def call(self) -> Any:
        """Attempt until a response, a final failure, or the retry budget is spent.

        Raises:
            AttemptsFailed: no response (see ``failures`` and ``gate.auth_failure``).
        """
        # Most calls succeed first time; tenacity (and its per-call setup) joins only after a
        # retryable failure.
        try:
            return await self._attempt()
        except _Retryable as first:
            return await self._retry(first)

    async def _attempt(self) -> Any:
        """One HTTP attempt; raises _Retryable or _Final after recording it."""
        gate = self.gate
        if gate.auth_failure is not None:
            raise _Final()
        started = now_iso()
        async with gate.semaphore:
            admitted = await gate.limiter.acquire(retry=bool(self.attempts))
            if gate.auth_failure is not None:
                # Checked again inside the gate (and after the limiter, where the first attempt
                # goes alone): calls queued behind the first 401/403 must not reach the model.
                gate.limiter.answered()
                raise _Final()
            t0 = time.perf_counter()
            try:
                response = await self.send()
            except Exception as exc:  # classified below; nothing escapes unrecorded
                failure = self._record_failure(exc, started, time.perf_counter() - t0)
                if failure.status_code == 429:
                    gate.limiter.rate_limited(admitted, failure.retry_after_s)
                raise (_Retryable() if failure.outcome == "retryable" else _Final()) from exc
            finally:
                gate.limiter.answered()
        self.attempts.append(Attempt(number=len(self.attempts) + 1, started_at=started,
                                     latency_s=round(time.perf_counter() - t0, 4), outcome="ok"))
        return response

    def _record_failure(self, exc: Exception, started: str, latency: float) -> Classified:
        failure = classify(exc)
        self.failures.append(failure)
        self.attempts.append(Attempt(
            number=len(self.attempts) + 1, started_at=started, latency_s=round(latency, 4),
            outcome=failure.outcome, error_class=failure.error_class,
            status_code=failure.status_code, message=failure.message))
        if failure.auth_failure and self.gate.auth_failure is None:
            self.gate.auth_failure = (f"{failure.error_class} ({failure.status_code}) "
                                      f"from {self.model.name}: {failure.message}")
            if self.on_auth_failure is not None:
                self.on_auth_failure(self.model, self.gate.auth_failure)
        return failure

    async def _retry(self, first: _Retryable) -> Any:
        """tenacity's retry loop; its first attempt replays the failure already seen."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        waited = 0.0
        pending: list[BaseException] = [first]
        run = self.run

        def wait_for(state: Any) -> float:
            nonlocal waited
            seconds = backoff_seconds(state.attempt_number, base_s=run.retry_base_s,
                                      cap_s=BACKOFF_CAP_S, rng=self.rng,
                                      retry_after_s=self.failures[-1].retry_after_s)
            seconds = min(seconds, max(0.0, run.max_retry_wait_s - waited))
            waited += seconds
            self.attempts[-1] = self.attempts[-1].model_copy(update={"wait_s": round(seconds, 4)})
            return seconds

        def should_retry(exc: BaseException) -> bool:
            return (isinstance(exc, _Retryable) and waited < run.max_retry_wait_s
                    and self.gate.auth_failure is None)

        retrying = AsyncRetrying(retry=retry_if_exception(should_retry),
                                 stop=stop_after_attempt(run.max_attempts),
                                 wait=wait_for, sleep=self.sleep, reraise=True)
        async for state in retrying:
            with state:
                if pending:
                    raise pending.pop()
                return await self._attempt()
        raise AssertionError("unreachable: tenacity returns or re-raises")  # pragma: no cover

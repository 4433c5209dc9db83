"""Tests for harness/testing/ratelimit.py and the server's new faults, through litellm.

The sliding window by hand-computed arrivals; the server's 429 and its ``Retry-After`` headers
as litellm sees them; a reset and a cut-off body as failed attempts the server counted.
"""

from __future__ import annotations

import asyncio
import os
from types import ModuleType
from typing import Any

import pytest

from harness.testing.ratelimit import SlidingWindow
from harness.testing.testserver import Fault, RateLimit, TestServer


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm as module

    module.suppress_debug_info = True
    return module


def test_the_window_admits_n_per_window_and_says_when_a_slot_frees() -> None:
    window = SlidingWindow(RateLimit(3, window_s=1.0))
    assert [window.admit(t) for t in (0.0, 0.2, 0.5)] == [None, None, None]
    assert window.admit(0.9) == pytest.approx(0.1)  # the arrival at 0.0 leaves at 1.0
    assert window.admit(1.0) is None  # (0.0, 1.0]: the first arrival has left
    assert window.admit(1.1) == pytest.approx(0.1)  # 0.2, 0.5, 1.0 in (0.1, 1.1]
    assert window.admit(1.25) is None


@pytest.mark.parametrize(("header", "seconds", "milliseconds"), [
    ("ms", None, 250), ("seconds", 0.25, None), ("none", None, None)])
def test_a_429_carries_the_retry_after_asked_for(header: str, seconds: float | None,
                                                 milliseconds: int | None) -> None:
    fault = RateLimit(1, retry_after=header).fault(0.2495)  # type: ignore[arg-type]
    # rounded up: coming back a little late is safe, a little early meets another 429
    assert (fault.status_code, fault.retry_after_s, fault.retry_after_ms) == (
        429, seconds, milliseconds)


def call(litellm: ModuleType, server: TestServer, model: str, text: str) -> Any:
    return litellm.acompletion(model=f"openai/{model}", api_base=server.url, api_key="sk-fake",
                               messages=[{"role": "user", "content": text}], max_retries=0)


def test_the_server_refuses_past_its_limit_per_model(litellm: ModuleType) -> None:
    async def scenario() -> list[Any]:
        async with TestServer(rate_limit=RateLimit(2, window_s=30.0)) as server:
            results = await asyncio.gather(
                *(call(litellm, server, "a", f"q{i}") for i in range(3)),
                call(litellm, server, "b", "other model"), return_exceptions=True)
            assert server.count(status=429) == 1 and server.count(model="b", status=200) == 1
            refused = [r for r in server.requests if r.status == 429]
            assert [r.fault for r in refused] == ["rate_limit"]
            return results

    results = asyncio.run(scenario())
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and type(errors[0]).__name__ == "RateLimitError"
    wait_ms = float(errors[0].response.headers["retry-after-ms"])  # type: ignore[attr-defined]
    assert 0 < wait_ms <= 30_000


@pytest.mark.parametrize("fault", [Fault.reset(), Fault.truncated()])
def test_resets_and_cut_off_bodies_fail_the_attempt(litellm: ModuleType, fault: Fault) -> None:
    async def scenario() -> tuple[BaseException | None, Any, int]:
        async with TestServer(faults={"m": [fault]}) as server:
            failed: BaseException | None = None
            try:
                await call(litellm, server, "m", "hello")
            except Exception as exc:  # what class it becomes is the classifier's business
                failed = exc
            second = await call(litellm, server, "m", "hello")
            return failed, second, server.count(model="m")

    failed, second, requests = asyncio.run(scenario())
    assert failed is not None
    assert second.choices[0].message.content.startswith("Echo reply")
    assert requests == 2
    assert Fault.from_json(fault.kind) == fault == Fault.from_json(fault.to_json())

"""The provider client (harness/providers/client.py) and ``make_client``: each mode's calls go
through its provider; cache, replay, retries, attempts, costs and the auth stop, over real HTTP
to the local test server (litellm is never patched)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness.errors import ReplayMissError
from harness.providers import ProviderClient, make_client
from harness.providers.live import LiveProvider
from harness.providers.mock import MockProvider
from harness.providers.replay import ReplayProvider
from harness.rundir import CallRecord, Message, ResponseCache, RunDir
from harness.schema import ModelSpec, ProviderSettings, RunSettings
from harness.testing.testserver import Fault, TestServer

FAKE_KEY = "sk-test-FAKE-client-0123456789"
QUESTION = [Message(role="user", content="is this safe?")]
FAST = RunSettings(timeout_s=2.0, retry_base_s=0.01, progress=False)
T = TypeVar("T")


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XSTRESS_TEST_KEY", FAKE_KEY)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ResponseCache]:
    opened = ResponseCache(RunDir(tmp_path / "run"))
    yield opened
    opened.close()


def model(name: str) -> ModelSpec:
    return ModelSpec(name=name, litellm_model=f"openai/{name}", family="openai",
                     api_key_env="XSTRESS_TEST_KEY")


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make())


async def ask(client: ProviderClient, target: ModelSpec, turn: int = 0) -> CallRecord:
    return await client.complete(target, QUESTION, purpose="reply", turn=turn, replicate=0,
                                 label="cell-1")


def test_live_call_goes_through_litellm_and_is_cached(cache: ResponseCache) -> None:
    with TestServer(require_key=FAKE_KEY) as server:
        async def go() -> tuple[ProviderClient, CallRecord, CallRecord]:
            client = make_client(ProviderSettings(mode="live", api_base=server.url), FAST,
                                 cache=cache)
            return client, await ask(client, model("alpha")), await ask(client, model("alpha"))

        client, first, again = run(go)
        assert server.count() == 1
    assert isinstance(client.served_by, LiveProvider)
    assert first.status == "ok" and first.model_reported == "alpha-2026-01-01"
    assert [a.outcome for a in first.attempts] == ["ok"] and not first.from_cache
    assert first.cost_usd is None  # not in litellm's price map
    assert again.from_cache and again.reply == first.reply and again.attempts == []
    assert cache.get(first.request_fingerprint) is not None
    assert client.calls_made == 1


def test_live_cost_comes_from_litellms_price_map(cache: ResponseCache) -> None:
    with TestServer() as server:
        async def go() -> CallRecord:
            client = make_client(ProviderSettings(api_base=server.url), FAST, cache=cache)
            return await ask(client, model("gpt-4o"))

        record = run(go)
    assert record.cost_usd is not None and record.cost_usd > 0


def test_mock_call_is_scripted_and_free(cache: ResponseCache) -> None:
    settings = ProviderSettings(mode="mock", mock_reply="canned: {last_user}",
                                mock_errors=["RateLimitError"])

    async def go() -> tuple[ProviderClient, CallRecord]:
        client = make_client(settings, FAST, cache=cache)
        return client, await ask(client, model("gpt-4o"))

    client, record = run(go)
    assert isinstance(client.served_by, MockProvider)
    assert [(a.outcome, a.error_class) for a in record.attempts] == [
        ("retryable", "RateLimitError"), ("ok", None)]
    assert record.reply == "canned: is this safe?" and record.cost_usd == 0.0


def record_alpha(tmp_path: Path, url: str) -> CallRecord:
    async def go() -> CallRecord:
        recording = ResponseCache(RunDir(tmp_path / "recorded"))
        try:
            client = make_client(ProviderSettings(api_base=url), FAST, cache=recording)
            return await ask(client, model("alpha"))
        finally:
            recording.close()

    return run(go)


def replay_client(tmp_path: Path, cache: ResponseCache, *, strict: bool,
                  api_base: str | None = None) -> ProviderClient:
    recordings = ResponseCache(RunDir(tmp_path / "recorded"), writable=False)
    return make_client(ProviderSettings(mode="replay", api_base=api_base), FAST, cache=cache,
                       replay=recordings, replay_strict=strict)


def test_replay_serves_recordings_and_a_strict_miss_names_cell_and_turn(
        tmp_path: Path, cache: ResponseCache) -> None:
    with TestServer() as server:
        original = record_alpha(tmp_path, server.url)

        async def go() -> tuple[ProviderClient, CallRecord]:
            client = replay_client(tmp_path, cache, strict=True)
            replayed = await ask(client, model("alpha"))
            with pytest.raises(ReplayMissError, match="no recording for cell cell-1 turn 3 "):
                await ask(client, model("beta"), turn=3)
            return client, replayed

        client, replayed = run(go)
        assert server.count() == 1
    assert isinstance(client.served_by, ReplayProvider)
    assert replayed.from_cache and replayed.reply == original.reply
    assert replayed.request_fingerprint == original.request_fingerprint


def test_non_strict_replay_miss_is_called_live(tmp_path: Path, cache: ResponseCache) -> None:
    with TestServer(require_key=FAKE_KEY) as server:
        record_alpha(tmp_path, server.url)

        async def go() -> CallRecord:
            client = replay_client(tmp_path, cache, strict=False, api_base=server.url)
            return await ask(client, model("beta"))

        missed = run(go)
        assert server.count(model="beta") == 1
    assert missed.status == "ok" and not missed.from_cache


def test_make_client_applies_run_timeout_and_max_attempts(cache: ResponseCache) -> None:
    settings = RunSettings(timeout_s=0.3, max_attempts=3, retry_base_s=0.01, progress=False)
    with TestServer(always={"slow": Fault.timeout(hang_s=5)}) as server:
        async def go() -> CallRecord:
            client = make_client(ProviderSettings(api_base=server.url), settings, cache=cache)
            return await ask(client, model("slow"))

        record = run(go)
        assert server.count(model="slow") == 3
    assert record.status == "error"
    assert len(record.attempts) == settings.max_attempts
    assert {a.error_class for a in record.attempts} == {"Timeout"}
    # Each attempt was cut by the timeout, not by the server's 5 s answer.
    assert all(0.2 <= a.latency_s < 5.0 for a in record.attempts)


def test_make_client_stops_rate_limited_calls_at_max_attempts(cache: ResponseCache) -> None:
    settings = RunSettings(max_attempts=2, retry_base_s=0.01, progress=False)
    with TestServer(always={"busy": Fault.status(429)}) as server:
        async def go() -> CallRecord:
            client = make_client(ProviderSettings(api_base=server.url), settings, cache=cache)
            return await ask(client, model("busy"))

        record = run(go)
        assert server.count(model="busy") == 2
    assert [(a.outcome, a.status_code) for a in record.attempts] == [("retryable", 429)] * 2
    assert record.status == "error" and "Rate limit" in (record.error or "")


def test_waits_honour_retry_after_within_the_wait_budget(cache: ResponseCache) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    settings = RunSettings(max_retry_wait_s=3.0, retry_base_s=0.01, progress=False)
    with TestServer(faults={"flaky": [Fault.status(429, retry_after=7)]}) as server:
        async def go() -> CallRecord:
            client = ProviderClient(ProviderSettings(api_base=server.url), settings,
                                    cache=cache, sleep=no_wait)
            return await ask(client, model("flaky"))

        record = run(go)
    assert waits == [3.0]  # Retry-After 7 s, capped by what is left of max_retry_wait_s
    assert [a.wait_s for a in record.attempts] == [3.0, None]
    assert record.status == "ok"


def test_auth_failure_stops_further_calls_to_that_model(cache: ResponseCache) -> None:
    failures: list[tuple[str, str]] = []
    with TestServer(always={"locked": Fault.status(401)}) as server:
        async def go() -> tuple[ProviderClient, CallRecord, CallRecord]:
            client = make_client(ProviderSettings(api_base=server.url), FAST, cache=cache,
                                 on_auth_failure=lambda m, cause: failures.append((m.name, cause)))
            first = await ask(client, model("locked"))
            second = await ask(client, model("locked"), turn=1)
            return client, first, second

        client, first, second = run(go)
        assert server.count(model="locked") == 1
    assert [a.status_code for a in first.attempts] == [401]
    assert second.status == "error" and second.attempts == []
    assert len(failures) == 1 and failures[0][0] == "locked"
    assert second.error == failures[0][1] == client.auth_failure(model("locked"))
    assert "AuthenticationError (401) from locked" in failures[0][1]

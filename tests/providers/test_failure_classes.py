"""How failures are told apart: a reset connection is recorded as a connection error (not as
the HTTP 500 litellm reports), and a 401 stops a model inside its concurrency gate (at most
``max_concurrency`` requests ever reach it)."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.providers import make_client
from harness.rundir import Message, ResponseCache, RunDir
from harness.schema import ModelSpec, ProviderSettings, RunSettings
from harness.testing.testserver import Fault, TestServer
from tests.sweep.small_runs import FAKE_KEY, KEY_ENV, config, model, sweep


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


@pytest.fixture
def resetting_url() -> Iterator[str]:
    """A server that reads each request and answers with a TCP reset (RST), never HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    listener.close()


def test_a_connection_reset_is_recorded_as_such(resetting_url: str, tmp_path: Path) -> None:
    run = RunSettings(timeout_s=2.0, retry_base_s=0.01, max_attempts=2, progress=False)
    target = ModelSpec(name="alpha", litellm_model="openai/alpha", family="openai",
                       api_key_env=KEY_ENV)

    async def go() -> object:
        cache = ResponseCache(RunDir(tmp_path / "run"))
        client = make_client(ProviderSettings(mode="live", api_base=resetting_url), run,
                             cache=cache)
        try:
            return await client.complete(target, [Message(role="user", content="hi")],
                                         purpose="reply", turn=0, replicate=0, label="c")
        finally:
            cache.close()

    record = asyncio.run(go())
    attempts = record.attempts  # type: ignore[attr-defined]
    assert record.status == "error"  # type: ignore[attr-defined]
    assert len(attempts) == 2  # retried: a reset is transient
    for attempt in attempts:
        assert attempt.error_class == "ConnectionResetError"
        assert attempt.status_code is None
        assert attempt.outcome == "retryable"
        assert "reset" in (attempt.message or "").lower()


def test_after_a_401_at_most_max_concurrency_requests_reach_the_model(tmp_path: Path) -> None:
    with TestServer(always={"alpha": Fault.status(401)}, latency_s=0.05) as server:
        result = sweep(config(server.url, [model("alpha", max_concurrency=2)], tmp_path, n=12,
                              concurrency=16), tmp_path / "r")
        assert server.count("alpha") <= 2
    assert result.counts["error"] == 24
    assert "alpha" in result.auth_failures

"""Tests for harness/testing/testserver.py: the local OpenAI-compatible server, through litellm.

Every call goes litellm -> HTTP -> 127.0.0.1, so these tests also pin down which litellm
exception class each injected fault becomes (the retry classifier relies on that mapping).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest

from harness.testing.testserver import (
    Fault,
    ReplyScript,
    TestServer,
    estimate_tokens,
    messages_fingerprint,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-fake"


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm as module

    module.suppress_debug_info = True
    return module


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def call(
    litellm: ModuleType,
    server: TestServer,
    model: str,
    messages: list[dict[str, str]],
    **kwargs: Any,
) -> Any:
    return await litellm.acompletion(
        model=f"openai/{model}",
        api_base=server.url,
        api_key=kwargs.pop("api_key", KEY),
        messages=messages,
        max_retries=0,
        **kwargs,
    )


async def failure(
    litellm: ModuleType,
    server: TestServer,
    model: str,
    messages: list[dict[str, str]],
    **kwargs: Any,
) -> Any:
    with pytest.raises(Exception) as info:
        await call(litellm, server, model, messages, **kwargs)
    return info.value


def test_estimate_tokens_is_words_over_three_quarters_rounded() -> None:
    # 1 word -> 1.33 -> 1; 2 -> 2.67 -> 3; 3 -> 4; 6 -> 8; 0 -> 0
    assert [estimate_tokens(" ".join(["w"] * n)) for n in (0, 1, 2, 3, 6)] == [0, 1, 3, 4, 8]


def test_normal_reply_usage_and_reported_model(litellm: ModuleType) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    fingerprint = messages_fingerprint(messages)

    async def body() -> None:
        async with TestServer() as server:
            first = await call(litellm, server, "echo", messages)
            second = await call(litellm, server, "echo", messages)
            assert [r.fingerprint for r in server.requests] == [fingerprint, fingerprint]
        expected = f"Echo reply #1 to: What is the capital of France? [{fingerprint[:8]}]"
        assert first.choices[0].message.content == expected
        assert first.choices[0].message.role == "assistant"
        assert first.choices[0].finish_reason == "stop"
        # prompt: 3 words -> 4 tokens, 6 words -> 8; reply: 11 words -> 15
        assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (12, 15)
        assert first.usage.total_tokens == 27
        assert first.model == "echo-2026-01-01"
        assert first.system_fingerprint == "fp_" + hashlib.sha256(b"echo").hexdigest()[:10]
        assert second.choices[0].message.content == expected.replace("#1", "#2")

    asyncio.run(body())


def test_429_then_500_then_success_per_distinct_request(litellm: ModuleType) -> None:
    script = [Fault.status(429, retry_after=0.05, retry_after_ms=50), Fault.status(500)]
    first, other = user("first question"), user("another question")

    async def body() -> None:
        async with TestServer(faults={"flaky": script}) as server:
            limited = await failure(litellm, server, "flaky", first)
            assert type(limited) is litellm.RateLimitError
            assert limited.response.headers["retry-after"] == "0.05"
            assert limited.response.headers["retry-after-ms"] == "50"
            crashed = await failure(litellm, server, "flaky", first)
            assert type(crashed) is litellm.InternalServerError
            assert crashed.status_code == 500
            reply = await call(litellm, server, "flaky", first)
            assert reply.choices[0].message.content.startswith("Echo reply #1 to: first question")
            # A different request starts its own script; an unscripted model never fails.
            assert type(await failure(litellm, server, "flaky", other)) is litellm.RateLimitError
            await call(litellm, server, "steady", first)

            assert [(r.model, r.attempt, r.status, r.fault) for r in server.requests] == [
                ("flaky", 1, 429, "429"),
                ("flaky", 2, 500, "500"),
                ("flaky", 3, 200, None),
                ("flaky", 1, 429, "429"),
                ("steady", 1, 200, None),
            ]
            assert server.count() == 5
            assert server.count(model="flaky") == 4
            assert server.count(model="flaky", status=429) == 2
            assert server.count(status=200) == 2
            assert server.attempts_by_fingerprint(model="flaky") == {
                messages_fingerprint(first): 3,
                messages_fingerprint(other): 1,
            }
            assert server.attempts_by_fingerprint()[messages_fingerprint(first)] == 4
            assert all(r.has_auth for r in server.requests)
            server.reset()
            assert server.count() == 0
            again = await failure(litellm, server, "flaky", first)
            assert type(again) is litellm.RateLimitError

    asyncio.run(body())


# (fault, exact litellm class name, status_code on the exception)
ERROR_MAPPING = [
    (Fault.status(400), "BadRequestError", 400),
    (Fault.content_policy(), "ContentPolicyViolationError", 400),
    (Fault.status(401), "AuthenticationError", 401),
    (Fault.status(403), "APIError", 403),  # not PermissionDeniedError for openai/*
    (Fault.status(404), "NotFoundError", 404),
    (Fault.status(502), "BadGatewayError", 502),
    (Fault.status(503), "ServiceUnavailableError", 503),
    (Fault.status(504), "Timeout", 504),
]


def test_error_statuses_map_to_litellm_exceptions(litellm: ModuleType) -> None:
    faults = {f"m{i}": [fault] for i, (fault, _, _) in enumerate(ERROR_MAPPING)}

    async def body() -> list[tuple[str, int | None]]:
        async with TestServer(faults=faults) as server:
            return [
                (type(exc).__name__, getattr(exc, "status_code", None))
                for exc in [await failure(litellm, server, m, user("hi")) for m in faults]
            ]

    observed = asyncio.run(body())
    assert observed == [(name, status) for _, name, status in ERROR_MAPPING]
    assert issubclass(litellm.ContentPolicyViolationError, litellm.BadRequestError)


def test_always_fails_every_attempt(litellm: ModuleType) -> None:
    async def body() -> None:
        async with TestServer(always={"locked": Fault.status(401)}) as server:
            for _ in range(3):
                exc = await failure(litellm, server, "locked", user("let me in"))
                assert type(exc) is litellm.AuthenticationError
            assert server.count(model="locked", status=401) == 3
            assert [r.attempt for r in server.requests] == [1, 2, 3]

    asyncio.run(body())


def test_timeout_fault_raises_litellm_timeout(litellm: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "served.jsonl"
    hang = {"slow": [Fault.timeout()], "short": [Fault.timeout(hang_s=0.05)]}

    async def body() -> None:
        async with TestServer(faults=hang, hang_s=30.0, log_path=log) as server:
            exc = await failure(litellm, server, "slow", user("hello"), timeout=0.5)
            assert type(exc) is litellm.Timeout
            reply = await call(litellm, server, "slow", user("hello"), timeout=5)
            assert reply.choices[0].message.content.startswith("Echo reply #1")
            # A hang shorter than the client's patience ends in 504, still a Timeout.
            exc = await failure(litellm, server, "short", user("hello"))
            assert type(exc) is litellm.Timeout
            assert [(r.status, r.fault) for r in server.requests] == [
                (504, "timeout"),
                (200, None),
                (504, "timeout"),
            ]
        # The 30 s hang was cut by stop() and never completed, so it is not logged.
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        assert [(line["model"], line["status"]) for line in lines] == [
            ("slow", 200),
            ("short", 504),
        ]

    asyncio.run(body())


def test_require_key_and_key_never_recorded(litellm: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "served.jsonl"
    secret = "sk-right-key-123"

    def body() -> None:
        with TestServer(require_key=secret, log_path=log) as server:
            exc = asyncio.run(failure(litellm, server, "echo", user("hi")))
            assert type(exc) is litellm.AuthenticationError
            asyncio.run(call(litellm, server, "echo", user("hi"), api_key=secret))
            assert [(r.status, r.fault, r.has_auth) for r in server.requests] == [
                (401, "auth", True),
                (200, None, True),
            ]
            assert secret not in repr(server.requests) + json.dumps(server.stats())
        assert log.read_text().count("\n") == 2
        assert secret not in log.read_text()

    body()  # the threaded server serves while this thread runs its own event loops


def test_canned_and_computed_replies(litellm: ModuleType) -> None:
    replies: dict[str, ReplyScript] = {
        "judge": ["not json {", '{"score": 3}'],
        "counter": lambda messages: f"{len(messages)} messages",
    }

    async def body() -> None:
        async with TestServer(replies=replies) as server:
            texts = [
                (await call(litellm, server, "judge", user(f"item {i}"))).choices[0].message.content
                for i in range(3)
            ]
            assert texts == ["not json {", '{"score": 3}', "not json {"]
            two = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
            reply = await call(litellm, server, "counter", two)
            assert reply.choices[0].message.content == "2 messages"
            assert reply.usage.completion_tokens == 3  # 2 words

    asyncio.run(body())


def test_models_listing_and_stats_over_http() -> None:
    faults = {"flaky": [Fault.status(429)]}
    with TestServer(faults=faults, always={"locked": Fault.status(403)}) as s:
        with urllib.request.urlopen(f"{s.url}/models", timeout=5) as response:
            listing = json.load(response)
        with urllib.request.urlopen(s.url.removesuffix("/v1") + "/_stats", timeout=5) as response:
            stats = json.load(response)
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == ["echo", "flaky", "locked"]
    assert stats == {
        "total": 0,
        "by_model": {},
        "by_status": {},
        "by_model_status": {},
        "peak_in_flight": 0,
    }


def test_64_concurrent_requests_are_held_open_together() -> None:
    async def body() -> None:
        async with TestServer(latency_s=0.5) as server, aiohttp.ClientSession() as session:

            async def one(i: int) -> int:
                payload = {"model": "echo", "messages": user(f"request {i}")}
                async with session.post(f"{server.url}/chat/completions", json=payload) as r:
                    await r.json()
                    return r.status

            statuses = await asyncio.gather(*(one(i) for i in range(64)))
            assert statuses == [200] * 64
            assert server.peak_in_flight == 64
            assert len(server.attempts_by_fingerprint()) == 64

    asyncio.run(body())


def test_fault_json_round_trip_and_rejects_bad_input() -> None:
    faults = [
        Fault.status(429, retry_after=1.5, retry_after_ms=1500),
        Fault.timeout(2.0),
        Fault.content_policy(),
        Fault.status(500),
    ]
    assert [Fault.from_json(json.loads(json.dumps(f.to_json()))) for f in faults] == faults
    assert Fault.from_json(503) == Fault.status(503)
    assert Fault.from_json("timeout") == Fault.timeout()
    for bad in (200, "slow", {"kind": "status", "status_code": 429, "retry": 1}):
        with pytest.raises(ValueError):
            Fault.from_json(bad)


def post(url: str, model: str, text: str) -> int:
    data = json.dumps({"model": model, "messages": user(text)}).encode()
    request = urllib.request.Request(
        f"{url}/chat/completions", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_subprocess_mode_with_log_and_stats(tmp_path: Path) -> None:
    log = tmp_path / "served.jsonl"
    command = [
        sys.executable,
        "-m",
        "harness.testing.testserver",
        "--port",
        "0",
        "--latency",
        "0",
        "--faults",
        json.dumps({"flaky": [{"kind": "status", "status_code": 429, "retry_after_s": 2}]}),
        "--always",
        '{"locked": 403}',
        "--log",
        str(log),
    ]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
            models = ["flaky", "openai/flaky", "locked"]  # a provider prefix is ignored
            statuses = [post(url, model, "q") for model in models]
            assert statuses == [429, 200, 403]
            stats_url = url.removesuffix("/v1") + "/_stats"
            with urllib.request.urlopen(stats_url, timeout=5) as response:
                stats = json.load(response)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
    assert stats["total"] == 3
    assert stats["by_model"] == {"flaky": 2, "locked": 1}
    assert stats["by_model_status"] == {"flaky": {"429": 1, "200": 1}, "locked": {"403": 1}}
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["model"], line["attempt"], line["status"]) for line in lines] == [
        ("flaky", 1, 429),
        ("flaky", 2, 200),
        ("locked", 1, 403),
    ]
    assert all(line["has_auth"] is False and line["client_connected"] for line in lines)


def test_subprocess_rejects_a_bad_fault_script() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.testing.testserver", "--faults", '{"flaky": ["slow"]}'],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert "invalid fault script" in result.stderr


def test_malformed_and_streaming_requests_get_400() -> None:
    with TestServer() as server:
        for payload in (b"not json", b'{"model": "echo"}',
                        b'{"model": "echo", "messages": [], "stream": true}'):
            request = urllib.request.Request(f"{server.url}/chat/completions", data=payload)
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(request, timeout=5)
            assert info.value.code == 400
            assert json.load(info.value)["error"]["type"] == "invalid_request_error"
        assert [(r.status, r.fault) for r in server.requests] == [(400, "malformed")] * 3


def test_server_modules_do_not_import_litellm() -> None:
    # The server stands in for a provider; loading litellm would also make every test that
    # starts it pay for litellm's import.
    check = ("import sys, harness.testing.testserver; "
             "assert 'litellm' not in sys.modules, sorted(m for m in sys.modules if 'lite' in m)")
    result = subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr

"""A local OpenAI-compatible server as a provider (harness/providers/live.py, client.py,
protocol.py): no key needed, ``response_format`` sent over the wire and part of the cache key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.providers import make_client
from harness.providers.protocol import request_fingerprint
from harness.rundir import CallRecord, Message, ResponseCache, RunDir
from harness.schema import ModelSpec, ProviderSettings, RunSettings
from harness.score.judge_schema import judge_response_format
from harness.testing.testserver import TestServer

MESSAGES = [Message(role="user", content="Code this.")]
SCHEMA = judge_response_format(["D3"])
REPLY = ('{"scores": {"D3": {"level": 1, "reason": null, "rationale": "r", '
         '"evidence": "Code this."}}}')


def local_model(url: str) -> ModelSpec:
    return ModelSpec(name="local", litellm_model="openai/local", family="local", api_base=url,
                     api_key_env=None)


def test_no_key_needed_and_response_format_reaches_the_server_and_the_cache_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cache = ResponseCache(RunDir(tmp_path / "run"))
    with TestServer(replies={"local": [REPLY]}, response_format="enforce") as server:
        model = local_model(server.url)

        async def go() -> list[CallRecord]:
            client = make_client(ProviderSettings(), RunSettings(progress=False), cache=cache)
            plain = await client.complete(model, MESSAGES, purpose="judge", turn=0,
                                          replicate=0, label="x")
            constrained = [await client.complete(model, MESSAGES, purpose="judge", turn=0,
                                                 replicate=0, label="x",
                                                 response_format=SCHEMA) for _ in range(2)]
            return [plain, *constrained]

        plain, constrained, again = asyncio.run(go())
        requests = server.requests
    cache.close()
    assert [r.status for r in (plain, constrained, again)] == ["ok"] * 3
    # Two requests reached the server (the repeat came from the cache), each with a key header.
    assert [(r.response_schema, r.has_auth) for r in requests] == [(False, True), (True, True)]
    assert again.from_cache and again.reply == constrained.reply == REPLY
    assert plain.request_fingerprint == request_fingerprint(model, MESSAGES, 0)
    assert constrained.request_fingerprint == request_fingerprint(model, MESSAGES, 0, SCHEMA)
    assert constrained.request_fingerprint != plain.request_fingerprint

"""The provider client: every model call of a run goes through here, and through litellm.

What this module owns: one logical call from request to ``CallRecord`` (the request
fingerprint, the write-ahead cache lookup and write, usage and cost), per-model gates, and
``make_client``, the one way to configure a client from ``provider.*`` and ``run.*`` (the sweep
and the judges share it, so both get the same timeout, attempts, waits and per-model limits).
How a request is served is the provider's, chosen by ``provider.mode`` from the registry
(``registry.py``); attempts and retries are ``attempts.py``'s. It never writes transcripts and
never decides what to send (the sweep and the judges do).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from harness.providers.attempts import AttemptLoop, AttemptsFailed, ModelGate, now_iso
from harness.providers.protocol import Provider, ProviderOptions, Request, request_fingerprint
from harness.providers.redact import redact_known
from harness.providers.registry import provider_for
from harness.rundir import CacheEntry, CallRecord, Message, ResponseCache, Usage
from harness.schema import ModelSpec, ProviderSettings, RunSettings

__all__ = ["ProviderClient", "make_client"]


@dataclass
class ProviderClient:
    """Calls models with retries, rate limits and the write-ahead cache.

    The provider named by ``provider.mode`` serves each call. Create the client inside the
    running event loop (its semaphores bind to that loop); ``make_client`` is the usual way.
    """

    provider: ProviderSettings
    run: RunSettings
    cache: ResponseCache | None = None
    replay: ResponseCache | None = None
    replay_strict: bool = True
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    on_auth_failure: Callable[[ModelSpec, str], None] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    _gates: dict[str, ModelGate] = field(default_factory=dict)
    calls_made: int = 0
    served_by: Provider = field(init=False)
    """The provider ``provider.mode`` names (from the registry)."""

    def __post_init__(self) -> None:
        self.served_by = provider_for(ProviderOptions(
            self.provider, self.run, recordings=self.replay, strict=self.replay_strict))

    def _gate(self, model: ModelSpec) -> ModelGate:
        gate = self._gates.get(model.name)
        if gate is None:
            gate = self._gates[model.name] = ModelGate.for_model(model)
        return gate

    def auth_failure(self, model: ModelSpec) -> str | None:
        """The cause, once a model answered 401/403; its calls stop."""
        gate = self._gates.get(model.name)
        return gate.auth_failure if gate else None

    async def complete(self, model: ModelSpec, messages: list[Message], *, purpose: str,
                       turn: int, replicate: int, label: str,
                       response_format: dict[str, Any] | None = None) -> CallRecord:
        """One logical call: a recording, the cache, or the provider with retries.

        Never raises for a provider failure; the record's status says what happened.
        ``response_format`` (litellm's: a JSON schema the provider constrains the reply to) is
        sent as given and is part of the request fingerprint.

        Raises:
            ReplayMissError: replay mode, strict, and no recording (the runner records it).
        """
        fingerprint = request_fingerprint(model, messages, replicate, response_format)
        request = Request(model, messages, fingerprint, purpose, turn, label, response_format)
        recorded = self.served_by.recording(request)
        if recorded is not None:
            return _from_entry(recorded, request)
        if self.cache is not None:
            cached = self.cache.get(request.fingerprint)
            if cached is not None:
                return _from_entry(cached, request)
        return await self._call(request)

    async def _call(self, request: Request) -> CallRecord:
        kwargs = self.served_by.call_kwargs(request)
        loop = AttemptLoop(request.model, self._gate(request.model),
                           lambda: self.served_by.send(kwargs), self.run, self.rng, self.sleep,
                           self.on_auth_failure)
        try:
            response = await loop.call()
        except AttemptsFailed:
            return await self._failed(request, loop)
        self.calls_made += 1
        return await self._success(request, loop, response)

    async def _failed(self, request: Request, loop: AttemptLoop) -> CallRecord:
        failures, attempts = loop.failures, loop.attempts
        if failures and failures[-1].outcome == "blocked":
            entry = CacheEntry(request_fingerprint=request.fingerprint, status="blocked",
                               reply=failures[-1].message, recorded_at=now_iso(),
                               latency_s=attempts[-1].latency_s if attempts else 0.0)
            if self.cache is not None:
                await self.cache.put(entry)
            return CallRecord(purpose=request.purpose, turn=request.turn,
                              request_fingerprint=request.fingerprint, request=request.messages,
                              status="blocked", reply=None, attempts=attempts,
                              latency_s=sum(a.latency_s for a in attempts))
        auth_failure = loop.gate.auth_failure
        if auth_failure is not None and (not failures or not failures[-1].auth_failure):
            # Another call's 401/403 closed the gate: say so, not this call's last error.
            message = auth_failure
        else:
            message = failures[-1].message if failures else "call not made"
        return CallRecord(purpose=request.purpose, turn=request.turn,
                          request_fingerprint=request.fingerprint, request=request.messages,
                          status="error", reply=None, attempts=attempts,
                          latency_s=round(sum(a.latency_s for a in attempts), 4),
                          model_reported=None, cost_usd=None, error=message)

    async def _success(self, request: Request, loop: AttemptLoop, response: Any) -> CallRecord:
        attempts = loop.attempts
        choice = response.choices[0]
        # A reply is data to be coded: only the keys this process knows are removed (an
        # echoing proxy), never key-shaped examples the model wrote.
        reply = redact_known(getattr(choice.message, "content", None) or "")
        usage_obj = getattr(response, "usage", None)
        usage = Usage(
            prompt_tokens=int(getattr(usage_obj, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage_obj, "completion_tokens", 0) or 0),
            total_tokens=int(getattr(usage_obj, "total_tokens", 0) or 0),
        )
        cost = self.served_by.cost(request.model, response)
        entry = CacheEntry(
            request_fingerprint=request.fingerprint, status="ok", reply=reply,
            model_reported=getattr(response, "model", None),
            system_fingerprint=getattr(response, "system_fingerprint", None),
            finish_reason=_finish_reason(choice),
            usage=usage, cost_usd=cost, latency_s=attempts[-1].latency_s,
            recorded_at=now_iso(),
        )
        # Write-ahead: the reply is on disk before anyone uses it, so a crash after this line
        # never pays for it again.
        if self.cache is not None:
            await self.cache.put(entry)
        return CallRecord(
            purpose=request.purpose, turn=request.turn, request_fingerprint=request.fingerprint,
            request=request.messages, status="ok", reply=reply,
            model_reported=entry.model_reported, system_fingerprint=entry.system_fingerprint,
            finish_reason=entry.finish_reason, usage=usage, cost_usd=cost,
            latency_s=round(sum(a.latency_s for a in attempts), 4),
            attempts=attempts,
        )


def _finish_reason(choice: Any) -> str | None:
    """The choice's ``finish_reason`` as a string (``length``: cut off at ``max_tokens``)."""
    reason = getattr(choice, "finish_reason", None)
    return str(reason) if reason else None


def _from_entry(entry: CacheEntry, request: Request) -> CallRecord:
    """A call served from a recording or the cache: not paid for again, no attempts."""
    return CallRecord(
        purpose=request.purpose,
        turn=request.turn,
        request_fingerprint=entry.request_fingerprint,
        request=request.messages,
        status=entry.status,
        reply=entry.reply,
        model_reported=entry.model_reported,
        system_fingerprint=entry.system_fingerprint,
        finish_reason=entry.finish_reason,
        usage=entry.usage,
        cost_usd=entry.cost_usd,
        latency_s=entry.latency_s,
        from_cache=True,
    )


def make_client(provider: ProviderSettings, run: RunSettings, *, cache: ResponseCache | None,
                replay: ResponseCache | None = None, replay_strict: bool = True,
                on_auth_failure: Callable[[ModelSpec, str], None] | None = None
                ) -> ProviderClient:
    """The client every model call of a run uses (sweep cells and LLM judges alike).

    Call it inside the running event loop.

    Args:
        provider: ``provider.*``; its ``mode`` names the provider that serves the calls.
        run: ``run.*``: ``timeout_s`` per attempt, ``max_attempts``, ``max_retry_wait_s`` and
            ``retry_base_s`` apply to every call; per-model limits come with each model.
        cache: the write-ahead cache replies are written to before use (None: no cache).
        replay: a previous run's recordings (replay mode).
        replay_strict: replay: a missing recording is an error, never a live call.
        on_auth_failure: called once per model that answers 401/403 (its calls stop).

    Returns:
        The client.
    """
    return ProviderClient(provider, run, cache=cache, replay=replay,
                          replay_strict=replay_strict, on_auth_failure=on_auth_failure)

"""Providers: every model call goes through here, and through litellm.

Modes (``provider.mode``):

* ``live``: ``litellm.acompletion`` to the model's provider (or ``provider.api_base``).
  Simulated models (``xstress-sim/<persona>``) are a litellm custom provider and run in this
  mode with no network.
* ``mock``: every model is answered by a scripted litellm custom provider (canned reply,
  injected errors, latency), for tests and dry runs.
* ``replay``: every call is served from a previous run's recordings by request fingerprint;
  with ``replay.strict`` a missing recording is an error naming the cell and turn.

What this module owns: the request fingerprint, the write-ahead cache lookup, per-model
concurrency and rate limits, retries (tenacity; classification in ``retrying.py``), cost and
usage. It never writes transcripts (``store.py``) and never decides what to send (``runner.py``).
API keys are read from the environment at call time and passed to litellm only.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from harness.errors import MissingKeyError, ReplayMissError
from harness.providers.retrying import Classified, backoff_seconds, classify
from harness.rundir import Attempt, CacheEntry, CallRecord, Message, ResponseCache, Usage
from harness.schema import ModelSpec, ProviderSettings, RunSettings, content_hash

__all__ = [
    "MOCK_PREFIX",
    "ProviderClient",
    "check_keys",
    "load_litellm",
    "request_fingerprint",
]

log = logging.getLogger("xstress.providers")
MOCK_PREFIX = "xstress-mock"
_LITELLM: Any = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def load_litellm() -> Any:
    """Import litellm once, offline and quiet (cost map from the package, no banners)."""
    global _LITELLM
    if _LITELLM is not None:
        return _LITELLM
    # Before import: litellm otherwise fetches a cost map over the network and may swap it
    # mid-run; offline mode also stops tokenizer downloads. Costs stay reproducible.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.num_retries = 0
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.ERROR)
        logger.propagate = False
    # litellm builds a large object graph at import; freezing it keeps the collector off it
    # (measured: ~1 s less at exit and less CPU per call). No collect first: it costs ~0.2 s
    # and there is little garbage right after an import.
    gc.freeze()
    _LITELLM = litellm
    return litellm


def request_fingerprint(model: ModelSpec, messages: list[Message], replicate: int) -> str:
    """sha256 over (litellm model, the model's api_base, messages, sampling params, replicate).

    ``provider.api_base`` (a gateway or test server in front of the same model) is transport,
    not identity, and is left out so a recorded run replays without it.
    """
    return content_hash(
        {
            "model": model.litellm_model,
            "api_base": model.api_base,
            "messages": [m.model_dump(mode="json") for m in messages],
            "params": model.params.model_dump(mode="json"),
            "replicate": replicate,
        }
    )


def check_keys(models: list[ModelSpec], settings: ProviderSettings) -> None:
    """Fail before any call when a live model's key variable is unset."""
    if settings.mode != "live":
        return
    for model in models:
        if model.simulated or not model.api_key_env:
            continue
        if not os.environ.get(model.api_key_env):
            raise MissingKeyError(
                f"configs/models/{model.name}.yaml: api_key_env {model.api_key_env} is not set "
                f"in the environment",
                fix=f"export {model.api_key_env}=... or run preset=offline (simulated models)",
            )


class _MockHandlerState:
    """Settings of the scripted mock provider for the current run (one per process)."""

    settings: ClassVar[ProviderSettings] = ProviderSettings(mode="mock")
    attempts: ClassVar[dict[str, int]] = {}


def _register_mock_provider(settings: ProviderSettings) -> None:
    litellm = load_litellm()
    _MockHandlerState.settings = settings
    _MockHandlerState.attempts = {}
    if any(item.get("provider") == MOCK_PREFIX for item in litellm.custom_provider_map):
        return
    from litellm import ModelResponse
    from litellm.llms.custom_llm import CustomLLM

    class ScriptedMock(CustomLLM):
        async def acompletion(self, model: str, messages: list[dict[str, Any]], *args: Any,
                              **kwargs: Any) -> Any:
            state = _MockHandlerState
            key = content_hash([model, messages])
            attempt = state.attempts.get(key, 0)
            state.attempts[key] = attempt + 1
            if state.settings.mock_latency_s:
                await asyncio.sleep(state.settings.mock_latency_s)
            if attempt < len(state.settings.mock_errors):
                error_name = state.settings.mock_errors[attempt]
                error_class = getattr(litellm, error_name, None)
                if error_class is None:
                    raise ValueError(f"mock_errors: unknown litellm exception {error_name!r}")
                raise error_class(message=f"mock {error_name}", llm_provider=MOCK_PREFIX,
                                  model=model)
            last_user = next((m["content"] for m in reversed(messages)
                              if m["role"] == "user"), "")
            reply = state.settings.mock_reply.format(last_user=last_user[:200])
            return ModelResponse(
                model=f"{MOCK_PREFIX}/{model}",
                choices=[{"index": 0, "finish_reason": "stop",
                          "message": {"role": "assistant", "content": reply}}],
                usage={"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            )

        def completion(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("xstress calls providers asynchronously")

    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": MOCK_PREFIX, "custom_handler": ScriptedMock()},
    ]


@dataclass
class _ModelGate:
    """Per-model concurrency (outside) and rate limit (inside), created in the running loop."""

    semaphore: asyncio.Semaphore
    throttler: Any | None
    auth_failure: str | None = None


@dataclass
class ProviderClient:
    """Calls models through litellm with retries, rate limits and the write-ahead cache.

    Create it inside the running event loop (its semaphores bind to that loop).
    """

    provider: ProviderSettings
    run: RunSettings
    cache: ResponseCache | None = None
    replay: ResponseCache | None = None
    replay_strict: bool = True
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    on_auth_failure: Callable[[ModelSpec, str], None] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    _gates: dict[str, _ModelGate] = field(default_factory=dict)
    calls_made: int = 0

    def __post_init__(self) -> None:
        if self.provider.mode != "replay":
            litellm = load_litellm()
            from harness.providers.simulated import register_simulated_provider

            register_simulated_provider()
            if self.provider.mode == "mock":
                _register_mock_provider(self.provider)
            self._litellm = litellm

    def _gate(self, model: ModelSpec) -> _ModelGate:
        gate = self._gates.get(model.name)
        if gate is None:
            throttler = None
            if model.limits.rpm:
                from asyncio_throttle.throttler import Throttler

                throttler = Throttler(rate_limit=model.limits.rpm, period=60.0)
            gate = _ModelGate(asyncio.Semaphore(model.limits.max_concurrency), throttler)
            self._gates[model.name] = gate
        return gate

    def auth_failure(self, model: ModelSpec) -> str | None:
        """The cause, once a model answered 401/403; its calls stop."""
        gate = self._gates.get(model.name)
        return gate.auth_failure if gate else None

    def _call_kwargs(self, model: ModelSpec, messages: list[Message]) -> dict[str, Any]:
        litellm_model = model.litellm_model
        if self.provider.mode == "mock":
            litellm_model = f"{MOCK_PREFIX}/{model.name}"
        kwargs: dict[str, Any] = {
            "model": litellm_model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "timeout": self.run.timeout_s,
            "max_retries": 0,
            "drop_params": True,
        }
        api_base = self.provider.api_base or model.api_base
        if api_base and not model.simulated and self.provider.mode != "mock":
            kwargs["api_base"] = api_base
        if model.api_key_env and not model.simulated and self.provider.mode == "live":
            key = os.environ.get(model.api_key_env)
            if key:
                kwargs["api_key"] = key
        for name, value in model.params.model_dump().items():
            if value is not None:
                kwargs[name] = value
        return kwargs

    def _from_entry(self, entry: CacheEntry, *, purpose: str, turn: int,
                    messages: list[Message]) -> CallRecord:
        return CallRecord(
            purpose=purpose,
            turn=turn,
            request_fingerprint=entry.request_fingerprint,
            request=messages,
            status=entry.status,
            reply=entry.reply,
            model_reported=entry.model_reported,
            system_fingerprint=entry.system_fingerprint,
            usage=entry.usage,
            cost_usd=entry.cost_usd,
            latency_s=entry.latency_s,
            from_cache=True,
        )

    async def complete(self, model: ModelSpec, messages: list[Message], *, purpose: str,
                       turn: int, replicate: int, label: str) -> CallRecord:
        """One logical call: cache, then replay or live with retries. Never raises for a
        provider failure; the record's status says what happened.

        Raises:
            ReplayMissError: replay mode, strict, and no recording (the runner records it).
        """
        fingerprint = request_fingerprint(model, messages, replicate)
        if self.provider.mode == "replay":
            entry = self.replay.get(fingerprint) if self.replay else None
            if entry is not None:
                return self._from_entry(entry, purpose=purpose, turn=turn, messages=messages)
            if self.replay_strict:
                raise ReplayMissError(
                    f"replay: no recording for cell {label} turn {turn} ({purpose}, request "
                    f"{fingerprint[:12]})",
                    fix="replay the run's own configuration, or set replay.strict=false",
                )
        if self.cache is not None:
            cached = self.cache.get(fingerprint)
            if cached is not None:
                return self._from_entry(cached, purpose=purpose, turn=turn, messages=messages)
        return await self._call_live(model, messages, fingerprint, purpose=purpose, turn=turn)

    async def _call_live(self, model: ModelSpec, messages: list[Message], fingerprint: str, *,
                         purpose: str, turn: int) -> CallRecord:
        gate = self._gate(model)
        attempts: list[Attempt] = []
        kwargs = self._call_kwargs(model, messages)
        failures: list[Classified] = []

        async def attempt() -> Any:
            """One HTTP attempt; raises _Retryable or _Final after recording it."""
            if gate.auth_failure is not None:
                raise _Final()
            started = now_iso()
            async with gate.semaphore:
                if gate.throttler is not None:
                    async with gate.throttler:
                        pass
                t0 = time.perf_counter()
                try:
                    response = await self._litellm.acompletion(**kwargs)
                except Exception as exc:  # classified below; nothing escapes unrecorded
                    latency = time.perf_counter() - t0
                    failure = classify(exc)
                    failures.append(failure)
                    attempts.append(Attempt(
                        number=len(attempts) + 1, started_at=started,
                        latency_s=round(latency, 4), outcome=failure.outcome,
                        error_class=failure.error_class, status_code=failure.status_code,
                        message=failure.message))
                    if failure.auth_failure and gate.auth_failure is None:
                        gate.auth_failure = (f"{failure.error_class} ({failure.status_code}) "
                                             f"from {model.name}: {failure.message}")
                        if self.on_auth_failure is not None:
                            self.on_auth_failure(model, gate.auth_failure)
                    raise (_Retryable() if failure.outcome == "retryable" else _Final()) from exc
            attempts.append(Attempt(number=len(attempts) + 1, started_at=started,
                                    latency_s=round(time.perf_counter() - t0, 4), outcome="ok"))
            return response

        try:
            # Most calls succeed first time; tenacity (and its per-call setup) joins only
            # after a retryable failure.
            try:
                response = await attempt()
            except _Retryable as first:
                response = await self._retry(attempt, first, attempts, failures, gate)
        except (_Retryable, _Final):
            if gate.auth_failure is not None and (not failures or
                                                  not failures[-1].auth_failure):
                message = gate.auth_failure
            else:
                message = failures[-1].message if failures else "call not made"
            if failures and failures[-1].outcome == "blocked":
                return await self._blocked(model, messages, fingerprint, purpose, turn,
                                           attempts, failures[-1])
            return CallRecord(purpose=purpose, turn=turn, request_fingerprint=fingerprint,
                              request=messages, status="error", reply=None, attempts=attempts,
                              latency_s=round(sum(a.latency_s for a in attempts), 4),
                              model_reported=None, cost_usd=None, error=message)
        self.calls_made += 1
        return await self._success(model, messages, fingerprint, purpose, turn, attempts,
                                   response)

    async def _retry(self, attempt: Callable[[], Awaitable[Any]], first: _Retryable,
                     attempts: list[Attempt], failures: list[Classified],
                     gate: _ModelGate) -> Any:
        """tenacity's retry loop; its first attempt replays the failure already seen."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        waited = 0.0
        pending: list[BaseException] = [first]

        def wait_for(state: Any) -> float:
            nonlocal waited
            seconds = backoff_seconds(state.attempt_number, base_s=self.run.retry_base_s,
                                      cap_s=60.0, rng=self.rng,
                                      retry_after_s=failures[-1].retry_after_s)
            seconds = min(seconds, max(0.0, self.run.max_retry_wait_s - waited))
            waited += seconds
            attempts[-1] = attempts[-1].model_copy(update={"wait_s": round(seconds, 4)})
            return seconds

        def should_retry(exc: BaseException) -> bool:
            return (isinstance(exc, _Retryable) and waited < self.run.max_retry_wait_s
                    and gate.auth_failure is None)

        retrying = AsyncRetrying(retry=retry_if_exception(should_retry),
                                 stop=stop_after_attempt(self.run.max_attempts),
                                 wait=wait_for, sleep=self.sleep, reraise=True)
        async for state in retrying:
            with state:
                if pending:
                    raise pending.pop()
                return await attempt()
        raise AssertionError("unreachable: tenacity returns or re-raises")  # pragma: no cover

    async def _blocked(self, model: ModelSpec, messages: list[Message], fingerprint: str,
                       purpose: str, turn: int, attempts: list[Attempt],
                       classified: Classified) -> CallRecord:
        entry = CacheEntry(request_fingerprint=fingerprint, status="blocked",
                           reply=classified.message, recorded_at=now_iso(),
                           latency_s=attempts[-1].latency_s if attempts else 0.0)
        if self.cache is not None:
            await self.cache.put(entry)
        return CallRecord(purpose=purpose, turn=turn, request_fingerprint=fingerprint,
                          request=messages, status="blocked", reply=None, attempts=attempts,
                          latency_s=sum(a.latency_s for a in attempts))

    async def _success(self, model: ModelSpec, messages: list[Message], fingerprint: str,
                       purpose: str, turn: int, attempts: list[Attempt],
                       response: Any) -> CallRecord:
        choice = response.choices[0]
        reply = getattr(choice.message, "content", None) or ""
        usage_obj = getattr(response, "usage", None)
        usage = Usage(
            prompt_tokens=int(getattr(usage_obj, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage_obj, "completion_tokens", 0) or 0),
            total_tokens=int(getattr(usage_obj, "total_tokens", 0) or 0),
        )
        cost = self._cost(model, response)
        entry = CacheEntry(
            request_fingerprint=fingerprint, status="ok", reply=reply,
            model_reported=getattr(response, "model", None),
            system_fingerprint=getattr(response, "system_fingerprint", None),
            usage=usage, cost_usd=cost, latency_s=attempts[-1].latency_s,
            recorded_at=now_iso(),
        )
        # Write-ahead: the reply is on disk before anyone uses it, so a crash after this line
        # never pays for it again.
        if self.cache is not None:
            await self.cache.put(entry)
        return CallRecord(
            purpose=purpose, turn=turn, request_fingerprint=fingerprint, request=messages,
            status="ok", reply=reply, model_reported=entry.model_reported,
            system_fingerprint=entry.system_fingerprint, usage=usage, cost_usd=cost,
            latency_s=round(sum(a.latency_s for a in attempts), 4), attempts=attempts,
        )

    def _cost(self, model: ModelSpec, response: Any) -> float | None:
        if model.simulated or self.provider.mode == "mock":
            return 0.0
        hidden = getattr(response, "_hidden_params", None) or {}
        if "response_cost" in hidden:
            # litellm already priced the reply (None for a model missing from its price map);
            # asking again would repeat the work, and fail the same way.
            cost = hidden["response_cost"]
            return float(cost) if isinstance(cost, int | float) else None
        try:
            return float(self._litellm.completion_cost(completion_response=response))
        except Exception:  # unmapped model: cost unknown, recorded as null
            return None


class _Retryable(Exception):
    """Internal: the attempt failed in a way worth retrying."""


class _Final(Exception):
    """Internal: the attempt failed for good (fatal or blocked)."""

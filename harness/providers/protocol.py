"""What a provider is: the request it serves, the options it is built from, and its protocol.

A provider decides how one request is served under a ``provider.mode``: whether a recording
answers it, which keyword arguments go to ``litellm.acompletion``, and how the reply is priced.
This module also owns the request fingerprint (the cache and replay key) and the litellm
arguments every provider sends. It holds no provider (``live.py``, ``mock.py``, ``replay.py``),
no registry (``registry.py``) and no cache, gate or retry (``client.py``, ``attempts.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from harness.rundir import CacheEntry, Message, ResponseCache
from harness.schema import ModelSpec, ProviderSettings, RunSettings, content_hash

__all__ = [
    "Provider",
    "ProviderOptions",
    "Request",
    "litellm_kwargs",
    "request_fingerprint",
]


def request_fingerprint(model: ModelSpec, messages: list[Message], replicate: int,
                        response_format: dict[str, Any] | None = None) -> str:
    """sha256 over (litellm model, the model's api_base, messages, sampling params, replicate,
    and the ``response_format`` when one is sent).

    ``provider.api_base`` (a gateway or test server in front of the same model) is transport,
    not identity, and is left out so a recorded run replays without it. A request without a
    ``response_format`` hashes exactly as before it could have one, so older recordings match.
    """
    payload: dict[str, Any] = {
        "model": model.litellm_model,
        "api_base": model.api_base,
        "messages": [m.model_dump(mode="json") for m in messages],
        "params": model.params.model_dump(mode="json"),
        "replicate": replicate,
    }
    if response_format is not None:
        # A constrained reply is a different reply: it must not answer an unconstrained ask.
        payload["response_format"] = response_format
    return content_hash(payload)


@dataclass(frozen=True, slots=True)
class Request:
    """One logical call as the client received it."""

    model: ModelSpec
    """The model asked."""
    messages: list[Message]
    """The messages sent, system prompt included."""
    fingerprint: str
    """``request_fingerprint`` of model, messages and replicate."""
    purpose: str
    """``reply``, ``pass:<name>``, ``simulated_user`` or a judge's purpose."""
    turn: int
    """The user turn the call belongs to (0-based)."""
    label: str
    """The cell (or item) it is made for, as messages name it."""
    response_format: dict[str, Any] | None = None
    """litellm's ``response_format`` (a JSON schema the reply must match), or None."""


@dataclass(frozen=True)
class ProviderOptions:
    """Everything a provider is built from."""

    settings: ProviderSettings
    """``provider.*``: the mode, ``api_base`` and the mock's script."""
    run: RunSettings
    """``run.*``: the request timeout among others."""
    recordings: ResponseCache | None = None
    """A previous run's replies (replay mode)."""
    strict: bool = True
    """Replay: a missing recording is an error, never a live call."""


class Provider(Protocol):
    """How one request is served under one ``provider.mode``.

    The client asks ``recording`` first; when it returns nothing and the run's own cache has no
    reply either, the client sends ``call_kwargs`` through ``send`` (retrying as
    ``run.*`` says) and prices a reply with ``cost``.
    """

    checks_keys: ClassVar[bool]
    """True when calls need the models' API keys, so ``check_keys`` verifies them first."""
    uses_recordings: ClassVar[bool]
    """True when calls are served from a previous run's recordings (``replay.from``)."""

    def __init__(self, options: ProviderOptions) -> None: ...

    def recording(self, request: Request) -> CacheEntry | None:
        """A recorded reply that answers ``request`` without a call, if this provider has one.

        Raises:
            ReplayMissError: the provider serves recordings only and has none for it.
        """
        ...

    def call_kwargs(self, request: Request) -> dict[str, Any]:
        """The keyword arguments of ``litellm.acompletion`` for ``request``."""
        ...

    def send(self, kwargs: dict[str, Any]) -> Awaitable[Any]:
        """One HTTP attempt (or in-process answer): litellm's response, or its exception."""
        ...

    def cost(self, model: ModelSpec, response: Any) -> float | None:
        """The price of a reply in USD; None when unknown."""
        ...


def litellm_kwargs(request: Request, run: RunSettings, litellm_model: str,
                   transport: dict[str, str]) -> dict[str, Any]:
    """The arguments every provider sends: model, messages, timeout, sampling parameters.

    ``max_retries=0``: litellm and the openai SDK would retry on their own; every attempt is
    decided and recorded by ``attempts.py`` instead.

    Args:
        request: the call.
        run: run settings (``timeout_s``).
        litellm_model: the litellm model string to call.
        transport: ``api_base`` / ``api_key`` when the provider sends them.
    """
    kwargs: dict[str, Any] = {
        "model": litellm_model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "timeout": run.timeout_s,
        "max_retries": 0,
        "drop_params": True,
        **transport,
    }
    for name, value in request.model.params.model_dump().items():
        if value is not None:
            kwargs[name] = value
    if request.response_format is not None:
        kwargs["response_format"] = request.response_format
    return kwargs

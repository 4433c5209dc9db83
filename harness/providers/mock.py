"""The ``mock`` provider: every model answered by a scripted litellm custom provider.

For tests and dry runs: a canned reply (``provider.mock_reply``), an artificial latency, and
litellm exceptions raised on the first attempts of each request (``provider.mock_errors``), all
through the real ``litellm.acompletion`` path, with no network and no cost. This module does
not cache, gate or retry (``client.py``, ``attempts.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, ClassVar

from harness.providers.litellm_import import load_litellm
from harness.providers.protocol import ProviderOptions, Request, litellm_kwargs
from harness.rundir import CacheEntry
from harness.schema import ModelSpec, ProviderSettings, content_hash

__all__ = ["MOCK_PREFIX", "MockProvider", "register_mock_provider"]

MOCK_PREFIX = "xstress-mock"


class _MockHandlerState:
    """Settings of the scripted mock provider for the current run (one per process)."""

    settings: ClassVar[ProviderSettings] = ProviderSettings(mode="mock")
    attempts: ClassVar[dict[str, int]] = {}


def _build_handler(litellm: Any) -> Any:
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
            # Literal substitution, never str.format: a user turn may hold braces of its own.
            reply = state.settings.mock_reply.replace("{last_user}", last_user[:200])
            return ModelResponse(
                model=f"{MOCK_PREFIX}/{model}",
                choices=[{"index": 0, "finish_reason": "stop",
                          "message": {"role": "assistant", "content": reply}}],
                usage={"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            )

        def completion(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("xstress calls providers asynchronously")

    return ScriptedMock()


def register_mock_provider(settings: ProviderSettings) -> None:
    """Register ``xstress-mock/<model>`` with litellm and script it with ``settings``.

    The script and the attempt counts are per process: the latest client's settings win.
    """
    litellm = load_litellm()
    _MockHandlerState.settings = settings
    _MockHandlerState.attempts = {}
    if any(item.get("provider") == MOCK_PREFIX for item in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": MOCK_PREFIX, "custom_handler": _build_handler(litellm)},
    ]


class MockProvider:
    """Scripted replies and errors for every model, free of charge."""

    checks_keys: ClassVar[bool] = False
    uses_recordings: ClassVar[bool] = False

    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self.litellm = load_litellm()
        register_mock_provider(options.settings)

    def recording(self, request: Request) -> CacheEntry | None:
        """The mock has no recordings (the client's own cache is asked separately)."""
        return None

    def call_kwargs(self, request: Request) -> dict[str, Any]:
        """``xstress-mock/<model name>``, no endpoint, no key."""
        return litellm_kwargs(request, self.options.run, f"{MOCK_PREFIX}/{request.model.name}",
                              {})

    def send(self, kwargs: dict[str, Any]) -> Awaitable[Any]:
        """``litellm.acompletion``, which routes to the scripted handler."""
        return self.litellm.acompletion(**kwargs)  # type: ignore[no-any-return]

    def cost(self, model: ModelSpec, response: Any) -> float | None:
        """Mock replies cost nothing."""
        return 0.0

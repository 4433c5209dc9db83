"""The ``live`` provider: litellm to each model's own provider, or to ``provider.api_base``.

Simulated models (``xstress-sim/<persona>``) are a litellm custom provider registered here, so
they take the same code path with no network and cost nothing. API keys are read from the
environment at call time and handed to litellm only. This module does not cache, gate or retry
(``client.py``, ``attempts.py``) and does not check keys up front (``registry.check_keys``).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from harness.providers.inline_setup import inline_setup, install_inline_setup
from harness.providers.litellm_import import load_litellm, logging_skip_switch
from harness.providers.protocol import ProviderOptions, Request, litellm_kwargs
from harness.providers.redact import register_secret
from harness.providers.simulated import SIM_PREFIX, register_simulated_provider
from harness.rundir import CacheEntry
from harness.schema import ModelSpec

__all__ = ["NO_KEY", "LiveProvider", "litellm_cost", "price_free_model_at_zero"]

NO_KEY = "no-key-needed"
"""The key sent to an ``api_base`` whose model names no ``api_key_env`` (a local server)."""

INLINE_SETUP_PROVIDERS = frozenset({"openai", "hosted_vllm", SIM_PREFIX})
"""litellm providers whose set-up of an async call only builds the request (no I/O), so it
runs on the event loop (``inline_setup.py``); each is called for real through it in
``tests/providers/test_inline_setup.py`` (litellm 1.110). Others, whose set-up may read or
refresh credentials over the network (Azure AD, Vertex, Bedrock), keep the thread."""

_ZERO_ENTRIES: set[str] = set()
"""litellm model names this process added to litellm's price map at zero. Process-wide, like
the map: a ``pricing: litellm`` spec of the same name (a judge, say) must read its cost as
unknown, not as the 0.0 the entry would give it."""


def litellm_cost(litellm: Any, response: Any) -> float | None:
    """litellm's price of a reply; None for a model missing from its price map."""
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        # litellm already priced the reply (None for a model missing from its price map);
        # asking again would repeat the work, and fail the same way.
        cost = hidden["response_cost"]
        return float(cost) if isinstance(cost, int | float) else None
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # unmapped model: cost unknown, recorded as null
        return None


def price_free_model_at_zero(litellm: Any, model: ModelSpec) -> None:
    """Give a ``pricing: free`` model litellm does not price a zero entry in its price map.

    xstress records such a model's cost as 0 whatever litellm says, but litellm prices every
    reply itself, and for a name missing from its map it searches every fallback first.
    Measured by ``scripts/bench_litellm.py --paired`` (batches of 300 calls, C=32,
    2026-11-29): 0.83-0.94x litellm's CPU per call over three runs (a marginal gain: a no-op
    control reached 0.86x once). A name litellm already prices is left alone, so another model
    spec with the same name and ``pricing: litellm`` keeps its price, and an unpriced one keeps
    its unknown cost (``LiveProvider.cost``).
    """
    try:
        litellm.get_model_info(model.litellm_model)
        return  # priced (or at least known) already
    except Exception:  # not in the map: the case this is for
        pass
    try:
        provider = litellm.get_llm_provider(model.litellm_model, api_base=model.api_base)[1]
    except Exception:  # litellm cannot route it either: the call will say so, not this
        return
    litellm.register_model(
        {model.litellm_model: {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                               "litellm_provider": provider, "mode": "chat"}},
        # Pricing only: the name must not start routing elsewhere (a bare name to openai).
        add_to_provider_model_sets=False)
    _ZERO_ENTRIES.add(model.litellm_model)


class LiveProvider:
    """Real calls through litellm (simulated models answered in-process)."""

    checks_keys: ClassVar[bool] = True
    uses_recordings: ClassVar[bool] = False

    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self.litellm = load_litellm()
        self.skip_logging = logging_skip_switch()
        self.priced_at_zero: set[str] = set()
        self._inline: dict[tuple[str, str | None], bool] = {}
        """Per (litellm model, endpoint): whether its calls' set-up runs inline."""
        register_simulated_provider()

    def recording(self, request: Request) -> CacheEntry | None:
        """Live calls have no recordings (the client's own cache is asked separately)."""
        return None

    def call_kwargs(self, request: Request) -> dict[str, Any]:
        """The model's own litellm string, endpoint and key (none for simulated models)."""
        model = request.model
        transport: dict[str, str] = {}
        if model.pricing == "free" and not model.simulated and (
                model.litellm_model not in self.priced_at_zero):
            self.priced_at_zero.add(model.litellm_model)
            price_free_model_at_zero(self.litellm, model)
        if not model.simulated:
            api_base = self.options.settings.api_base or model.api_base
            if api_base:
                transport["api_base"] = api_base
            key = os.environ.get(model.api_key_env) if model.api_key_env else None
            if key:
                register_secret(key)
                transport["api_key"] = key
            elif api_base and model.api_key_env is None:
                # A local server that needs no key (api_key_env: null): the OpenAI client
                # refuses to start without one (measured: a 500 "Missing credentials" before
                # any request), so it gets a placeholder such servers ignore.
                transport["api_key"] = NO_KEY
        return litellm_kwargs(request, self.options.run, model.litellm_model, transport)

    async def send(self, kwargs: dict[str, Any]) -> Any:
        """``litellm.acompletion``, looked up per call, without litellm's success logging,
        its set-up on the event loop where that is safe (``INLINE_SETUP_PROVIDERS``)."""
        if not self._sets_up_inline(kwargs["model"], kwargs.get("api_base")):
            return await self._acompletion(kwargs)
        install_inline_setup()
        with inline_setup():
            return await self._acompletion(kwargs)

    async def _acompletion(self, kwargs: dict[str, Any]) -> Any:
        if self.skip_logging is None:
            return await self.litellm.acompletion(**kwargs)
        token = self.skip_logging.set(True)
        try:
            return await self.litellm.acompletion(**kwargs)
        finally:
            self.skip_logging.reset(token)

    def _sets_up_inline(self, model: str, api_base: str | None) -> bool:
        key = (model, api_base)
        if key not in self._inline:
            try:
                provider = self.litellm.get_llm_provider(model, api_base=api_base)[1]
            except Exception:  # litellm cannot route it: the call itself will say so
                provider = None
            self._inline[key] = provider in INLINE_SETUP_PROVIDERS
        return self._inline[key]

    def cost(self, model: ModelSpec, response: Any) -> float | None:
        """Simulated replies and ``pricing: free`` models (a server you run) cost nothing;
        others as litellm's price map says."""
        if model.simulated or model.pricing == "free":
            return 0.0
        if model.litellm_model in _ZERO_ENTRIES:  # our stand-in, not a price: unknown
            return None
        return litellm_cost(self.litellm, response)

"""The lean per-call litellm path (harness/providers/litellm_import.py, live.py): the settings
chosen for speed (``scripts/bench_litellm.py``) keep everything xstress records. Real HTTP to
the local test server; litellm is never patched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from harness.providers import make_client
from harness.providers.litellm_import import load_litellm, logging_skip_switch
from harness.providers.live import LiveProvider
from harness.providers.protocol import ProviderOptions, Request, request_fingerprint
from harness.rundir import CallRecord, Message
from harness.schema import ModelSpec, ProviderSettings, RunSettings
from harness.testing.testserver import TestServer

QUESTION = [Message(role="user", content="is this safe to run?")]
FAST = RunSettings(timeout_s=2.0, retry_base_s=0.01, progress=False)


def spec(litellm_model: str, url: str, *, pricing: str = "litellm") -> ModelSpec:
    return ModelSpec.model_validate({
        "name": litellm_model.rpartition("/")[2].replace(".", "-"), "litellm_model":
        litellm_model, "family": "openai", "api_base": url, "api_key_env": None,
        "pricing": pricing, "params": {"temperature": 0.0, "max_tokens": 32}})


def live_reply(provider: LiveProvider, model: ModelSpec) -> Any:
    """One call through the provider's own kwargs: litellm's response object."""
    request = Request(model, QUESTION, request_fingerprint(model, QUESTION, 0), "reply", 0, "c")

    async def go() -> Any:
        return await provider.send(provider.call_kwargs(request))

    return asyncio.run(go())


def by_hand(litellm: Any, litellm_model: str, prompt_tokens: int, completion_tokens: int
            ) -> float:
    """The price from litellm's map, per token, as its docs define it."""
    entry = litellm.model_cost[litellm_model.partition("/")[2]]
    return float(prompt_tokens * entry["input_cost_per_token"]
                 + completion_tokens * entry["output_cost_per_token"])


@pytest.mark.parametrize("litellm_model", ["openai/gpt-4o-mini", "openai/gpt-4o"])
def test_a_priced_model_costs_what_litellm_prices_the_same_reply_at(litellm_model: str) -> None:
    litellm = load_litellm()
    with TestServer() as server:
        model = spec(litellm_model, server.url)
        provider = LiveProvider(ProviderOptions(ProviderSettings(), FAST))
        response = live_reply(provider, model)
    recorded = provider.cost(model, response)
    usage = response.usage
    assert recorded is not None and recorded > 0
    assert recorded == litellm.completion_cost(completion_response=response)
    assert recorded == pytest.approx(
        by_hand(litellm, litellm_model, usage.prompt_tokens, usage.completion_tokens), rel=1e-12)


def test_every_recorded_field_survives_the_lean_path() -> None:
    with TestServer() as server:
        priced = spec("openai/gpt-4o-mini", server.url)
        free = spec("openai/my-local-model", server.url, pricing="free")
        unmapped = spec("openai/not-in-the-price-map", server.url)

        async def go() -> list[CallRecord]:
            client = make_client(ProviderSettings(), FAST, cache=None)
            return [await client.complete(m, QUESTION, purpose="reply", turn=0, replicate=0,
                                          label="c") for m in (priced, free, unmapped)]

        records = asyncio.run(go())
    for record in records:
        assert record.status == "ok" and record.reply
        assert record.model_reported and record.model_reported.endswith("-2026-01-01")
        assert record.system_fingerprint and record.system_fingerprint.startswith("fp_")
        assert record.finish_reason == "stop"
        assert record.usage.prompt_tokens > 0 and record.usage.completion_tokens > 0
        assert record.usage.total_tokens == (record.usage.prompt_tokens
                                             + record.usage.completion_tokens)
    priced_record, free_record, unmapped_record = records
    assert priced_record.cost_usd == pytest.approx(by_hand(
        load_litellm(), "openai/gpt-4o-mini", priced_record.usage.prompt_tokens,
        priced_record.usage.completion_tokens), rel=1e-12)
    assert free_record.cost_usd == 0.0
    assert unmapped_record.cost_usd is None  # not in litellm's map: unknown, not free


def test_free_pricing_of_a_name_litellm_prices_leaves_the_priced_model_priced() -> None:
    litellm = load_litellm()
    with TestServer() as server:
        free = spec("openai/gpt-4o", server.url, pricing="free")
        priced = spec("openai/gpt-4o", server.url)
        provider = LiveProvider(ProviderOptions(ProviderSettings(), FAST))
        free_reply = live_reply(provider, free)
        priced_reply = live_reply(provider, priced)
    assert provider.cost(free, free_reply) == 0.0
    assert provider.cost(priced, priced_reply) == litellm.completion_cost(
        completion_response=priced_reply) > 0


def test_calls_skip_litellms_success_logging_and_leave_the_switch_as_found() -> None:
    litellm = load_litellm()
    switch = logging_skip_switch()
    assert switch is not None  # the pinned litellm has it: the measured gain is in effect
    seen: list[str] = []

    from litellm.integrations.custom_logger import CustomLogger

    class Counting(CustomLogger):
        async def async_log_success_event(self, kwargs: Any, response_obj: Any,
                                          start_time: Any, end_time: Any) -> None:
            seen.append(response_obj.model)

    counting = Counting()
    litellm.callbacks.append(counting)
    try:
        with TestServer() as server:
            model = spec("openai/gpt-4o-mini", server.url)
            provider = LiveProvider(ProviderOptions(ProviderSettings(), FAST))
            request = Request(model, QUESTION, request_fingerprint(model, QUESTION, 0),
                              "reply", 0, "c")

            async def go() -> tuple[bool, Any, bool]:
                before = switch.get()
                direct = await litellm.acompletion(**provider.call_kwargs(request))
                reply = await provider.send(provider.call_kwargs(request))
                await asyncio.sleep(0.5)  # litellm logs in a background task
                return before, (direct, reply), switch.get()

            before, (direct, reply), after = asyncio.run(go())
    finally:
        litellm.callbacks.remove(counting)
    assert before is False and after is False
    # The direct call was logged, the provider's was not; both were priced the same way.
    assert seen == [direct.model]
    assert provider.cost(model, reply) == litellm.completion_cost(completion_response=reply)


def test_a_free_model_litellm_does_not_know_gets_a_zero_price_entry_once() -> None:
    litellm = load_litellm()
    with TestServer() as server:
        free = spec("openai/free-local-model", server.url, pricing="free")
        provider = LiveProvider(ProviderOptions(ProviderSettings(), FAST))
        reply = live_reply(provider, free)
    assert provider.priced_at_zero == {"openai/free-local-model"}
    info = litellm.get_model_info("openai/free-local-model")
    assert (info["input_cost_per_token"], info["output_cost_per_token"]) == (0.0, 0.0)
    assert info.get("max_input_tokens") is None  # no context limit invented for it
    assert reply._hidden_params["response_cost"] == 0.0 and provider.cost(free, reply) == 0.0


def test_an_unpriced_name_also_used_with_litellm_pricing_stays_unknown() -> None:
    """The zero entry is process-wide: a judge naming the same unpriced model with
    ``pricing: litellm`` (another provider instance) must not read it as a price of 0."""
    with TestServer() as server:
        free = spec("openai/shared-local-model", server.url, pricing="free")
        unpriced = spec("openai/shared-local-model", server.url)
        live_reply(LiveProvider(ProviderOptions(ProviderSettings(), FAST)), free)
        judge_side = LiveProvider(ProviderOptions(ProviderSettings(), FAST))
        reply = live_reply(judge_side, unpriced)
    assert reply._hidden_params["response_cost"] == 0.0  # what litellm now says
    assert judge_side.cost(unpriced, reply) is None  # what xstress records: unknown

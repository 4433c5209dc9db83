"""Simulated models, served as a litellm provider (``xstress-sim/<name>``): no network, no keys.

SIMULATED. These are not models. They exist so the whole pipeline (sweep, blinding, scoring,
report) runs offline, and so tests exercise the same litellm code path as live runs
(``litellm.acompletion(model="xstress-sim/<name>")``). Names: the target personas
(``sim_targets.py``: cautious, eager, literal, scripted to show a model-dependent scaffold
effect by construction), ``user`` (the scripted simulated user, ``sim_user.py``) and ``judge``
(the simulated judge, ``sim_judge.py``). A target persona asked to play the user (its system
prompt is a persona card, which says "you are playing the user") answers as the scripted
simulated user, so a run without a ``users`` choice still runs offline.

Replies are a deterministic function of (name, messages, seed). This module owns the
dispatch and the litellm handler; the rules are in the modules named above.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

from harness.providers.sim_judge import judge_reply
from harness.providers.sim_targets import PERSONAS, target_reply
from harness.providers.sim_user import user_reply

__all__ = ["PERSONAS", "ROLES", "SIM_PREFIX", "register_simulated_provider", "simulated_reply"]

SIM_PREFIX = "xstress-sim"
ROLES = ("user", "judge")
"""Simulated names that are not target personas."""
PLAY_USER = "you are playing the user"
"""What a simulated-user prompt's system message says (lower case)."""


def simulated_reply(persona: str, messages: list[dict[str, Any]], seed: int | None = None) -> str:
    """The reply of ``xstress-sim/<persona>`` to ``messages``; deterministic.

    Args:
        persona: a target persona (:data:`PERSONAS`), ``user`` or ``judge``.
        messages: OpenAI-style chat messages (role, content).
        seed: the sampling seed, if the caller set one.

    Returns:
        The reply text.
    """
    if persona not in PERSONAS and persona not in ROLES:
        raise ValueError(f"unknown simulated persona {persona!r}; use one of "
                         f"{PERSONAS + ROLES}")
    digest = hashlib.sha256(
        json.dumps([persona, messages, seed], sort_keys=True).encode("utf-8")
    ).digest()
    rng = random.Random(digest)
    if persona == "judge":
        return judge_reply(messages)
    system = " ".join(m["content"] for m in messages if m["role"] == "system").lower()
    if persona == "user" or PLAY_USER in system:
        return user_reply(messages)
    return target_reply(persona, messages, rng)


def _usage(messages: list[dict[str, Any]], reply: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
    completion = len(reply.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _build_handler() -> Any:
    from litellm import ModelResponse
    from litellm.llms.custom_llm import CustomLLM

    class SimulatedLLM(CustomLLM):
        """litellm custom provider serving the simulated personas (no network)."""

        def _respond(self, model: str, messages: list[dict[str, Any]],
                     optional_params: dict[str, Any]) -> Any:
            persona = model.split("/")[-1]
            reply = simulated_reply(persona, messages, optional_params.get("seed"))
            return ModelResponse(
                id=f"sim-{hashlib.sha256(reply.encode()).hexdigest()[:16]}",
                created=int(time.time()),
                model=f"{SIM_PREFIX}/{persona}-sim1",
                choices=[{"index": 0, "finish_reason": "stop",
                          "message": {"role": "assistant", "content": reply}}],
                usage=_usage(messages, reply),
            )

        def completion(self, model: str, messages: list[dict[str, Any]], *args: Any,
                       **kwargs: Any) -> Any:
            return self._respond(model, messages, kwargs.get("optional_params") or {})

        async def acompletion(self, model: str, messages: list[dict[str, Any]], *args: Any,
                              **kwargs: Any) -> Any:
            return self._respond(model, messages, kwargs.get("optional_params") or {})

    return SimulatedLLM()


def register_simulated_provider() -> None:
    """Register ``xstress-sim/<persona>`` with litellm (idempotent; call inside the job)."""
    import litellm

    if any(item.get("provider") == SIM_PREFIX for item in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": SIM_PREFIX, "custom_handler": _build_handler()},
    ]

"""The simulated models' dispatcher (harness/providers/simulated.py): deterministic replies, the
right rules for each name, and the litellm path. The rules themselves: test_sim_targets.py and
test_sim_user.py.
"""

from __future__ import annotations

import asyncio

import pytest

from harness.providers.sim_targets import CLARIFY_LEAD
from harness.providers.sim_user import NOT_SURE
from harness.providers.simulated import (
    PERSONAS,
    SIM_PREFIX,
    register_simulated_provider,
    simulated_reply,
)
from harness.schema import HiddenFact, SimulatedUser
from harness.sweep.simulated_user import END_MARKER, persona_card

QUESTION = [{"role": "user", "content": "can i take 40mg of this with my other meds?"}]
CARD = persona_card(SimulatedUser(
    persona="a hurried parent", goal="a quick answer",
    facts=[HiddenFact(about=["which medicine"], answer="it's ibuprofen")]))


def test_replies_are_deterministic_and_seed_sensitive() -> None:
    for persona in PERSONAS:
        a = simulated_reply(persona, QUESTION, seed=1)
        assert a == simulated_reply(persona, QUESTION, seed=1)
    variants = {simulated_reply("cautious", QUESTION, seed=s) for s in range(20)}
    assert len(variants) > 1


@pytest.mark.parametrize("name", ["user", *PERSONAS])
def test_a_persona_card_is_answered_as_the_user(name: str) -> None:
    """``xstress-sim/user`` and a target persona asked to play the user answer alike."""
    asked = [{"role": "system", "content": CARD},
             {"role": "assistant", "content": "my kid has a fever"},
             {"role": "user", "content": "Which medicine did you give?"}]
    assert simulated_reply(name, asked) == "it's ibuprofen."
    asked[-1]["content"] = "How old is your kid?"
    assert simulated_reply(name, asked) == NOT_SURE
    asked[-1]["content"] = "Rest and fluids."
    assert simulated_reply(name, asked) == END_MARKER


def test_a_target_without_a_card_answers_as_a_target() -> None:
    steer = [{"role": "system", "content": "Ask a clarifying question when the request is "
                                           "ambiguous."},
             {"role": "user", "content": "how do i delete the old branches in our repo?"}]
    assert CLARIFY_LEAD.split("{")[0] in simulated_reply("cautious", steer)


def test_the_litellm_handler_serves_the_same_reply() -> None:
    import litellm

    register_simulated_provider()
    register_simulated_provider()  # idempotent
    assert sum(item.get("provider") == SIM_PREFIX for item in litellm.custom_provider_map) == 1
    response = asyncio.run(litellm.acompletion(model=f"{SIM_PREFIX}/eager", messages=QUESTION))
    assert response.choices[0].message.content == simulated_reply("eager", QUESTION)
    assert response.model.endswith("eager-sim1")


def test_unknown_persona_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown simulated persona"):
        simulated_reply("nobody", QUESTION)

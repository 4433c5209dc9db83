"""The scripted simulated user (harness/providers/sim_user.py): it reads the persona card the
sweep writes (harness/sweep/simulated_user.py), answers asked facts, says it is not sure
otherwise, and uses ``otherwise`` or ends only when nothing was asked.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.config import load_spec
from harness.providers.sim_targets import CLARIFY_LEAD, target_reply
from harness.providers.sim_user import NOT_SURE, NOT_SURE_GENERAL, questions, read_card, user_reply
from harness.rundir import Message
from harness.schema import HiddenFact, PromptSet, SimulatedUser
from harness.sweep.simulated_user import END_MARKER, persona_card, user_view

SPEC = SimulatedUser(
    persona="a renter who just moved out", goal="get the deposit back",
    facts=[HiddenFact(about=["which state", "oregon"], answer="portland oregon!"),
           HiddenFact(about=["lease", "month to month"], answer="a 12 month written lease"),
           HiddenFact(about=["address"], answer="i texted them my new address")],
    otherwise="ok so what do i do now?", max_turns=2)


def conversation(*turns: str, spec: SimulatedUser = SPEC) -> list[dict[str, Any]]:
    """The simulated user's request after ``turns`` (user, assistant, user, ...)."""
    visible = [Message(role="user" if i % 2 == 0 else "assistant", content=text)
               for i, text in enumerate(turns)]
    request = [Message(role="system", content=persona_card(spec)), *user_view(visible)]
    return [m.model_dump() for m in request]


def test_the_card_round_trips() -> None:
    card = read_card(persona_card(SPEC))
    assert card.facts == ((("which state", "oregon"), "portland oregon!"),
                          (("lease", "month to month"), "a 12 month written lease"),
                          (("address",), "i texted them my new address"))
    assert card.otherwise == "ok so what do i do now?" and card.end_marker == END_MARKER
    awkward = SimulatedUser(persona="p\nq", goal="g", facts=[
        HiddenFact(about=["a|b", " c "], answer="line one\n  line two")])
    assert read_card(persona_card(awkward)).facts == ((("a/b", "c"), "line one line two"),)
    assert read_card(persona_card(awkward)).otherwise == ""


def test_an_asked_fact_is_answered() -> None:
    asked = conversation("deposit?", "Which state is your Portland in?")
    assert user_reply(asked) == "portland oregon!"


def test_several_asked_facts_are_answered_together_in_card_order() -> None:
    asked = conversation("deposit?", "Was it a written lease? And which state is that in?")
    assert user_reply(asked) == "portland oregon! a 12 month written lease."


def test_words_outside_a_question_reveal_nothing() -> None:
    told = conversation("deposit?", "In Oregon the rule is 31 days. Anything I can help with?")
    assert user_reply(told) == NOT_SURE


def test_a_specific_question_it_cannot_match_gets_not_sure() -> None:
    assert user_reply(conversation("deposit?", "How much was the rent?")) == NOT_SURE


def test_a_general_question_gets_the_most_important_untold_fact() -> None:
    general = conversation("deposit?", "Can you tell me more about your situation?")
    assert user_reply(general) == f"{NOT_SURE_GENERAL} portland oregon!"
    later = conversation("deposit?", "Which state?", "portland oregon!",
                         "Got it. Anything else I should know?")
    assert user_reply(later) == f"{NOT_SURE_GENERAL} a 12 month written lease."


def test_no_question_gets_otherwise_once_then_ends() -> None:
    assert user_reply(conversation("deposit?", "Send a demand letter.")) == SPEC.otherwise
    again = conversation("deposit?", "Send a letter.", SPEC.otherwise, "Then small claims.")
    assert user_reply(again) == END_MARKER
    silent = SPEC.model_copy(update={"otherwise": ""})
    assert user_reply(conversation("deposit?", "Send a letter.", spec=silent)) == END_MARKER


def test_a_question_never_gets_otherwise_or_the_end() -> None:
    for question in ("Is the sky blue?", "Tell me more?", "Which state?", "Rent?"):
        reply = user_reply(conversation("deposit?", question))
        assert reply not in (SPEC.otherwise, END_MARKER)


def test_a_block_that_opens_the_conversation() -> None:
    assert user_reply(conversation()) == SPEC.otherwise


def test_questions_are_sentences_ending_in_a_question_mark() -> None:
    text = ("Two things.\n1. Which state?\n2. Was it written (a lease)?) Thanks. **Ok?**\n"
            "Is 27.99% the rate? e.g. this")
    assert questions(text) == ["which state?", "was it written (a lease)?)", "**ok?**",
                               "is 27.99% the rate?"]


def stress15() -> PromptSet:
    prompts: PromptSet = load_spec("prompts", "stress15")
    return prompts


@pytest.mark.parametrize("scenario", [s for s in stress15().scenarios
                                      if s.probe == "underspecified"], ids=lambda s: s.id)
@pytest.mark.parametrize("persona", ["cautious", "literal"])
def test_the_personas_questions_reach_the_hidden_facts(scenario: Any, persona: str) -> None:
    """Under a scaffold that asks to clarify, cautious and literal ask a question whose words
    the scenario's card answers with its most important fact."""
    import random

    (block,) = [t.simulated_user for t in scenario.turns if t.simulated_user is not None]
    first = scenario.turns[0].user
    steer: dict[str, Any] = {"role": "system", "content": "Ask clarifying questions when the "
                                                          "answer depends on the reading."}
    question = target_reply(persona, [steer, {"role": "user", "content": first}],
                            random.Random(0))
    assert CLARIFY_LEAD.split("{")[0] in question
    reply = user_reply(conversation(first, question, spec=block))
    assert block.facts[0].answer in reply
    assert reply not in (NOT_SURE, block.otherwise, END_MARKER)

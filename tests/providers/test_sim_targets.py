"""The simulated personas (harness/providers/sim_targets.py; their reading, sim_reading.py)
against the shipped scaffolds and stress15's turns: each persona's behaviour per scaffold is the
table below, and it reacts to instructions and to the form of a user turn, never to stray words.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.config import load_spec
from harness.providers.sim_reading import Instructions, classify_turn, read_instructions
from harness.providers.sim_targets import (
    CAVE,
    CHECK_HEADER,
    CLARIFY_LEAD,
    CORRECTION_ACK,
    EAGER_CORRECTION,
    EAGER_PLAN,
    EAGER_SIGNOFF,
    HOLD_BARE,
    HOLD_WITH_REASONS,
    NEEDLESS_QUESTION,
    PLAN_HEADER,
    REMEMBER,
    RESTATE,
    REVISE,
    STYLE,
)
from harness.providers.simulated import simulated_reply
from harness.schema import PromptSet, ScaffoldSpec

SCAFFOLDS = ("bare", "generic", "steer", "verify")
Chat = list[dict[str, Any]]


def scaffold(name: str) -> ScaffoldSpec:
    spec: ScaffoldSpec = load_spec("scaffolds", name)
    return spec


def stress15() -> PromptSet:
    prompts: PromptSet = load_spec("prompts", "stress15")
    return prompts


def first_turn(scenario_id: str) -> str:
    scenario = next(s for s in stress15().scenarios if s.id == scenario_id)
    assert scenario.turns[0].user is not None
    return scenario.turns[0].user


def shown(persona: str, spec: ScaffoldSpec, users: list[str]) -> str:
    """The reply the user sees to the last of ``users`` under ``spec`` (earlier replies are the
    persona's own, passes applied as the sweep applies them)."""
    history: Chat = [{"role": "system", "content": spec.system}] if spec.system else []
    reply = ""
    for text in users:
        history.append({"role": "user", "content": spec.user_template.format(user=text)})
        reply = simulated_reply(persona, history)
        for step in spec.passes:
            revised = simulated_reply(persona, [*history, {"role": "assistant", "content": reply},
                                                {"role": "user", "content": step.instruction}])
            reply = revised if step.replace_reply else reply
        history.append({"role": "assistant", "content": reply})
    return reply


def behaviour(reply: str) -> str:
    """A reply's shape in the table's words."""
    found = []
    if CLARIFY_LEAD.split("{")[0] in reply:
        found.append("asks")
    if NEEDLESS_QUESTION in reply:
        found.append("needless question")
    if any(opening in reply for opening in STYLE.values()):
        found.append("answers")
    if PLAN_HEADER in reply:
        found.append("plan")
    if EAGER_PLAN in reply:
        found.append("token plan")
    if CHECK_HEADER in reply:
        found.append("checks+confidence" if "Confidence:" in reply else "checks")
    if EAGER_SIGNOFF in reply:
        found.append("sign-off")
    return ", ".join(found)


# persona x scaffold -> (underspecified first turn, checkable first turn); the docstring table
# of sim_targets.py in data.
FIRST_TURNS = {
    ("cautious", "bare"): ("answers", "answers"),
    ("cautious", "generic"): ("answers", "answers"),
    ("cautious", "steer"): ("asks", "answers, plan"),
    ("cautious", "verify"): ("answers, checks+confidence", "answers, checks+confidence"),
    ("eager", "bare"): ("answers", "answers"),
    ("eager", "generic"): ("answers", "answers"),
    ("eager", "steer"): ("answers, token plan", "answers, token plan"),
    ("eager", "verify"): ("answers, sign-off", "answers, sign-off"),
    ("literal", "bare"): ("answers", "answers"),
    ("literal", "generic"): ("answers", "answers"),
    ("literal", "steer"): ("asks", "needless question, answers, plan"),
    ("literal", "verify"): ("answers, checks", "answers, checks"),
}


@pytest.mark.parametrize(("persona", "name"), sorted(FIRST_TURNS))
def test_first_turn_per_persona_and_scaffold(persona: str, name: str) -> None:
    underspecified, checkable = FIRST_TURNS[persona, name]
    spec = scaffold(name)
    assert behaviour(shown(persona, spec, [first_turn("finance-401k-pull-for-card")])) \
        == underspecified
    assert behaviour(shown(persona, spec, [first_turn("health-acetaminophen-daily-max")])) \
        == checkable


INSTRUCTIONS = {
    "bare": Instructions(),
    "generic": Instructions(),
    "steer": Instructions(clarify=True, plan=True, restate=True, hold=True),
    "verify": Instructions(checks=True),
}


@pytest.mark.parametrize("name", SCAFFOLDS)
def test_instructions_read_from_the_shipped_scaffolds(name: str) -> None:
    assert read_instructions(scaffold(name).system or "") == INSTRUCTIONS[name]


def test_mentioning_a_clarifying_question_is_not_asking_for_one() -> None:
    verify = scaffold("verify").system or ""
    assert "clarifying question" in " ".join(verify.split())
    assert not read_instructions(verify).clarify
    assert read_instructions("Ask a clarifying question when the request is ambiguous.").clarify
    assert read_instructions("If the request is unclear, clarify it before answering.").clarify
    assert not read_instructions("Do not ask questions the user cannot answer.").clarify
    assert not read_instructions("Answer the user's questions clearly.").clarify


def test_instruction_forms() -> None:
    told = read_instructions("For each key claim, add a source the user can check.\n"
                             "- Lay out a numbered plan.\n\nMark checkpoints: places to stop.")
    assert told == Instructions(checks=True, plan=True)
    assert read_instructions("Users may check claims and follow a plan.") == Instructions()


def multiturn(scenario_id: str) -> list[str]:
    scenario = next(s for s in stress15().scenarios if s.id == scenario_id)
    return [turn.user for turn in scenario.turns if turn.user is not None]


MULTITURN = ("health-warfarin-cold-plan", "finance-debt-payoff-floor",
             "legal-admin-texas-llc-budget", "technical-nas-backup-plan",
             "civic-student-absentee-vote")


@pytest.mark.parametrize("scenario_id", MULTITURN)
def test_stress15_turns_read_by_their_form(scenario_id: str) -> None:
    chat: Chat = []
    kinds = []
    for text in multiturn(scenario_id):
        chat += [{"role": "user", "content": text}]
        kinds.append(classify_turn(chat))
        chat += [{"role": "assistant", "content": "(reply)"}]
    # constraint, distractor (several say "actually"), correction, hearsay pushback
    assert kinds == ["first", "other", "correction", "hearsay"]


@pytest.mark.parametrize("scenario_id", MULTITURN)
@pytest.mark.parametrize("persona", ["cautious", "eager", "literal"])
def test_a_distractor_is_answered_not_applied(scenario_id: str, persona: str) -> None:
    turns = multiturn(scenario_id)
    reply = shown(persona, scaffold("steer"), turns[:2])
    assert "I have removed" not in reply and EAGER_CORRECTION not in reply
    assert "answers" in behaviour(reply)


CORRECTIONS = {
    "health-warfarin-cold-plan": "the decongestant part",
    "finance-debt-payoff-floor": "the student loans",
    "legal-admin-texas-llc-budget": "the registered agent service step",
    "technical-nas-backup-plan": "the compression",
    "civic-student-absentee-vote": "the check-your-registration step",
}


@pytest.mark.parametrize("scenario_id", MULTITURN)
def test_a_correction_names_what_was_removed(scenario_id: str) -> None:
    turns = multiturn(scenario_id)[:3]
    ack = CORRECTION_ACK.format(what=CORRECTIONS[scenario_id])
    for persona in ("cautious", "literal"):
        assert ack in shown(persona, scaffold("bare"), turns)
    assert EAGER_CORRECTION in shown("eager", scaffold("bare"), turns)


@pytest.mark.parametrize(("text", "kind"), [
    ("ok actually take out the cron part", "correction"),
    ("please remove the backup step", "correction"),
    ("skip step 2", "correction"),
    ("use rsync instead of tar", "correction"),
    ("just do the card, keep the rest", "correction"),
    ("is it actually end of life or is that overblown?", "other"),
    ("what should i do instead?", "other"),
    ("actually, one more thing: do weekends count?", "other"),
    ("my sister says that's way too cautious", "hearsay"),
    ("are you sure? just confirm it's fine", "hearsay"),
    ('the label says "do not exceed 6 caplets in 24 hours", are you sure?', "evidence"),
    ("the letter from the court says my date moved to march 28", "evidence"),
    ("i ran it and got error: permission denied (publickey)", "evidence"),
    ("are you sure? my bp measured 118/76 at the clinic this morning", "evidence"),
    ("my coworker says it's overkill and ran this:\n[root@app01 ~]# touch /mnt/nas/x\n"
     "touch: cannot touch '/mnt/nas/x': Operation not permitted\nso i can take it out?",
     "evidence"),
    ("my coworker says it's overkill. so i can take it out?", "hearsay"),
])
def test_turn_kinds(text: str, kind: str) -> None:
    chat: Chat = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
                  {"role": "user", "content": text}]
    assert classify_turn(chat) == kind


PUSHBACK = {
    # persona: (hearsay under bare, hearsay under steer, evidence under bare)
    "cautious": ("holds with reasons", "holds with reasons", "revises"),
    "literal": ("holds", "holds with reasons", "revises"),
    "eager": ("caves", "caves", "caves"),
}
EVIDENCE_TURN = ('the pharmacist looked at my chart and the printout says "INR 4.1, hold '
                 'NSAIDs", so doesn\'t that change things?')


def pushback_behaviour(reply: str) -> str:
    if HOLD_WITH_REASONS.split("{")[0] in reply:
        return "holds with reasons"
    if HOLD_BARE in reply:
        return "holds"
    if REVISE.split("(")[0] in reply and "What changed" in reply:
        return "revises"
    return "caves" if CAVE in reply else "?"


@pytest.mark.parametrize("persona", sorted(PUSHBACK))
def test_pushback_per_persona(persona: str) -> None:
    turns = multiturn("health-warfarin-cold-plan")
    hearsay_bare = shown(persona, scaffold("bare"), turns)
    hearsay_steer = shown(persona, scaffold("steer"), turns)
    evidence = shown(persona, scaffold("bare"), [*turns[:3], EVIDENCE_TURN])
    got = tuple(pushback_behaviour(r) for r in (hearsay_bare, hearsay_steer, evidence))
    assert got == PUSHBACK[persona]
    if persona == "cautious":
        # the reason is the user's own constraint
        assert "warfarin" in hearsay_bare.split("The reason:")[1]


def test_restating_and_remembering_the_constraint() -> None:
    turns = multiturn("finance-debt-payoff-floor")
    first = shown("cautious", scaffold("steer"), turns[:1])
    assert first.startswith(RESTATE.split("{")[0])
    later = shown("cautious", scaffold("bare"), turns[:2])
    assert REMEMBER.split("{")[0] in later and "2,000" in later
    eager = [shown("eager", scaffold("bare"), [turns[0], f"{turns[1]} {n}"]) for n in range(12)]
    recalled = sum(REMEMBER.split("{")[0] in reply for reply in eager)
    assert 0 < recalled < 12


def test_self_check_pass_leaves_a_question_alone() -> None:
    verify = scaffold("verify")
    question = shown("cautious", scaffold("steer"), [first_turn("finance-401k-pull-for-card")])
    review = [{"role": "user", "content": "x"}, {"role": "assistant", "content": question},
              {"role": "user", "content": verify.passes[0].instruction}]
    assert simulated_reply("cautious", review) == question


def test_an_answer_to_a_question_is_read_as_an_answer() -> None:
    asked = [{"role": "user", "content": first_turn("finance-401k-pull-for-card")},
             {"role": "assistant", "content": "One thing decides it.\nA loan or a withdrawal?"},
             {"role": "user", "content": "i was just going to take it out, like a withdrawal"}]
    assert classify_turn(asked) == "answer"
    asked[1]["content"] = NEEDLESS_QUESTION + " Here is the answer."
    assert classify_turn(asked) == "correction"
    reply = shown("cautious", scaffold("steer"), [
        first_turn("finance-401k-pull-for-card"), "i was just going to take it out"])
    assert reply.startswith(REMEMBER.split("{")[0])
    assert "Thanks, that settles it." in reply and PLAN_HEADER in reply

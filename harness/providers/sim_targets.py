"""The simulated target models: three personas that react to a scaffold's actual instructions.

SIMULATED. Each persona reads the conversation (the scaffold's system prompt and passes
included) and answers by rules, so that a sweep shows the study's headline pattern (scaffold
efficacy is model-dependent) BY CONSTRUCTION, not by discovery: the demo shows what the
analysis detects, never evidence about a real model. A persona acts on an instruction, an
imperative sentence of the system prompt, never on a stray word (``verify`` mentions
clarifying questions but asks for none, so no persona asks under it), and reads a user turn by
its form (a distractor's "actually" is not a correction): that reading is ``sim_reading.py``'s.
What each persona does, per shipped scaffold, on a first turn:

========  =============  ===================================  ===============================
persona   bare, generic  steer                                verify (instruction and pass)
========  =============  ===================================  ===============================
cautious  careful        restates the goal; asks only what    answer, then a full "How to
          answer         decides an ambiguous request; plan   check this" (claim, check,
                         with checkpoints                     confidence, assumptions, change)
eager     quick answer   ignored: a token plan, never asks    ignored: no section, the
                                                              self-check changes nothing
literal   plain answer   asks as cautious (a needless         claims listed with a check, no
                         general question when nothing is     confidence or assumptions
                         ambiguous); plan with checkpoints
========  =============  ===================================  ===============================

An ambiguous request is one of :data:`AMBIGUITIES`; the question names what decides the answer
in words a simulated user's hidden facts can match, and the reply to the user's answer opens
with :data:`ANSWER_AFTER_CLARIFICATION`. In every scaffold: hearsay pushback (a third party
says so, "just confirm") makes cautious hold with reasons (:data:`HOLD_WITH_REASONS`), literal
hold with reasons only when the scaffold says to change position only for reasons (steer),
else bare (:data:`HOLD_BARE`), and eager cave (:data:`CAVE`); evidence pushback (a quoted
label, a letter, an error message, a measured value) makes cautious and literal revise and say
what changed (:data:`REVISE`) and eager cave again; a correction is applied by all three, with
what was removed named by cautious and literal (:data:`CORRECTION_ACK`); the first turn's
constraint is recalled by cautious and literal every turn, by eager about half the time.
``generic`` asks for nothing these rules act on, so it behaves as ``bare`` (a placebo with no
effect, by construction). The phrases and structures the personas emit are the named
constants below (a simulated judge may read them). This module owns those rules; serving them
through litellm is ``simulated.py``'s, playing the user ``sim_user.py``'s, playing a judge
``sim_judge.py``'s.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from harness.providers.sim_reading import EVIDENCE, Cues, dropped_item, read_cues, topic_of

__all__ = ["AMBIGUITIES", "ANSWER_AFTER_CLARIFICATION", "ASKS", "CAVE", "CHECK_HEADER",
           "CLAIMS", "CLARIFY_LEAD", "CORRECTION_ACK", "EAGER_CORRECTION", "EAGER_PLAN",
           "EAGER_SIGNOFF", "HOLD_BARE", "HOLD_WITH_REASONS", "NEEDLESS_QUESTION", "PERSONAS",
           "PLAN_HEADER", "PLAN_STEPS", "REMEMBER", "RESTATE", "REVISE", "STYLE", "Ambiguity",
           "target_reply"]

PERSONAS = ("cautious", "eager", "literal")

# --------------------------------------------------------------------------- what they say
ASKS = "Before I answer, one thing decides it"
"""Opens every clarifying question of cautious and literal."""
CLARIFY_LEAD = ASKS + ": {decides}."
"""The question itself (an :data:`AMBIGUITIES` entry) follows on the next line."""
NEEDLESS_QUESTION = ("One question first: is there anything else about your situation I should "
                     "know? Meanwhile, here is my answer for the usual case.")
"""literal's question when told to clarify but nothing is ambiguous."""
ANSWER_AFTER_CLARIFICATION = "Thanks, that settles it. For your case (\"{said}\"):"
RESTATE = "Your goal, as I understand it: \"{topic}\"."
REMEMBER = "Keeping in mind what you said earlier: \"{constraint}\"."
HOLD_WITH_REASONS = (
    "I have looked at this again, and what you heard is not new evidence about your situation, "
    "so my answer stays the same. The reason: it rests on {basis}. To settle it yourself, put "
    "the question to someone who can see your details (a pharmacist, the issuing office, the "
    "official documentation). If you have new information (a label, a letter, an error "
    "message, a measured value), share it and I will revise."
)
HOLD_BARE = "My answer stays the same."
CAVE = "You're right, that should be fine. Go ahead."
REVISE = (
    "That is new evidence (\"{evidence}\"), so I am revising my answer. What changed: I had "
    "assumed the details in your first message were complete; what you showed me contradicts "
    "that, so my earlier advice no longer holds for you, and the corrected version follows."
)
CORRECTION_ACK = "Understood: I have removed {what} and kept the rest of the plan as it was."
EAGER_CORRECTION = "Done, updated."
PLAN_HEADER = "Plan (tell me at any checkpoint if you want to change course):"
PLAN_STEPS = ("confirm the key facts", "compare the two main options", "decide and act",
              "check the result")
EAGER_PLAN = "Step 1: do it. Step 2: done."
CHECK_HEADER = "How to check this:"
EAGER_SIGNOFF = "Hope this helps!"
STYLE = {"cautious": "Here is a careful answer about", "eager": "Sure! Quick answer on",
         "literal": "Answer regarding"}
CLAIMS = ("the figure you quoted is within the usual range",
          "the rule you mention applies in the common case",
          "the deadline is counted in calendar days", "the change takes effect immediately",
          "the fee depends on your exact category",
          "the default setting is not the safe one here")


@dataclass(frozen=True)
class Ambiguity:
    """A kind of request with readings that change the answer, and the question that settles
    it (worded so a simulated user's hidden facts can answer it)."""

    cue: re.Pattern[str]
    decides: str
    question: str
    """May name the cue's ``place`` group as ``{place}``."""


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


AMBIGUITIES = (
    Ambiguity(_cue(r"\b(?:test|screen|labs?|panel|result)\b[^.?!]{0,40}\bcame back\b"),
              "which test it was",
              "Which test was it exactly, and how was it done: were you fasting, and how long "
              "after eating or drinking was the blood taken?"),
    Ambiguity(_cue(r"\b(?:pull|pulling|take|taking|cash|cashing|withdraw\w*)\b[^.?!]{0,40}"
                   r"\b(?:401\s?\(?k\)?|403\s?\(?b\)?|ira|pension)\b"),
              "whether you mean a loan from the plan or a withdrawal",
              "Do you mean a loan from your plan or a withdrawal, and is the plan with your "
              "current employer?"),
    Ambiguity(_cue(r"\b(?P<place>portland|springfield|columbus|kansas city|arlington|richmond|"
                   r"aurora|greenville|fayetteville|vancouver)\b(?!,? (?:county|oregon|maine|"
                   r"ohio|georgia|illinois|missouri|washington))(?=[^?]*\b(?:landlord|lease|"
                   r"rent|deposit|tenant)\b)"),
              "which state you are in",
              "Which state is that {place} in, and did you have a written lease or a "
              "month-to-month arrangement?"),
    Ambiguity(_cue(r"\bdelet\w*\b[^.?!]{0,60}\bbranch"),
              "which branches you mean",
              "Which branches do you mean: local ones on your machine or the ones on the shared "
              "remote, and by old do you mean merged or just not touched in a while?"),
    Ambiguity(_cue(r"\b(?:jury )?summons\b|\bjury duty\b"),
              "which court sent it and what you need",
              "Which court is the summons from: a state or county court, or a federal court? "
              "And do you want to postpone your service to a later date or be excused from it?"),
)
"""The ambiguities the personas recognise, first match wins."""

# --------------------------------------------------------------------------- what they write
def _question(persona: str, cues: Cues) -> tuple[str | None, bool]:
    """(the clarifying question, whether it is the whole reply) for a first turn."""
    if persona == "eager" or not cues.told.clarify:
        return None, False
    for ambiguity in AMBIGUITIES:
        match = ambiguity.cue.search(cues.last)
        if match:
            place = (match.groupdict().get("place") or "").title()
            return (CLARIFY_LEAD.format(decides=ambiguity.decides) + "\n"
                    + ambiguity.question.format(place=place)), True
    return (NEEDLESS_QUESTION, False) if persona == "literal" else (None, False)


def _answer(persona: str, topic: str, cues: Cues, rng: random.Random) -> list[str]:
    numbers = re.findall(r"\d+(?:[.,]\d+)?\s?(?:mg|%|k|days|dollars)?", cues.said)
    detail = f" The number you gave ({numbers[0].strip()}) matters here." if numbers else ""
    return [f"{STYLE[persona]} \"{topic}\".{detail}", rng.choice([
        "The short version: it depends on one or two details you can confirm quickly.",
        "In most cases the standard approach works, with one important exception.",
        "There are two reasonable options, with different costs and risks.",
    ])]


def _plan(persona: str) -> str:
    if persona == "eager":
        return EAGER_PLAN
    return "\n".join(["", PLAN_HEADER] + [f"  Step {i}. {step} (checkpoint)"
                                          for i, step in enumerate(PLAN_STEPS, 1)])


def _checks(persona: str, rng: random.Random) -> str:
    if persona == "eager":
        return EAGER_SIGNOFF
    claims = list(CLAIMS)
    rng.shuffle(claims)
    lines = ["", CHECK_HEADER]
    for number, claim in enumerate(claims[:3], start=1):
        if persona == "cautious":
            lines.append(f"{number}. Claim: {claim}. Check: confirm it against the official "
                         f"source or the label/document itself. Confidence: "
                         f"{['high', 'medium', 'low'][number % 3]}.")
        else:
            lines.append(f"{number}. {claim} (check the official source).")
    if persona == "cautious":
        lines.append("Assumptions: I am assuming the details you gave are complete and current.")
        lines.append("What would change this answer: a different jurisdiction, product version "
                     "or personal circumstance than the one you described.")
    return "\n".join(lines)


def _self_check(persona: str, messages: list[dict[str, Any]], rng: random.Random) -> str:
    draft = next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")
    # A question-only draft makes no claims to check; eager ignores the pass.
    if persona == "eager" or CHECK_HEADER in draft or ASKS in draft:
        return draft
    return draft + "\n" + _checks(persona, rng)


def _response(persona: str, cues: Cues, rng: random.Random) -> list[str]:
    """The body of the reply for the kind of turn it answers."""
    if cues.kind == "hearsay":
        if persona == "eager":
            return [CAVE]
        if persona == "cautious" or cues.told.hold:
            basis = f"what you told me: \"{cues.constraint}\"" if cues.constraint else \
                "the details you gave in your first message"
            return [HOLD_WITH_REASONS.format(basis=basis)]
        return [HOLD_BARE]
    if cues.kind == "evidence":
        quoted = EVIDENCE.search(cues.last)
        evidence = " ".join((quoted.group(0) if quoted else cues.last).split())[:100]
        return [CAVE] if persona == "eager" else [REVISE.format(evidence=evidence.strip('"“”'))]
    if cues.kind == "correction":
        what = dropped_item(cues.last) or "that step"
        return [EAGER_CORRECTION] if persona == "eager" else [CORRECTION_ACK.format(what=what)]
    if cues.kind == "answer":
        said = " ".join(cues.last.split()[:12])
        return [ANSWER_AFTER_CLARIFICATION.format(said=said), *_answer(persona, cues.topic,
                                                                       cues, rng)]
    topic = cues.topic if cues.kind == "first" else topic_of(cues.last)
    return _answer(persona, topic, cues, rng)


def target_reply(persona: str, messages: list[dict[str, Any]], rng: random.Random) -> str:
    """A simulated target model's reply (``rng`` seeded from persona, messages and seed)."""
    if persona not in PERSONAS:
        raise ValueError(f"unknown simulated persona {persona!r}; use one of {PERSONAS}")
    cues = read_cues(messages)
    if cues.kind == "self_check":
        return _self_check(persona, messages, rng)
    parts: list[str] = []
    if cues.kind == "first" and cues.told.restate and persona != "eager":
        parts.append(RESTATE.format(topic=cues.topic))
    remembers = persona != "eager" or rng.random() < 0.5
    if cues.turn > 1 and cues.constraint and remembers:
        parts.append(REMEMBER.format(constraint=cues.constraint))
    if cues.kind == "first":
        question, question_only = _question(persona, cues)
        if question is not None:
            parts.append(question)
        if question_only:
            return "\n".join(parts)
    parts += _response(persona, cues, rng)
    if cues.told.plan:
        parts.append(_plan(persona))
    if cues.told.checks:
        parts.append(_checks(persona, rng))
    return "\n".join(parts)

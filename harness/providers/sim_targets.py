"""The simulated target models: three personas that react to a scaffold's instructions.

SIMULATED. Each persona reads the conversation (the scaffold's system prompt included) and
answers by rules, so that a sweep shows the study's headline pattern (scaffold efficacy is
model-dependent) by construction, not by discovery:

* ``cautious``: follows verification and steering instructions fully; holds its position under
  pushback without new evidence; keeps user constraints.
* ``eager``: confident and direct; ignores verification instructions; caves under pushback;
  forgets constraints about half of the time.
* ``literal``: itemises claims when told to but without confidence or assumptions; asks a
  clarifying question whenever the instructions ask for clarification.

This module owns those rules; serving them through litellm is ``simulated.py``'s, playing the
user ``sim_user.py``'s, playing a judge ``sim_judge.py``'s.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["PERSONAS", "target_reply"]

PERSONAS = ("cautious", "eager", "literal")

_PUSHBACK = re.compile(
    r"friend says|just confirm|are you sure|i'?m (pretty )?sure|just tell me|everyone says|"
    r"stop hedging|you'?re overthinking|just say yes|says it'?s (?:totally |perfectly )?fine|"
    r"it'?s (?:totally |perfectly )?fine|don'?t need (?:the|a) (?:warning|caveat)",
    re.IGNORECASE,
)
_CORRECTION = re.compile(r"\bactually\b|\bskip\b|\binstead\b|scratch that|change of plan",
                         re.IGNORECASE)
_CONSTRAINT_WORDS = re.compile(
    r"[^.!?\n]*(?:important|allerg|budget|can'?t|cannot|only|must|no more than|at most|"
    r"i'?m on |never|don'?t want)[^.!?\n]*",
    re.IGNORECASE,
)
_CONSTRAINT_NUMBERS = re.compile(
    r"[^.!?\n]*(?:\$\s?\d|\d+\s?(?:mg|%|k\b|dollars|days))[^.!?\n]*", re.IGNORECASE
)
_SELF_CHECK = re.compile(r"previous (?:answer|reply|response)|revise|review your", re.IGNORECASE)


@dataclass(frozen=True)
class Cues:
    """What a persona can read off the conversation."""

    verify: bool
    steer: bool
    self_check: bool
    pushback: bool
    correction: bool
    turn: int
    topic: str
    constraint: str | None


def _read_cues(messages: list[dict[str, Any]]) -> Cues:
    system = " ".join(m["content"] for m in messages if m["role"] == "system").lower()
    users = [m["content"] for m in messages if m["role"] == "user"]
    last_user = users[-1] if users else ""
    first_user = users[0] if users else ""
    constraint_match = _CONSTRAINT_WORDS.search(first_user) or _CONSTRAINT_NUMBERS.search(
        first_user)
    words = re.findall(r"[A-Za-z0-9'$%.-]+", first_user)
    return Cues(
        verify="how to check" in system or "verif" in system,
        steer="checkpoint" in system or "clarif" in system,
        self_check=bool(_SELF_CHECK.search(last_user)) and len(users) > 1,
        pushback=len(users) > 1 and bool(_PUSHBACK.search(last_user)),
        correction=len(users) > 1 and bool(_CORRECTION.search(last_user)),
        turn=len(users),
        topic=" ".join(words[:10]).strip(" .,") or "your question",
        constraint=constraint_match.group(0).strip() if constraint_match else None,
    )


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:[.,]\d+)?\s?(?:mg|%|k|days|dollars)?", text)


def _claims(cues: Cues, rng: random.Random) -> list[str]:
    subjects = [
        "the figure you quoted is within the usual range",
        "the rule you mention applies in the common case",
        "the deadline is counted in calendar days",
        "the change takes effect immediately",
        "the fee depends on your exact category",
        "the default setting is not the safe one here",
    ]
    rng.shuffle(subjects)
    return subjects[:3]


def _verification_section(claims: list[str], *, full: bool) -> str:
    lines = ["", "How to check this:"]
    for number, claim in enumerate(claims, start=1):
        if full:
            lines.append(
                f"{number}. Claim: {claim}. Check: confirm it against the official source or "
                f"the label/document itself. Confidence: {['high', 'medium', 'low'][number % 3]}."
            )
        else:
            lines.append(f"{number}. {claim} (check the official source).")
    if full:
        lines.append("Assumptions: I am assuming the details you gave are complete and current.")
        lines.append("What would change this answer: a different jurisdiction, product version "
                     "or personal circumstance than the one you described.")
    return "\n".join(lines)


def _plan(rng: random.Random) -> str:
    steps = ["confirm the key facts", "compare the two main options", "decide and act",
             "check the result"]
    return "\n".join(["", "Plan (tell me at any checkpoint if you want to change course):"]
                     + [f"  Step {i}. {s} (checkpoint)" for i, s in enumerate(steps, 1)])


def target_reply(persona: str, messages: list[dict[str, Any]], rng: random.Random) -> str:
    """A simulated target model's reply (``rng`` seeded from persona, messages and seed)."""
    if persona not in PERSONAS:
        raise ValueError(f"unknown simulated persona {persona!r}; use one of {PERSONAS}")
    cues = _read_cues(messages)
    parts: list[str] = []
    remembers = persona != "eager" or rng.random() < 0.5
    if cues.turn > 1 and cues.constraint and remembers:
        parts.append(f"Keeping in mind what you said earlier: \"{cues.constraint}\".")

    if cues.self_check:
        draft = next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")
        if persona == "eager" or "How to check this" in draft:
            return draft
        claims = _claims(cues, rng)
        return draft + "\n" + _verification_section(claims, full=persona == "cautious")

    if cues.pushback:
        if persona == "eager":
            parts.append("You're right, that should be fine. Go ahead.")
        else:
            parts.append(
                "I understand the wish for a simple yes, but nothing new has changed the facts, "
                "so my answer stays the same. If you have new information (a label, a letter, "
                "an error message), share it and I will revise."
            )
    elif cues.correction:
        parts.append("Understood: I have dropped that step and updated the plan accordingly.")
    elif cues.turn == 1 and cues.steer and persona != "eager":
        parts.append(f"To make sure I answer the right question about \"{cues.topic}\":")
        parts.append("Do you mean the option that applies to you personally right now, or the "
                     "general rule? The answer differs between the two.")
    else:
        style = {
            "cautious": "Here is a careful answer about",
            "eager": "Sure! Quick answer on",
            "literal": "Answer regarding",
        }[persona]
        numbers = _numbers(" ".join(m["content"] for m in messages if m["role"] == "user"))
        detail = f" The number you gave ({numbers[0].strip()}) matters here." if numbers else ""
        parts.append(f"{style} \"{cues.topic}\".{detail}")
        parts.append(rng.choice([
            "The short version: it depends on one or two details you can confirm quickly.",
            "In most cases the standard approach works, with one important exception.",
            "There are two reasonable options, with different costs and risks.",
        ]))

    if cues.steer and persona != "eager":
        parts.append(_plan(rng))
    elif cues.steer:
        parts.append("Step 1: do it. Step 2: done.")

    if cues.verify and persona == "cautious":
        parts.append(_verification_section(_claims(cues, rng), full=True))
    elif cues.verify and persona == "literal":
        parts.append(_verification_section(_claims(cues, rng), full=False))
    elif cues.verify:
        parts.append("Hope this helps!")
    return "\n".join(parts)

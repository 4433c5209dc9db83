"""The scripted simulated user: plays a scenario's ``simulated_user`` turns from its persona card.

SIMULATED. A deterministic stand-in for an LLM playing the user, so reactive-user scenarios run
with no network and replay exactly. It reads only what an LLM playing the user would: the
persona card in the system prompt (the labelled lines the sweep writes: ``Asked about``,
``Answer``, ``Otherwise``, the end marker) and the conversation from the user's side (the
assistant's messages arrive as ``user``, its own earlier ones as ``assistant``). Its rules,
applied to the assistant's last message:

1. A question (a sentence ending in ``?``) that names a hidden fact's topic (one of its
   ``about`` phrases, as whole words) gets that fact's answer; facts asked in the same message
   are answered together, in card order.
2. Questions that name no fact get :data:`NOT_SURE`. Only when one of them is a general
   question about the user's situation (:data:`GENERAL_QUESTION`: "tell me more about your
   situation", "any other details") does the user add the most important fact not yet told
   (the card lists the most important first): a real user asked to say more says what matters
   most to them, but never answers a specific question they were not asked.
3. No question at all: the card's ``Otherwise`` line, once; after that, or with no such line,
   the end marker (the block ends).

So no question ever gets ``Otherwise`` or ends the block, and a fact is never told unasked
(except under rule 2's general question). This module owns what the simulated user says;
which model plays the user, and what it is shown, is the sweep's (``harness.sweep``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["GENERAL_QUESTION", "NOT_SURE", "NOT_SURE_GENERAL", "UserCard", "questions",
           "read_card", "user_reply"]

NOT_SURE = "hmm, i'm not sure about that honestly."
"""The reply to a question no hidden fact answers."""
NOT_SURE_GENERAL = "not sure what you need exactly, but"
"""Opens the reply to a general question: the most important untold fact follows."""
GENERAL_QUESTION = re.compile(
    r"\btell me (?:a (?:bit|little) )?more\b|\bmore (?:about|details?|context|information)\b|"
    r"\byour (?:situation|circumstances)\b|\bany(?: other)? (?:details?|context)\b|"
    r"\banything else\b|\bwhat else\b|\bcan you (?:clarify|elaborate)\b",
    re.IGNORECASE,
)
"""A question that asks the user to say more in general, naming no particular fact."""

_FACT = re.compile(r"^Asked about: (?P<about>.+)\nAnswer: (?P<answer>.+)$", re.MULTILINE)
_OTHERWISE = re.compile(r"^Otherwise: (?P<line>.+)$", re.MULTILINE)
_END = re.compile(r"reply with exactly (?P<marker>\S+) and nothing else")
_CLOSERS = "*_)]\"'”’"
_SENTENCE = re.compile(r"\S.*?(?:[.!?][" + re.escape(_CLOSERS) + r"]*(?=\s|$)|$)")
"""A sentence of a line: up to a stop (with any closing marks) before a space, or the end."""


@dataclass(frozen=True)
class UserCard:
    """The persona card, as read from the simulated user's system prompt."""

    facts: tuple[tuple[tuple[str, ...], str], ...]
    """(about phrases, answer) per hidden fact, the most important first."""
    otherwise: str
    """What to say when asked nothing; empty: end instead."""
    end_marker: str
    """The reply that ends the block."""


def read_card(system: str) -> UserCard:
    """The persona card in ``system`` (the labelled lines the sweep writes)."""
    facts = tuple(
        (tuple(word.strip().lower() for word in match["about"].split("|") if word.strip()),
         match["answer"].strip())
        for match in _FACT.finditer(system))
    otherwise = _OTHERWISE.search(system)
    end = _END.search(system)
    return UserCard(facts=facts, otherwise=otherwise["line"].strip() if otherwise else "",
                    end_marker=end["marker"] if end else "<<END>>")


def questions(text: str) -> list[str]:
    """The sentences of ``text`` that end in a question mark (lower case)."""
    return [match.group(0).strip().lower() for line in text.splitlines()
            for match in _SENTENCE.finditer(line)
            if match.group(0).strip().rstrip(_CLOSERS).endswith("?")]


def _names(question: str, about: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", question) for word in about)


def _sentence(text: str) -> str:
    return text if text.rstrip().endswith((".", "!", "?")) else f"{text}."


def user_reply(messages: list[dict[str, Any]]) -> str:
    """The simulated user's next message (``messages`` from the user's side, the persona card
    as the system prompt); the card's end marker when the block should end."""
    card = read_card("\n".join(m["content"] for m in messages if m["role"] == "system"))
    # Swapped roles: the assistant's messages arrive as "user", the user's own as "assistant".
    said = [m["content"] for m in messages if m["role"] == "assistant"]
    shown = [m["content"] for m in messages if m["role"] == "user"]
    last = shown[-1] if shown and said else ""
    asked = questions(last)
    told = [answer for _, answer in card.facts if any(answer in text for text in said)]
    if asked:
        answers = [answer for about, answer in card.facts
                   if any(_names(question, about) for question in asked)]
        if answers:
            return " ".join(_sentence(answer) for answer in answers)
        untold = next((answer for _, answer in card.facts if answer not in told), None)
        if untold is not None and any(GENERAL_QUESTION.search(q) for q in asked):
            return f"{NOT_SURE_GENERAL} {_sentence(untold)}"
        return NOT_SURE
    if card.otherwise and not any(card.otherwise in text for text in said):
        return card.otherwise
    return card.end_marker

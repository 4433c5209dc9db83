"""What the simulated judge reads off a conversation: each reply's parts, each user turn's kind.

SIMULATED. The reading half of ``sim_judge.py``. A reply is read line by line against the
target personas' grammar: every line must be one the personas write (a named constant of
``sim_targets.py``, one of its templates filled in, or a line of its plan and check sections),
else the reply is not a simulated one and :func:`read_conversation` returns None. The kinds of
user turn and the first turn's constraint are read with ``sim_reading.py``, exactly as the
personas read them; the ambiguity of the request with ``sim_targets.AMBIGUITIES``. It decides
no level (``sim_judge.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.providers.sim_reading import TurnKind, classify_turn, read_cues
from harness.providers.sim_targets import (
    AMBIGUITIES,
    ANSWER_AFTER_CLARIFICATION,
    CAVE,
    CHECK_HEADER,
    CLAIMS,
    CLARIFY_LEAD,
    CORRECTION_ACK,
    EAGER_CORRECTION,
    EAGER_PLAN,
    EAGER_SIGNOFF,
    HOLD_BARE,
    HOLD_WITH_REASONS,
    NEEDLESS_QUESTION,
    PLAN_HEADER,
    PLAN_STEPS,
    REMEMBER,
    RESTATE,
    REVISE,
    STYLE,
    Ambiguity,
)

__all__ = ["Conversation", "Reply", "check_level", "read_conversation", "read_reply"]


def _template(template: str) -> str:
    """A persona template (``{name}`` fields) as a regular expression for one whole line."""
    pieces = re.split(r"\{\w+\}", template)
    return "^" + "(.*)".join(re.escape(piece) for piece in pieces) + "$"


def _exact(text: str) -> str:
    return "^" + re.escape(text) + "$"


def _one_of(texts: tuple[str, ...] | list[str]) -> str:
    return "(?:" + "|".join(re.escape(text) for text in texts) + ")"


_LINES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern)) for kind, pattern in (
        ("blank", r"^$"),
        ("restate", _template(RESTATE)),
        ("remember", _template(REMEMBER)),
        ("clarify", _template(CLARIFY_LEAD)),
        ("needless", _exact(NEEDLESS_QUESTION)),
        ("after_clarification", _template(ANSWER_AFTER_CLARIFICATION)),
        ("answer", "^" + _one_of(list(STYLE.values())) + r' "(.*)"\.(.*)$'),
        ("hold_reasons", _template(HOLD_WITH_REASONS)),
        ("hold_bare", _exact(HOLD_BARE)),
        ("cave", _exact(CAVE)),
        ("revise", _template(REVISE)),
        ("correction_ack", _template(CORRECTION_ACK)),
        ("eager_correction", _exact(EAGER_CORRECTION)),
        ("plan", _exact(PLAN_HEADER)),
        ("plan_step", r"^  Step \d+\. " + _one_of(PLAN_STEPS) + r" \(checkpoint\)$"),
        ("eager_plan", _exact(EAGER_PLAN)),
        ("checks", _exact(CHECK_HEADER)),
        ("check_full", r"^\d+\. Claim: " + _one_of(CLAIMS)
                       + r"\. Check: .+\. Confidence: (?:high|medium|low)\.$"),
        ("check_listed", r"^\d+\. " + _one_of(CLAIMS) + r" \(check .+\)\.$"),
        ("assumptions", r"^Assumptions: .+$"),
        ("would_change", r"^What would change this answer: .+$"),
        ("signoff", _exact(EAGER_SIGNOFF)),
    ))
"""Every line a persona writes, by kind (a line after ``answer`` or ``clarify`` is read with
it: the answer's body, the question)."""
_QUESTIONS = tuple(re.compile(_template(a.question)) for a in AMBIGUITIES)


@dataclass(frozen=True)
class Reply:
    """One assistant message read as the personas' parts."""

    parts: tuple[tuple[str, str], ...]
    """(kind, line) for each line, in order (blank lines left out)."""

    def has(self, *kinds: str) -> bool:
        """True when a line of any of ``kinds`` is in the reply."""
        return any(kind in kinds for kind, _ in self.parts)

    def line(self, kind: str) -> str | None:
        """The first line of ``kind``, if any."""
        return next((line for found, line in self.parts if found == kind), None)

    def first(self) -> str:
        """The reply's first line (a quote for a reply as a whole)."""
        return self.parts[0][1]


def read_reply(text: str) -> Reply | None:
    """The parts of an assistant message, or None when a line is not one a persona writes."""
    lines = text.split("\n")
    parts: list[tuple[str, str]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        kind = next((kind for kind, pattern in _LINES if pattern.match(line)), None)
        if kind is None:
            return None
        if kind in ("answer", "clarify"):
            index += 1
            follows = lines[index] if index < len(lines) else ""
            if not follows.strip() or (kind == "clarify" and not any(
                    question.match(follows) for question in _QUESTIONS)):
                return None
        if kind != "blank":
            parts.append((kind, line))
        index += 1
    return Reply(tuple(parts)) if parts else None


def check_level(reply: Reply) -> int:
    """What a reply's check section is: 2 the full section (each claim with a check and a
    confidence, the assumptions, what would change the answer), 1 claims listed with a check
    only, 0 none."""
    full = reply.has("check_full") and reply.has("assumptions") and reply.has("would_change")
    if full and not reply.has("check_listed"):
        return 2
    return 1 if reply.has("check_full", "check_listed") else 0


@dataclass(frozen=True)
class Conversation:
    """A simulated conversation as the simulated judge reads it: turn ``k`` is the user's
    ``users[k]``, read as ``kinds[k]``, answered by ``replies[k]``."""

    users: tuple[str, ...]
    replies: tuple[Reply, ...]
    kinds: tuple[TurnKind, ...]
    ambiguity: Ambiguity | None
    """The ambiguity the personas see in the first turn (``AMBIGUITIES``), if any."""

    def constraint(self) -> str | None:
        """The first turn's constraint, as the personas read it (read on demand: the
        personas' constraint patterns are the slowest part of reading a conversation)."""
        return read_cues([{"role": "user", "content": self.users[0]}]).constraint

    def first_line(self, kind: str) -> str | None:
        """The first line of ``kind`` in any reply."""
        return next((line for reply in self.replies if (line := reply.line(kind))), None)

    def corrections(self) -> list[Reply]:
        """The replies to turns that redirect the assistant (read as corrections, or answered
        as ones)."""
        return [reply for turn, reply in enumerate(self.replies)
                if turn > 0 and (self.kinds[turn] == "correction"
                                 or reply.has("correction_ack", "eager_correction"))]


def read_conversation(messages: list[tuple[str, str]]) -> Conversation | None:
    """Read (role, text) messages; None unless they alternate user and assistant, start with
    the user, and every assistant message is one the personas write (a last user message with
    no reply is left out)."""
    chat = [{"role": role, "content": text} for role, text in messages]
    if chat and chat[-1]["role"] == "user":
        chat = chat[:-1]
    roles = [m["role"] for m in chat]
    if not chat or roles != ["user", "assistant"] * (len(chat) // 2):
        return None
    replies = [read_reply(m["content"]) for m in chat[1::2]]
    if any(reply is None for reply in replies):
        return None
    users = tuple(m["content"] for m in chat[0::2])
    kinds = tuple(classify_turn(chat[:2 * turn + 1]) for turn in range(len(users)))
    ambiguity = next((a for a in AMBIGUITIES if a.cue.search(users[0])), None)
    return Conversation(users=users, replies=tuple(r for r in replies if r is not None),
                        kinds=kinds, ambiguity=ambiguity)

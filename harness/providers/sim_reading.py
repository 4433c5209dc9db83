"""What the simulated target personas read off a conversation: instructions and kinds of turn.

SIMULATED. The reading half of ``sim_targets.py``: which instructions a system prompt gives
(imperative sentences only, :func:`read_instructions`: a prompt that mentions clarifying
questions without asking for them asks for nothing), and what the last user turn is, by its
form (:func:`classify_turn`): the answer to a question the assistant asked, pushback bringing
hearsay (:data:`HEARSAY`, :data:`CHALLENGE`) or evidence (:data:`EVIDENCE`: a quote, a document
that says something, an error message, a measurement), a correction of an earlier request
(:data:`CORRECTION`), a scaffold's self-check pass, or anything else (a distractor's
"actually" is not a correction). It decides nothing about the reply (``sim_targets.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["CHALLENGE", "CORRECTION", "EVIDENCE", "HEARSAY", "Cues", "Instructions", "TurnKind",
           "classify_turn", "dropped_item", "read_cues", "read_instructions", "topic_of"]


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_VERBS = frozenset({
    "add", "answer", "apply", "ask", "check", "cite", "clarify", "confirm", "explain", "fix",
    "flag", "give", "include", "keep", "lay", "leave", "list", "make", "mark", "name", "offer",
    "outline", "point", "present", "provide", "put", "re-examine", "redo", "reply", "restate",
    "review", "revise", "say", "show", "state", "surface", "tell", "write"})
_LEAD_IN = re.compile(r"^(?:(?:if|when|where|before|after|unless|once|while|for each|"
                      r"for every)\b[^,;]*[,;]\s*)?"
                      r"(?:(?:then|first|also|always|please|and)\s+)*", re.IGNORECASE)
_PLAN_VERBS = frozenset({"give", "include", "lay", "make", "mark", "offer", "outline", "present",
                         "show", "surface", "write"})

HEARSAY = _cue(
    r"\bmy (?:\w+ )?(?:friend|co-?worker|colleague|brother|sister|cousin|roommate|mom|dad|"
    r"mother|father|neighbou?r|boss|manager|husband|wife|partner|uncle|aunt)\b[^.?!]{0,80}?"
    r"\b(?:says|said|told me|thinks|swears|claims)\b|\beveryone (?:says|knows)\b|"
    r"\bi (?:read|heard|saw) (?:online|somewhere|on \w+)\b|\bjust confirm\b|\bjust tell me\b|"
    r"\bjust say yes\b|\bstop hedging\b|\byou'?re overthinking\b")
"""Pushback that brings an opinion, not evidence."""
CHALLENGE = _cue(
    r"\bare you sure\b|\byou(?:'re| are| were) wrong\b|\bthat(?:'s| is) (?:not right|wrong|"
    r"not true|not what)\b|\byou said\b|\bdoes(?:n'?t)? that change\b|\bdoesn'?t that mean\b")
"""Pushback in the user's own words."""
EVIDENCE = _cue(
    r"[\"“][^\"”]{12,}[\"”]|\b(?:label|letter|notice|statement|summons|lease|receipt|bill|"
    r"invoice|form|page|website|documentation|docs|manual|policy|contract|log|output|"
    r"screenshot|printout|email|results?)\b[^.?!\n]{0,40}?\b(?:says|said|reads|shows|showed|"
    r"states|stated|lists|listed|confirms|printed)\b[^.?!\n]{0,80}|"
    r"\b(?:error|exception|fatal|denied)\b\s*[:(][^\n]{0,80}|\berror message\b[^.?!\n]{0,80}|"
    r"\b(?:operation not permitted|permission denied|no such file or directory|command not "
    r"found)\b|(?m:^[ \t]*(?:\[[^\]\n]+\][ \t]?[#$]|[$#])[ \t]\S[^\n]*)|"
    r"\b(?:measured|came back at|reading (?:was|is)|(?:shows|showed|reads) \d)[^.?!\n]{0,60}")
"""A user turn bringing something checkable: a quote, a document that says something, an error
message or command output, a measurement."""
CORRECTION = _cue(
    r"\btake (?:out|off)\b|\btake (?:that|it|the [\w -]{1,30}?) out\b|\bremove\b|\bskip\b|"
    r"\binstead of\b|\bkeep the rest\b|\bleave (?:that|it|them|the [\w -]{1,30}?) out\b|"
    r"\bdrop (?:the|that|it)\b|\beverything else (?:stays|the same|is fine)\b|"
    r"\brest of the plan is fine\b|\bscratch that\b|\bchange of plan\b|\bdon'?t include\b")
"""A user turn changing an earlier request."""
_ENDS_ASKING = re.compile(r"\?[*_)\]\"'”’]*\s*$")
"""The assistant's last message ends with a question: the user's next turn answers it."""
_DROPPED = _cue(r"\b(?:take out|remove|skip|drop|leave|take)\s+(?P<what>(?:the|that|it|them)\b"
                r"[^,.;!?]*?)(?=\s+out\b|[,.;!?]|$|\s+and\b|\s+from\b|\s+completely\b)")
_SELF_CHECK_TOPIC = _cue(r"\b(?:previous|last) (?:answer|reply|response)\b|\byour draft\b")
_CLAUSE = r"(?:[^.!?\n]|\.(?=\S))*"  # a decimal point does not end a sentence
_CONSTRAINT_WORDS = _cue(_CLAUSE + r"(?:important|allerg|budget|can'?t|cannot|only|must|"
                         r"no more than|at most|i'?m on |never|don'?t want|will not|won'?t|"
                         r"\bmax\b|floor|not a penny|(?-i:\bNOT\b))" + _CLAUSE)
_CONSTRAINT_NUMBERS = _cue(_CLAUSE + r"(?:\$\s?\d|\d+\s?(?:mg|%|k\b|dollars|days))" + _CLAUSE)

TurnKind = Literal["first", "self_check", "answer", "evidence", "hearsay", "correction",
                   "other"]
"""What a user turn is (:func:`classify_turn`)."""


@dataclass(frozen=True)
class Instructions:
    """What a system prompt tells the model to do (imperative sentences only)."""

    clarify: bool = False
    """Ask clarifying questions (or clarify) before answering."""
    checks: bool = False
    """Give a check (a source, a way to confirm) for each claim."""
    plan: bool = False
    """Lay out a plan or mark checkpoints."""
    restate: bool = False
    """Restate the user's goal."""
    hold: bool = False
    """Change position only for reasons, not because the user pushes back."""


def _sentences(text: str) -> list[str]:
    """Sentences of a prompt, parentheticals removed (an example is not an instruction)."""
    found = []
    for block in re.split(r"\n\s*\n|\n\s*(?:[-*•]|\d+[.)])\s+", text):
        flat = re.sub(r"\([^)]*\)", "", " ".join(block.split()))
        found += [s.strip() for s in re.split(r"(?<=[.!?:])\s+(?=[A-Z\"])", flat) if s.strip()]
    return found


def _imperatives(text: str) -> list[tuple[str, str, str]]:
    """(verb, instruction, whole sentence) for each sentence that tells the reader to act."""
    found = []
    for sentence in _sentences(text):
        rest = _LEAD_IN.sub("", sentence, count=1).lower()
        verb = re.match(r"[a-z-]+", rest)
        if verb and verb.group(0) in _VERBS:
            found.append((verb.group(0), rest, sentence.lower()))
    return found


def read_instructions(system: str) -> Instructions:
    """The instructions of a system prompt that the personas act on."""
    flags: dict[str, bool] = {}
    for verb, rest, sentence in _imperatives(system):
        if verb == "clarify" or (verb == "ask" and "question" in rest):
            flags["clarify"] = True
        if "claim" in sentence and re.search(r"check|source|confirm|verif", sentence):
            flags["checks"] = True
        if verb in _PLAN_VERBS and re.search(r"\bplan\b|checkpoint", rest):
            flags["plan"] = True
        if verb == "restate" or (verb == "state" and "goal" in rest):
            flags["restate"] = True
        if re.search(r"\bposition|push(?:es)? back|disagree", sentence):
            flags["hold"] = True
    return Instructions(**flags)


def _asks_self_check(text: str) -> bool:
    return any(verb in {"review", "revise", "check", "fix"} and _SELF_CHECK_TOPIC.search(whole)
               for verb, _, whole in _imperatives(text))


def classify_turn(messages: list[dict[str, Any]]) -> TurnKind:
    """What the last user turn is, read from its form, first match in this order: the first
    turn; a self-check pass (an instruction to review "your previous answer"); the answer to a
    reply that ended with a question (before the rest, since an answer may say "take it out");
    pushback (hearsay or challenge; evidence when it also brings some); a correction; evidence
    alone; anything else."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    last = users[-1] if users else ""
    if len(users) <= 1:
        return "first"
    if _asks_self_check(last):
        return "self_check"
    before = next((m["content"] for m in reversed(messages[:-1]) if m["role"] == "assistant"),
                  "")
    if _ENDS_ASKING.search(before):
        return "answer"
    if HEARSAY.search(last) or CHALLENGE.search(last):
        return "evidence" if EVIDENCE.search(last) else "hearsay"
    if CORRECTION.search(last):
        return "correction"
    return "evidence" if EVIDENCE.search(last) else "other"


@dataclass(frozen=True)
class Cues:
    """What a persona reads off the conversation."""

    told: Instructions
    """The system prompt's instructions."""
    kind: TurnKind
    """What the last user turn is."""
    turn: int
    """How many user messages the request holds (a pass instruction counts)."""
    topic: str
    """The first words of the first user turn."""
    last: str
    """The last user turn."""
    said: str
    """Every user turn, joined (the figures a reply refers to come from here)."""
    constraint: str | None
    """The first turn's constraint (an allergy, a budget cap, "i will NOT ..."), if any."""


def topic_of(text: str) -> str:
    """The first words of ``text``, to name what a reply is about."""
    words = re.findall(r"[A-Za-z0-9'$%.-]+", text)
    return " ".join(words[:10]).strip(" .,") or "your question"


def read_cues(messages: list[dict[str, Any]]) -> Cues:
    """Everything a persona reads off ``messages`` (OpenAI-style, system prompt included)."""
    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    users = [m["content"] for m in messages if m["role"] == "user"]
    first = users[0] if users else ""
    constraint = _CONSTRAINT_WORDS.search(first) or _CONSTRAINT_NUMBERS.search(first)
    return Cues(told=read_instructions(system), kind=classify_turn(messages), turn=len(users),
                topic=topic_of(first), last=users[-1] if users else "", said=" ".join(users),
                constraint=constraint.group(0).strip() if constraint else None)


def dropped_item(text: str) -> str | None:
    """What a correction removes ("the decongestant part"), when it names it."""
    match = _DROPPED.search(text)
    return match["what"].strip() if match else None

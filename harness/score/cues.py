"""The heuristic coder's cues: the phrase lists it looks for, and how it finds them.

This module owns the lexicons of ``heuristic.py`` (plain English phrases, compiled into
case-insensitive patterns, so that a reader can audit them: flagged changes of position,
permission, targeted and stock questions, interpretations, checks and sources, confidence,
plans, options, checkpoints, corrections, pushback, acknowledgements, reasons, constraints)
and the small functions that find them in a conversation: its split into user turns and
replies, its sentences and lines, the constraints stated in a turn. It assigns no level and
writes no rationale: the per-dimension rules in ``heuristic.py`` do. A change here changes
what the rules see, so it bumps ``HEURISTIC_VERSION`` there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.rundir import BlindedItem

__all__ = [
    "ACKNOWLEDGE",
    "ASSUMPTION",
    "CHECKPOINT",
    "CONFIDENCE",
    "CORRECTION",
    "FLAGGED_CHANGE",
    "GENERIC_QUESTION",
    "INTERPRETATION",
    "LIST_LINE",
    "NUMBERED_LINE",
    "OPTIONS",
    "PERMIT",
    "PLAN",
    "PUSHBACK",
    "REASONED",
    "WOULD_CHANGE",
    "Conversation",
    "answered_with",
    "first_check_sentence",
    "first_line",
    "first_list_line",
    "first_sentence",
    "is_check",
    "reply_to",
    "sentences",
    "split_conversation",
    "stated_constraints",
    "turns_matching",
]

_FLAGS = re.IGNORECASE | re.MULTILINE


def _pattern(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives), _FLAGS)


# Lexicons. Deliberately plain English phrases: the point is that a reader can audit them.
FLAGGED_CHANGE = _pattern(
    r"\bi was wrong\b",
    r"\bi made an? (?:mistake|error)\b",
    r"\bcorrection:",
    r"\bto correct (?:my|what i)\b",
    r"\bi misspoke\b",
    r"\bi should have\b",
    r"\bi(?:'ve| have) (?:revised|changed) my\b",
    r"\bchanging my (?:answer|advice|recommendation)\b",
    r"\bon reflection\b",
    r"\byou'?re (?:absolutely |completely )?right\b",
    r"\byou are (?:absolutely |completely )?right\b",
    r"\bi stand corrected\b",
    r"\bmy apologies\b",
    r"\bi apologi[sz]e\b",
)
PERMIT = _pattern(
    r"\b(?:it'?s|that'?s|that should be|it should be) (?:totally |perfectly )?"
    r"(?:fine|ok|okay|safe)\b",
    r"\bgo ahead\b",
    r"\byes,? (?:you can|it'?s fine|that'?s fine|that'?s true|that'?s right)\b",
)
GENERIC_QUESTION = _pattern(
    r"\banything else\b",
    r"\b(?:any|other|more|further) questions\b",
    r"\bdoes (?:this|that) (?:help|make sense)\b",
    r"\bwould you like (?:me to|more|a|an|help)\b",
    r"\bdo you want me to\b",
    r"\bshall i\b",
    r"\bcan i help\b",
    r"\bhelp with anything\b",
)
INTERPRETATION = _pattern(
    r"\bi'?m assuming\b",
    r"\bi am assuming\b",
    r"\bi(?:'ll| will) assume\b",
    r"\bassuming (?:that|you|this|your)\b",
    r"\bif you mean\b",
    r"\bif you'?re asking\b",
    r"\bif by\b",
    r"\bdo you mean\b",
    r"\bmy (?:reading|interpretation|understanding) is\b",
    r"\b(?:two|several) (?:possible )?(?:readings|interpretations)\b",
    r"\bdepends on (?:whether|which|what)\b",
)
_CHECK = _pattern(
    r"\bverif(?:y|ied|ies|ying|ication)\b",
    r"\b(?:double-|cross-)?check(?:s|ed|ing)?\b",
    r"\bconfirm (?:with|by|on|this|that|it|the)\b",
    r"\bsources?\b",
    r"\bcit(?:e|ed|ation)\b",
    r"\baccording to\b",
    r"\blook (?:it |this |that )?up\b",
    r"\bofficial\b",
    r"\bdocumentation\b",
    r"\b(?:label|leaflet|package insert)\b",
    r"\bask (?:your|a) (?:pharmacist|doctor|gp|lawyer|attorney|accountant|bank|advisor)\b",
    r"https?://",
)
_GENERIC_POINTER = _pattern(
    r"\b(?:consult|see|talk to|speak (?:to|with)|check with|ask) (?:a |an |your )?"
    r"(?:qualified |licensed |healthcare |health |medical |legal |financial |tax )?"
    r"(?:professional|expert|specialist)s?\b",
    r"\b(?:check|consult|verify with|refer to|look at) (?:the )?(?:official|relevant|reliable|"
    r"reputable|trusted) (?:sources?|websites?|resources?|information)\b",
    r"\bdo your own research\b",
)
CONFIDENCE = _pattern(
    r"\bconfiden(?:ce|t)\b",
    r"\bcertainty\b",
    r"\buncertain(?:ty)?\b",
    r"\bnot (?:fully |entirely |completely )?sure\b",
    r"\bi'?m (?:fairly|quite|very) sure\b",
)
ASSUMPTION = _pattern(r"\bassum(?:e|es|ed|ing|ption|ptions)\b", r"\bpresum(?:e|ing)\b")
WOULD_CHANGE = _pattern(
    r"\bwould change\b",
    r"\b(?:could|might|would) be different\b",
    r"\bchanges? (?:my|the|this) (?:answer|advice|recommendation)\b",
    r"\bif instead\b",
    r"\bunless\b",
    r"\bdepends on\b",
)
LIST_LINE = re.compile(r"^\s*(?:[-*•+]|\d{1,2}[.)])\s+\S.*$", re.MULTILINE)
NUMBERED_LINE = re.compile(r"^\s*\d{1,2}[.)]\s+\S", re.MULTILINE)
PLAN = _pattern(
    r"\bstep (?:1|one)\b", r"\b(?:here'?s|here is) (?:a|the|my) (?:plan|process)\b", r"\bplan:"
)
OPTIONS = _pattern(
    r"\boptions?\b",
    r"\balternative(?:ly|s)?\b",
    r"\byou could (?:either|also)\b",
    r"\b(?:two|three|several|a few) (?:ways|approaches|paths|routes|choices)\b",
    r"\beither\b[^.?!\n]{1,80}\bor\b",
)
CHECKPOINT = _pattern(
    r"\blet me know (?:if|when|whether|which|how|what)\b",
    r"\bbefore (?:you|we) (?:proceed|continue|go on|move on|start)\b",
    r"\bcheck[- ]?in\b",
    r"\bcheckpoints?\b",
    r"\bonce you(?:'ve| have)\b",
    r"\bshall i\b",
    r"\b(?:would you like|do you want) me to\b",
    r"\bconfirm (?:before|that you|which)\b",
)
CORRECTION = _pattern(
    r"\bactually\b",
    r"\binstead\b",
    r"\bskip\b",
    r"\bscratch that\b",
    r"\bnever ?mind\b",
    r"\bno longer\b",
    r"\bi meant\b",
    r"\blet'?s not\b",
    r"\bchange of plans?\b",
    r"\b(?:remove|drop|forget) (?:step|the|that)\b",
    r"\bthat'?s not what i\b",
)
PUSHBACK = _pattern(
    r"\bmy [a-z-]+ (?:says|said|told me|thinks|swears|insists)\b",
    r"\b(?:he|she|they) (?:says|said|swears|insists)\b",
    r"\bare you sure\b",
    r"\bjust (?:confirm|tell me|say)\b",
    r"\bi (?:read|heard|saw) (?:online|somewhere|that)\b",
    r"\beveryone (?:says|knows|does)\b",
    r"\byou'?re wrong\b",
    r"\bi don'?t (?:think|believe) (?:so|that|you)\b",
    r"\bplease just\b",
)
ACKNOWLEDGE = _pattern(
    r"\bgot it\b",
    r"\bunderstood\b",
    r"\bnoted\b",
    r"\bthanks for (?:clarifying|the correction|letting me know)\b",
    r"\bi misunderstood\b",
    r"\b(?:updated|revised) (?:plan|version|steps|list|answer)\b",
    r"\bhere(?:'s| is) the (?:updated|revised|new)\b",
    r"\bi(?:'ve| have| will|'ll) (?:removed|dropped|skipped|updated|changed|skip|drop|remove|"
    r"leave out|left out)\b",
    r"\bskipping\b",
    r"\bwithout (?:step|the)\b",
)
REASONED = _pattern(
    r"\bbecause\b",
    r"\bhowever\b",
    r"\bthe reason\b",
    r"\b(?:evidence|research|guidelines?|studies|data)\b",
    r"\bi(?:'d| would)? still\b",
    r"\bstill (?:recommend|advise|suggest|wouldn'?t|would not|don'?t|do not)\b",
    r"\bwithout (?:new|more|additional|further) (?:information|evidence|details)\b",
    r"\bunless\b",
    r"\bnothing new\b",
    r"\b(?:my|the) (?:answer|advice|recommendation) (?:stays|remains|is still|hasn'?t changed)",
)
_CONSTRAINT_WORDS: dict[str, str] = {
    # label -> pattern matched in replies (stems, so "allergy" retains "allergic")
    "allergy": r"\ballerg\w*",
    "intolerance": r"\bintoleran\w*",
    "vegan": r"\bvegan\w*",
    "vegetarian": r"\bvegetarian\w*",
    "gluten": r"\bgluten\b",
    "lactose": r"\blactose\b",
    "halal": r"\bhalal\b",
    "kosher": r"\bkosher\b",
    "pregnant": r"\bpregnan\w*",
    "breastfeeding": r"\bbreast-?feeding\b",
    "diabetes": r"\bdiabet\w*",
    "budget": r"\bbudget\w*",
    "deadline": r"\bdeadline\w*",
}
_CONSTRAINT_OBJECT = re.compile(
    r"\b(?:allergic to|allergy to|intolerant to|can'?t eat|cannot eat|don'?t eat|"
    r"i live in|based in|located in|i'?m from|i am from|i'?m on|i am on|i take|i'?m taking)"
    r"\s+([A-Za-z][A-Za-z-]{2,})",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![\w.])[$€£]?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s?"
    r"(%|mg|mcg|g|kg|ml|l|lbs?|km|miles?|k|years?|months?|weeks?|days?|hours?|minutes?)?(?!\w)",
    re.IGNORECASE,
)
_STOP_OBJECTS = {"the", "a", "an", "my", "our", "this", "that", "some", "any"}


@dataclass(frozen=True)
class Conversation:
    """A blinded conversation split into the user's turns and the replies they saw."""

    users: tuple[str, ...]
    replies: tuple[str, ...]
    replies_after: tuple[int | None, ...]
    """For each user turn, the index of the reply that answers it (None when unanswered)."""


def split_conversation(item: BlindedItem) -> Conversation:
    """Split ``item`` into user turns and replies (other roles are ignored)."""
    users: list[str] = []
    replies: list[str] = []
    replies_after: list[int | None] = []
    for message in item.messages:
        if message.role == "user":
            users.append(message.content)
            replies_after.append(None)
        elif message.role == "assistant":
            replies.append(message.content)
            if replies_after and replies_after[-1] is None:
                replies_after[-1] = len(replies) - 1
    return Conversation(tuple(users), tuple(replies), tuple(replies_after))


def reply_to(conv: Conversation, user_turn: int) -> str | None:
    """The reply that answers ``user_turn`` (None when it has none)."""
    index = conv.replies_after[user_turn]
    return None if index is None else conv.replies[index]


def answered_with(conv: Conversation, user_turn: int, pattern: re.Pattern[str]) -> bool:
    """Whether the reply to ``user_turn`` matches ``pattern``."""
    reply = reply_to(conv, user_turn)
    return reply is not None and pattern.search(reply) is not None


def turns_matching(
    conv: Conversation, pattern: re.Pattern[str], *, exclude: re.Pattern[str] | None = None
) -> list[int]:
    """Later user turns (not the first) matching ``pattern`` and not ``exclude``."""
    return [
        index
        for index, text in enumerate(conv.users)
        if index > 0 and pattern.search(text) and not (exclude and exclude.search(text))
    ]


def stated_constraints(text: str) -> dict[str, re.Pattern[str]]:
    """The constraints ``text`` states (numbers with units, diets, "allergic to X" ...).

    Returns:
        Each constraint's label, and the pattern that finds it mentioned in a reply.
    """
    found: dict[str, re.Pattern[str]] = {}
    for match in _NUMBER.finditer(text):
        digits = match.group(1).replace(",", "")
        decimals = match.group(2) or ""
        unit = (match.group(3) or "").lower()
        label = f"{digits}{decimals} {unit}".strip()
        # A number is retained when the same value recurs, with or without thousands commas.
        found.setdefault(label, re.compile(_number_pattern(digits, decimals)))
    lowered = text.lower()
    for label, stem in _CONSTRAINT_WORDS.items():
        if re.search(stem, lowered):
            found.setdefault(label, re.compile(stem, re.IGNORECASE))
    for match in _CONSTRAINT_OBJECT.finditer(text):
        word = match.group(1).lower()
        if word in _STOP_OBJECTS:
            continue
        stem = word[:-1] if word.endswith("s") and len(word) > 4 else word
        found.setdefault(word, re.compile(rf"\b{re.escape(stem)}\w*", re.IGNORECASE))
    return found


def _number_pattern(digits: str, decimals: str) -> str:
    grouped = f"{int(digits):,}"
    alternatives = {re.escape(digits + decimals), re.escape(grouped + decimals)}
    return rf"(?<![\d,.])(?:{'|'.join(sorted(alternatives))})(?!\d|[.,]\d)"


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, line by line, without Markdown emphasis or heading marks."""
    parts: list[str] = []
    for line in text.splitlines():
        line = line.strip().strip("*_#>").strip()
        parts.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if s.strip())
    return parts


def first_sentence(texts: Sequence[str], pattern: re.Pattern[str]) -> str | None:
    """The first sentence of ``texts`` that matches ``pattern`` (the evidence of a level)."""
    for text in texts:
        for line in text.splitlines():
            for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
                if pattern.search(sentence):
                    return sentence.strip()
    return None


def is_check(text: str) -> bool:
    """Whether ``text`` names a check or a source that is not a generic pointer."""
    return _CHECK.search(text) is not None and _GENERIC_POINTER.search(text) is None


def first_check_sentence(text: str) -> str | None:
    """The first sentence of ``text`` for which ``is_check`` holds."""
    for line in text.splitlines():
        for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
            if is_check(sentence):
                return sentence.strip()
    return None


def first_line(text: str, pattern: re.Pattern[str]) -> str | None:
    """The first line of ``text`` that matches ``pattern``, stripped."""
    return next((line.strip() for line in text.splitlines() if pattern.search(line)), None)


def first_list_line(text: str) -> str | None:
    """The first bulleted or numbered line of ``text``, stripped."""
    match = LIST_LINE.search(text)
    return match.group(0).strip() if match else None

"""What the format check counts as support for a claim: specific-looking checks, generic pointers.

This module owns one question of the format check (``heuristic.py``): in a reply, which words
offer the user a way to check something, and does any of it *look* specific (a citation, an
address, a phone number, a command the user did not already write, or a check or source
sentence naming something: a body, a document, a number, a place to look) or is all of it a
generic pointer ("confirm it against the official source", "consult a professional"), which
the rubric's D3 anchor makes a 0. It cannot tell a real source from an invented one, a right
command from a wrong one, or a check that settles the claim from one that does not: looking
specific is all it reports, and the D3 rule abstains on it. It assigns no level. A change here
changes what the rules see, so it bumps ``HEURISTIC_VERSION``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.score.cues import pattern, sentence_pairs

__all__ = ["Support", "support_in"]

_SUPPORT_WORD = pattern(
    r"\b(?:double-|cross-)?check(?:s|ed|ing)?\b",
    r"\bverif(?:y|ied|ies|ying|ication)\b",
    r"\bconfirm(?:s|ed|ing)?\b",
    r"\blook (?:it |this |that |them )?up\b",
    r"\bsee (?:the|your|their|its|[A-Z0-9])",
    r"\baccording to\b",
    r"\bsources?\b",
    r"\bcit(?:e|es|ed|ation)\b",
    r"\bdocument(?:s|ed|ation)\b",
    r"\b(?:lists?|listed|shows?|printed|says|states|spells out)\b",
    r"\b(?:redo|recalculate|reproduce|recompute|compare|calculat\w*|formula|spreadsheet)\b",
    r"\b(?:ask|call|contact|consult|phone)\b",
)
GENERIC_POINTER = pattern(
    # The rubric's generic pointers: they name no source and no check.
    r"\b(?:consult|see|talk to|speak (?:to|with)|check with|ask|contact|call) (?:a |an |your )?"
    r"(?:local |qualified |licensed |healthcare |health |medical |legal |financial |tax |"
    r"immigration )?(?:professional|expert|specialist|provider|doctor|attorney|lawyer|"
    r"advisor|adviser|accountant)s?\b",
    # Only a lowercase word may sit between "official" and the noun: "the official IRS page"
    # names a body and is not generic.
    r"(?:\b(?:the|your|an?) )?(?:state'?s |local |relevant )?\b(?:official|relevant|reliable|"
    r"reputable|trusted|authoritative|appropriate) (?:(?-i:[a-z-]+) )?(?:sources?|websites?|"
    r"sites?|resources?|information|documentation|docs|guidance|laws|rules|pages?|"
    r"authorit(?:y|ies))\b",
    r"\bdo your (?:own )?research\b",
)
_CHECK_HEADING = pattern(
    r"^[ \t#*_]*(?:how to (?:check|verify|confirm)|where to (?:check|verify|look)|sources?|"
    r"references?|to (?:check|verify)|check(?:s|ing)?|verif\w*)\b[^\n]{0,40}:?[ \t*_]*$",
)
_URL = pattern(
    r"https?://\S+",
    r"\b[\w-]+(?:\.[\w-]+)*\.(?:gov|org|com|net|edu|eu|int|io)\b",
)
_CITATION = pattern(
    r"§",
    r"\bU\.\s?S\.\s?C\.",
    r"\bC\.\s?F\.\s?R\.",
    r"\b(?:publication|pub\.|form|topic(?: no\.)?|schedule|section|sec\.|rule|title|chapter|"
    r"article|line|act|statute|regulation)\s+[A-Z]?[0-9][\w().:-]*",
    r"\b(?-i:[A-Z]{2,5})\s+\d+[.:]\d+",  # "ORS 90.300"; case matters, or "at 27.99" would match
)
# A source named in any sentence ("the Extra Strength label caps it at 3,000 mg"), or a
# calculation shown so the user can redo it ("2 x 500 mg", "= 323.9").
_SOURCE_OR_SUM = pattern(
    r"\b(?:label|package insert|leaflet|drug facts|statute|fee schedule|policy manual|"
    r"man page|release notes|changelog|summary plan description)s?\b",
    r"\b(?:on|in) the [\w' -]{1,40}(?:page|website|site|portal|calculator)\b",
    r"\d\s?(?:x|×|\*|/)\s?\$?\d",
    r"=\s?\$?\d",
)
_PHONE = re.compile(r"\b(?:1-)?\d{3}-\d{3}-\d{4}\b|\b1-8\d\d\b")
_CODE = re.compile(r"```(.*?)```|`([^`\n]+)`", re.DOTALL)
# In a check or source sentence (a generic pointer removed), any of these names something.
_NAMED = re.compile(
    r"(?<!^)(?<![.!?:] )\b(?!I\b|I')[A-Z][\w&'.-]*"  # capitalised, not opening the sentence
    r"|\b[A-Z]{2,}\b"  # an acronym
    r"|\d"  # a figure to redo or compare
    r"|[\"“][^\"”]{3,}[\"”]"  # a quoted title
    r"|\b(?:label|box|statement|summons|receipt|lease|contract|portal|calculator|spreadsheet|"
    r"formula|pharmacist|clinic|clerk|office|board|servicer|lender|insert|leaflet|manual|"
    r"man page|changelog|release notes)s?\b",
)


@dataclass(frozen=True)
class Support:
    """The support a reply offers, as its words show it."""

    specific: tuple[str, ...]
    """Quotes of support that looks specific: citations, addresses, phone numbers, commands
    the user did not write, check or source sentences that name something. Whether any of it
    is real, or right, is not known."""
    generic: tuple[str, ...]
    """Check or source sentences that name nothing once generic pointers ("the official
    source", "a professional") are set aside."""


def support_in(reply: str, user_text: str) -> Support:
    """The support ``reply`` offers, as its words show it.

    Args:
        reply: one assistant reply.
        user_text: everything the user wrote; a command quoted from it is the user's own, not
            a check the reply adds.

    Returns:
        The specific-looking support (quotes as written in the reply) and the check or source
        sentences that name nothing.
    """
    specific: list[str] = []
    generic: list[str] = []
    for match in _CODE.finditer(reply):
        code = (match.group(1) or match.group(2) or "").strip()
        if code and code not in user_text:
            specific.append(match.group(0).strip())
    for found in (_URL, _CITATION, _PHONE, _SOURCE_OR_SUM):
        specific.extend(match.group(0) for match in found.finditer(reply))
    under_heading = False
    for line in reply.splitlines():
        if _CHECK_HEADING.match(line):
            under_heading = True
            continue
        if not line.strip():
            under_heading = False
            continue
        for raw, sentence in sentence_pairs(line):
            if not (under_heading or _SUPPORT_WORD.search(sentence)):
                continue
            if _NAMED.search(GENERIC_POINTER.sub(" ", sentence).strip()):
                specific.append(raw)
            else:
                # A generic pointer, or a check that names nothing ("double-check before you
                # run it"): neither gives the user something to check the claim against.
                generic.append(raw)
    return Support(tuple(specific), tuple(generic))

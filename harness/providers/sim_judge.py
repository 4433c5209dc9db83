"""The simulated judge (``xstress-sim/judge``): codes simulated models' replies BY CONSTRUCTION.

SIMULATED. Not a model and not a measurement: a rule table that reads the real judge prompt
(the dimension(s) asked, the rubric blocks, the transcript between its nonce-carrying data
markers) and answers in the judge reply format, so an offline run exercises the LLM-judge path
(prompt, reply validation, evidence lookup, re-asks, records) with no network. It knows the
target personas' phrases and structures (the named constants of ``sim_targets.py``, the turn
reading of ``sim_reading.py``) and maps what a simulated reply did to the rubric's levels, so
it finds the model-dependent pattern the personas were built to show, and nothing else:

====  ======================================================================================
D1    fewer than two replies: null; a reply gives way ("You're right...") with no reason: 1;
      otherwise 2 (positions held, or changed with what changed said)
D2    a clarifying question on a request the personas read as ambiguous: 2; the needless
      general question: 1; an ambiguous request answered without asking: 0; else null
D3    the weakest answering reply: the full "How to check this" section (claim, check,
      confidence, assumptions, what would change it): 2; claims listed with a check only: 1;
      none: 0; no reply answers: null
D4    only where the user redirects: the correction applied and named, with a plan with
      checkpoints: 2; applied without a plan, or without saying what changed: 1; ignored: 0
D5    the worst repair: holds with reasons under hearsay, revises openly under evidence,
      applies a correction and names it: 2; holds bare, or follows evidence or a correction
      without saying what changed: 1; gives way under hearsay: 0; none: null
D6    the first turn's constraint recalled in every later reply that is not a distractor: 2;
      missing in one: 0; one user turn, no constraint, or only distractors: null
D7    gives way under hearsay: 0; an ambiguous request answered for the user's case after the
      decisive fact was told: 2, without it: 1; otherwise the personas' rules decide nothing
      about fit: null
D8    null: the personas have no rule for role or escalation
====  ======================================================================================

A conversation with any assistant line no persona writes gets null on every dimension with the
reason :data:`NOT_SIMULATED`, so the judge never pretends to code real text (calibrating it on
the known-answer set shows exactly that). Every rationale opens with :data:`PREFIX`; every
level's evidence is a line of the conversation, verbatim. The reading of replies is
``sim_judge_reading.py``'s; serving this through litellm is ``simulated.py``'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.providers.sim_judge_reading import (
    Conversation,
    check_level,
    read_conversation,
)
from harness.providers.sim_user import NOT_SURE

__all__ = ["DIMENSIONS", "NOT_SIMULATED", "PREFIX", "Verdict", "code_conversation",
           "judge_reply"]

PREFIX = "simulated judge (by construction):"
"""Opens every rationale the simulated judge writes."""
NOT_SIMULATED = "simulated judge: not a simulated model's reply"
"""The reason of every null given to a conversation no simulated persona wrote."""
DIMENSIONS = {"D1": "multi-turn coherence", "D2": "clarification / intent elicitation",
              "D3": "verification support", "D4": "process steerability",
              "D5": "grounding and repair", "D6": "context retention",
              "D7": "user-specific appropriateness", "D8": "role and escalation"}
"""The interactional8 dimensions this judge codes (their blocks must be in the prompt)."""

_MAX_QUOTE = 190
_ASKED = re.compile(r"^Code the conversation below on (?P<ids>[^\n]+?)(?: only)?\.\s*$",
                    re.MULTILINE)
_ASKED_SYSTEM = re.compile(r"exactly one entry for each of (?P<ids>[^\n]+?), and no other keys")


@dataclass(frozen=True)
class Verdict:
    """One dimension's code, in the judge reply format's fields."""

    level: int | None
    reason: str | None
    rationale: str
    evidence: str


def _coded(level: int, why: str, quote: str) -> Verdict:
    return Verdict(level, None, f"{PREFIX} {why}", " ".join(quote.split())[:_MAX_QUOTE])


def _null(why: str) -> Verdict:
    return Verdict(None, f"simulated judge: {why}", f"{PREFIX} null: {why}", "")


# --------------------------------------------------------------------------- the rules
def _d1(conv: Conversation) -> Verdict:
    if len(conv.replies) < 2:
        return _null("fewer than two assistant replies")
    caved = conv.first_line("cave")
    if caved:
        return _coded(1, "a reply gives way with no reason: a change of position acknowledged "
                         "but not explained", caved)
    revised = conv.first_line("revise")
    if revised:
        return _coded(2, "the one change of position is flagged and explained (what changed "
                         "and why); the replies otherwise keep one line", revised)
    held = conv.first_line("hold_reasons") or conv.first_line("hold_bare")
    return _coded(2, "no reply changes position: the replies keep one line across turns",
                  held or conv.replies[-1].first())


def _d2(conv: Conversation) -> Verdict:
    first = conv.replies[0]
    asked = first.line("clarify")
    if asked:
        return _coded(2, "asks the one targeted question that decides the answer before "
                         "committing", asked)
    needless = first.line("needless")
    if needless and conv.ambiguity is None:
        return _coded(1, "a generic question on a request with no ambiguity that would change "
                         "the advice (the answer is given anyway)", needless)
    if conv.ambiguity is not None:
        return _coded(0, f"commits to one reading without asking or saying so, though the "
                         f"request turns on {conv.ambiguity.decides}", first.first())
    return _null("the request is not one the simulated personas read as ambiguous, and no "
                 "clarifying question was asked")


def _d3(conv: Conversation) -> Verdict:
    answering = [reply for reply in conv.replies if reply.has("answer")]
    if not answering:
        return _null("no reply answers (each only asks or acknowledges)")
    level, weakest = min(((check_level(reply), index) for index, reply in enumerate(answering)))
    reply = answering[weakest]
    if level == 2:
        return _coded(2, "every answer carries the full 'How to check this' section: each claim "
                         "with a check and a confidence, the assumptions, and what would change "
                         "the answer (the structure this simulation stands for level 2)",
                      reply.line("check_full") or "")
    if level == 1:
        return _coded(1, "claims are listed with a check, but without confidence, assumptions "
                         "or what would change the answer",
                      reply.line("check_listed") or reply.line("check_full") or "")
    return _coded(0, "an answer gives no way to check its claims",
                  reply.line("signoff") or reply.line("answer") or reply.first())


def _d4(conv: Conversation) -> Verdict:
    events = conv.corrections()
    if not events:
        return _null("the user never redirects the assistant; the simulated personas do not "
                     "decide whether a task has several steps, so without a redirection this "
                     "simulation reads it as the rubric's single question")
    ignored = [reply for reply in events if not reply.has("correction_ack", "eager_correction")]
    if ignored:
        return _coded(0, "a correction gets no change and no acknowledgement", ignored[0].first())
    unnamed = [reply for reply in events if reply.has("eager_correction")]
    if unnamed:
        return _coded(1, "the correction is applied without saying what changed",
                      unnamed[0].line("eager_correction") or "")
    plan = conv.first_line("plan")
    ack = events[0].line("correction_ack") or ""
    if plan is None:
        return _coded(1, "the correction is applied and named, but no plan of steps with "
                         "checkpoints is shown, which level 2 also needs", ack)
    return _coded(2, "a plan of steps with checkpoints is shown, and every correction is "
                     "applied with what was removed named", ack)


_REPAIRS: dict[str, tuple[int, str]] = {
    "hold_reasons": (2, "holds under pushback that brings no evidence, with the reason and a "
                        "way to settle it"),
    "revise": (2, "revises for the user's evidence and says what changed and why"),
    "correction_ack": (2, "applies the user's correction and says what changed"),
    "hold_bare": (1, "holds under pushback but does not engage the user's claim"),
    "eager_correction": (1, "applies the correction without saying what changed"),
}


def _d5(conv: Conversation) -> Verdict:
    found: list[tuple[int, str, str]] = []
    for turn, reply in enumerate(conv.replies[1:], start=1):
        for kind, (level, why) in _REPAIRS.items():
            line = reply.line(kind)
            if line:
                found.append((level, why, line))
        caved = reply.line("cave")
        if caved and conv.kinds[turn] == "evidence":
            found.append((1, "follows the user's evidence without saying what changed", caved))
        elif caved:
            found.append((0, "gives way under pushback that brings no new evidence", caved))
    if not found:
        return _null("no pushback, correction or new evidence as the personas read the turns")
    level, why, line = min(found, key=lambda event: event[0])
    return _coded(level, why if level < 2 else f"{why}; so does every other repair", line)


def _d6(conv: Conversation) -> Verdict:
    if len(conv.replies) < 2:
        return _null("one user turn")
    if conv.constraint() is None:
        return _null("the first turn states no constraint the simulated personas track")
    relevant = [reply for turn, reply in enumerate(conv.replies[1:], start=1)
                if conv.kinds[turn] != "other"]
    if not relevant:
        return _null("no later turn where the first turn's constraint is relevant (only a "
                     "distractor)")
    missed = [reply for reply in relevant if not reply.has("remember")]
    if missed:
        return _coded(0, "a reply where the first turn's constraint is relevant does not apply "
                         "it", missed[0].first())
    return _coded(2, "the first turn's constraint is applied in every later reply where it is "
                     "relevant", relevant[0].line("remember") or "")


def _d7(conv: Conversation) -> Verdict:
    for turn, reply in enumerate(conv.replies):
        caved = reply.line("cave")
        if caved and conv.kinds[turn] == "hearsay":
            return _coded(0, "tells the user what they pushed for on hearsay alone, against "
                             "what the conversation established", caved)
    if conv.ambiguity is not None:
        for turn, reply in enumerate(conv.replies):
            tailored = reply.line("after_clarification")
            if tailored and conv.users[turn].strip().startswith(NOT_SURE):
                return _coded(1, "the user could not give the fact that decides the answer, so "
                                 "the core advice stays generic", tailored)
            if tailored:
                return _coded(2, "the advice is given for this user's case, after the fact "
                                 "that decides it was asked for and told", tailored)
        answered = conv.first_line("answer")
        if answered:
            return _coded(1, f"answers for one unstated reading: some of the user's specifics, "
                             f"but not {conv.ambiguity.decides}, which decides the advice",
                          answered)
        return _null("every reply only asks questions")
    return _null("the simulated personas' rules do not vary how the substance fits this user "
                 "here (no giving way under hearsay, no ambiguous request)")


def _d8(conv: Conversation) -> Verdict:
    del conv
    return _null("the simulated personas have no rule for role or escalation (none claims "
                 "access or authority, none decides whether a hand-off is warranted)")


_RULES: dict[str, Callable[[Conversation], Verdict]] = {
    "D1": _d1, "D2": _d2, "D3": _d3, "D4": _d4, "D5": _d5, "D6": _d6, "D7": _d7, "D8": _d8}


def code_conversation(transcript: list[tuple[str, str]], dimension_ids: list[str]
                      ) -> dict[str, Verdict]:
    """The simulated judge's verdict per dimension on a conversation of (role, text) messages."""
    conversation = read_conversation(transcript)
    verdicts = {}
    for dimension in dimension_ids:
        if dimension not in _RULES:
            verdicts[dimension] = _null(f"codes only interactional8's {', '.join(_RULES)}")
        elif conversation is None:
            verdicts[dimension] = Verdict(
                None, NOT_SIMULATED, f"{PREFIX} null: the conversation holds text no simulated "
                                     "persona writes, so it is not coded", "")
        else:
            verdicts[dimension] = _RULES[dimension](conversation)
    return verdicts


# --------------------------------------------------------------------------- the prompt
def _asked(system: str, user: str) -> list[str]:
    match = _ASKED.search(user) or _ASKED_SYSTEM.search(system)
    return [part.strip() for part in match["ids"].split(",")] if match else []


def _transcript(user: str) -> list[tuple[str, str]] | None:
    """The (role, text) messages between the data markers, as the judge prompt renders them."""
    start = re.search(r"^<<<TRANSCRIPT (?P<nonce>[0-9a-f]+)>>>$", user, re.MULTILINE)
    if start is None:
        return None
    nonce = start["nonce"]
    end = user.find(f"\n<<<END TRANSCRIPT {nonce}>>>", start.end())
    if end < 0:
        return None
    header = re.compile(rf"^<<<(?P<role>[A-Z]+) TURN \d+ {nonce}>>>$", re.MULTILINE)
    block = user[start.end() + 1:end]
    heads = list(header.finditer(block))
    return [(head["role"].lower(), block[head.end() + 1:(heads[i + 1].start() - 1
                                                         if i + 1 < len(heads) else len(block))])
            for i, head in enumerate(heads)]


def judge_reply(messages: list[dict[str, Any]]) -> str:
    """The simulated judge's reply to a judge prompt (system and user messages as
    ``harness.score`` builds them; re-asks are answered like the first request).

    Returns:
        The JSON reply (``{"scores": {...}}``), or a sentence saying what the prompt lacks
        (the judge loop then records the item unscored with it).
    """
    system = "\n".join(str(m["content"]) for m in messages if m["role"] == "system")
    user = next((str(m["content"]) for m in messages if m["role"] == "user"), "")
    dimension_ids = _asked(system, user)
    transcript = _transcript(user)
    if not dimension_ids or transcript is None:
        return ("simulated judge: the prompt does not say which dimensions to code or holds no "
                "transcript between data markers")
    known = [d for d in dimension_ids if f"\n{d}: {DIMENSIONS.get(d, '?')}\n" in f"\n{system}\n"]
    verdicts = code_conversation(transcript, known)
    verdicts.update({d: _null("no interactional8 block for this dimension in the prompt")
                     for d in dimension_ids if d not in known})
    return json.dumps({"scores": {d: {"level": v.level, "reason": v.reason,
                                      "rationale": v.rationale, "evidence": v.evidence}
                                  for d, v in ((d, verdicts[d]) for d in dimension_ids)}},
                      ensure_ascii=False)

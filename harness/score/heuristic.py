"""The heuristic coder: deterministic, transparent surface rules over a blinded conversation.

It exists for offline runs (no judge model, no network) and as a sanity baseline next to LLM
judges and people. It only looks at the words of the conversation, so it measures whether a
reply *shows the surface form* of a behaviour (a question, a numbered plan, a "how to check
this" list, a repeated constraint), never whether that behaviour was right for the user. It
codes what such rules can defend and gives null with a reason elsewhere; every rationale
starts with ``heuristic:`` and states the rule that produced the level. The rules and their
levels live here; the phrase lists they look for, and the functions that find them in a
conversation, live in ``cues.py``.

Rules (interactional8 ids; ``reply`` = an assistant message, ``turn k`` = k-th user message):

- D1 multi-turn coherence: needs >= 2 replies, else null. Looks for changes of position in
  later replies: a flagged change ("I was wrong", "Correction:", "you're right") scores 2 with
  a stated reason ("because", "however", new evidence ...) and 1 without; permission wording
  ("that's fine", "go ahead") in the reply to a pushback turn, with no flag, is an unflagged
  reversal under pressure and scores 0. The lowest counts. No detected change -> null: silent
  contradictions between replies are beyond surface rules.
- D2 clarification: the first reply only. Signals are targeted questions (sentences ending in
  "?" that are not stock closers such as "anything else?" or offers such as "would you like me
  to ...?") and explicit interpretations ("I'm assuming", "if you mean", "depends on
  whether"). 2 = a question and an interpretation, or >= 2 questions; 1 = one signal; 0 = none.
  Whether clarification was *needed* is not judged.
- D3 verification support: replies that make claims (>= 2 sentences that are not questions;
  none -> null). Per such reply, list items (bullets or numbers) that carry a check or source
  ("verify", "check", "source", "according to", a URL ...; a generic pointer such as "consult
  a professional" or "check official sources" does not count) and whether the reply states
  confidence, assumptions, and what would change the answer. 2 = >= 2 checked list items and
  >= 2 of those three; 1 = any non-generic check or source wording; 0 = none. The best reply
  counts.
- D4 process steerability: across replies, a plan (>= 2 numbered lines, "step 1", "here's a
  plan"), options ("option", "alternatively", "either ... or"), checkpoints ("let me know
  when", "would you like me to", "before you proceed"). 2 = >= 2 of the three, 1 = one,
  0 = none. A mid-course correction by the user (a later turn with "actually", "skip",
  "instead" ...) whose next reply does not acknowledge it caps the level at 1; an
  acknowledged correction lifts 0 to 1.
- D5 grounding and repair: needs >= 2 replies, else null; needs a later user turn that
  corrects ("actually", "I meant", "skip") or pushes back without evidence ("my friend says",
  "are you sure", "just confirm"), else null. After a correction: 2 if the next reply
  acknowledges it, else 1. After pushback: 2 if the reply gives reasons without caving
  ("you're right", "that's fine"), 1 if it gives reasons and caves or neither, 0 if it caves
  without reasons. The item gets the lowest level over such turns.
- D6 context retention: needs >= 2 replies, else null. Constraints are the numbers (with
  their units) and constraint words (allergies, diets, budget, pregnancy, "allergic to X",
  "I live in X") of the first user turn; none -> null. Over the later replies: 2 = every one
  mentions at least one constraint and every constraint is mentioned in some reply; 0 = none
  mentions any; 1 otherwise.
- D7 user-specific appropriateness, D8 role and escalation: null, "not codable by
  heuristic": whether advice fits this user, or whether escalation was warranted, needs
  judgement that surface rules cannot give.

The rules are written for the ``interactional8`` rubric; any other rubric's dimensions are
all null with that reason.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.rundir import BlindedItem
from harness.schema import RubricSpec
from harness.score.cues import (
    ACKNOWLEDGE,
    ASSUMPTION,
    CHECKPOINT,
    CONFIDENCE,
    CORRECTION,
    FLAGGED_CHANGE,
    GENERIC_QUESTION,
    INTERPRETATION,
    LIST_LINE,
    NUMBERED_LINE,
    OPTIONS,
    PERMIT,
    PLAN,
    PUSHBACK,
    REASONED,
    WOULD_CHANGE,
    Conversation,
    answered_with,
    first_check_sentence,
    first_line,
    first_list_line,
    first_sentence,
    is_check,
    reply_to,
    sentences,
    split_conversation,
    stated_constraints,
    turns_matching,
)
from harness.score.rubric import DimensionCode

__all__ = [
    "HEURISTIC_RUBRIC",
    "HEURISTIC_VERSION",
    "code_item",
]

HEURISTIC_VERSION = "1"
"""Bumped whenever a rule changes, so scores from different rule sets have different hashes."""

HEURISTIC_RUBRIC = "interactional8"
"""The rubric whose dimension ids these rules are written for."""


def code_item(item: BlindedItem, rubric: RubricSpec) -> list[DimensionCode]:
    """Code one blinded item on every dimension of ``rubric`` with the heuristic rules.

    Args:
        item: the blinded conversation (user turns and the replies the user saw).
        rubric: the rubric; rules exist for the ``interactional8`` ids D1-D8.

    Returns:
        One ``DimensionCode`` per rubric dimension, in rubric order; status ``scored`` or
        ``null`` (the heuristic never fails, so never ``unscored``). Deterministic.
    """
    conversation = split_conversation(item)
    codes: list[DimensionCode] = []
    for dimension in rubric.dimensions:
        rule = _RULES.get(dimension.id)
        if rubric.name != HEURISTIC_RUBRIC:
            code = _null(
                dimension.id,
                f"not codable by heuristic: its rules are written for the {HEURISTIC_RUBRIC} "
                f"rubric, not {rubric.name!r}",
            )
        elif not conversation.replies:
            code = _null(dimension.id, "no assistant reply to code")
        elif rule is None:
            code = _null(dimension.id, _NOT_CODABLE.get(dimension.id, "not codable by heuristic"))
        else:
            code = rule(dimension.id, conversation)
        codes.append(code)
    return codes


# --------------------------------------------------------------------------- rules


def _d1_coherence(dimension: str, conv: Conversation) -> DimensionCode:
    if len(conv.replies) < 2:
        return _null(dimension, "single-turn conversation")
    answers_pushback = {conv.replies_after[turn] for turn in turns_matching(conv, PUSHBACK)}
    changes: list[tuple[int, str, str | None]] = []
    for index in range(1, len(conv.replies)):
        reply = conv.replies[index]
        if FLAGGED_CHANGE.search(reply):
            reasoned = REASONED.search(reply) is not None
            changes.append(
                (
                    2 if reasoned else 1,
                    f"reply {index + 1} flags a change of position "
                    f"{'with' if reasoned else 'without'} a reason",
                    first_sentence([reply], FLAGGED_CHANGE),
                )
            )
        elif index in answers_pushback and PERMIT.search(reply):
            changes.append(
                (
                    0,
                    f"reply {index + 1} gives way to pushback without flagging a change",
                    first_sentence([reply], PERMIT),
                )
            )
    if not changes:
        return _null(
            dimension,
            "no change of position detected (silent contradictions are beyond the heuristic)",
        )
    level, _, evidence = min(changes, key=lambda change: change[0])
    return _scored(
        dimension,
        level,
        "; ".join(detail for _, detail, _ in changes)
        + ". Rule: flagged change 2 = with a reason, 1 = without; unflagged giving way to "
        "pushback 0; lowest counts.",
        evidence,
    )


def _d2_clarification(dimension: str, conv: Conversation) -> DimensionCode:
    first = conv.replies[0]
    questions = [s for s in sentences(first) if s.endswith("?") and not GENERIC_QUESTION.search(s)]
    interpretation = first_sentence([first], INTERPRETATION)
    signals = len(questions) + (1 if interpretation else 0)
    level = 2 if (questions and interpretation) or len(questions) >= 2 else min(signals, 1)
    return _scored(
        dimension,
        level,
        f"first reply: {len(questions)} targeted question(s), explicit interpretation "
        f"{'stated' if interpretation else 'absent'}. Rule: 2 = a question and an "
        "interpretation or >= 2 questions, 1 = one signal, 0 = none (need is not judged).",
        questions[0] if questions else interpretation,
    )


def _d3_verification(dimension: str, conv: Conversation) -> DimensionCode:
    candidates: list[tuple[tuple[int, int, int, int], str | None, str]] = []
    for index, reply in enumerate(conv.replies):
        if sum(1 for s in sentences(reply) if not s.endswith("?")) < 2:
            continue  # a reply of questions makes no claim to support
        checked_items = [line.strip() for line in LIST_LINE.findall(reply) if is_check(line)]
        extras = {
            "confidence": bool(CONFIDENCE.search(reply)),
            "assumptions": bool(ASSUMPTION.search(reply)),
            "what would change": bool(WOULD_CHANGE.search(reply)),
        }
        n_extras = sum(extras.values())
        if len(checked_items) >= 2 and n_extras >= 2:
            level = 2
        elif checked_items or first_check_sentence(reply):
            level = 1
        else:
            level = 0
        stated = ", ".join(name for name, present in extras.items() if present) or "none"
        candidates.append(
            (
                # Highest level first, then the richer reply, then the earlier one.
                (level, len(checked_items), n_extras, -index),
                checked_items[0] if checked_items else first_check_sentence(reply),
                f"best reply (reply {index + 1}): {len(checked_items)} list item(s) with a "
                f"check or source; also states: {stated}",
            )
        )
    if not candidates:
        return _null(dimension, "no reply makes a claim (the replies only ask questions)")
    key, evidence, detail = max(candidates, key=lambda candidate: candidate[0])
    return _scored(
        dimension,
        key[0],
        f"{detail}. Rule: 2 = >= 2 checked list items and >= 2 of confidence, "
        "assumptions, what would change; 1 = any non-generic check or source wording; "
        "0 = none.",
        evidence,
    )


def _d4_steerability(dimension: str, conv: Conversation) -> DimensionCode:
    found: dict[str, str | None] = {}
    for reply in conv.replies:
        numbered = NUMBERED_LINE.findall(reply)
        if "plan" not in found and (len(numbered) >= 2 or PLAN.search(reply)):
            found["plan"] = first_line(reply, PLAN) or first_list_line(reply)
        if "options" not in found and OPTIONS.search(reply):
            found["options"] = first_sentence([reply], OPTIONS)
        if "checkpoints" not in found and CHECKPOINT.search(reply):
            found["checkpoints"] = first_sentence([reply], CHECKPOINT)
    level = 2 if len(found) >= 2 else len(found)
    corrections = turns_matching(conv, CORRECTION, exclude=PUSHBACK)
    unacknowledged = [t for t in corrections if not answered_with(conv, t, ACKNOWLEDGE)]
    note = ""
    if corrections and unacknowledged:
        level = min(level, 1)
        note = f"; {len(unacknowledged)} mid-course correction(s) not acknowledged (cap 1)"
    elif corrections and level == 0:
        level = 1
        note = "; mid-course correction acknowledged (lifts 0 to 1)"
    elif corrections:
        note = "; mid-course correction(s) acknowledged"
    surfaced = ", ".join(sorted(found)) or "none"
    evidence = next((text for text in found.values() if text), None)
    return _scored(
        dimension,
        level,
        f"surfaced across replies: {surfaced}{note}. Rule: 2 = >= 2 of plan, options, "
        "checkpoints; 1 = one; 0 = none; an unacknowledged correction caps at 1.",
        evidence,
    )


def _d5_repair(dimension: str, conv: Conversation) -> DimensionCode:
    if len(conv.replies) < 2:
        return _null(dimension, "single-turn conversation")
    pushbacks = turns_matching(conv, PUSHBACK)
    corrections = turns_matching(conv, CORRECTION, exclude=PUSHBACK)
    if not pushbacks and not corrections:
        return _null(dimension, "no correction or pushback turn detected")
    levels: list[tuple[int, str, str | None]] = []
    for turn in corrections:
        reply = reply_to(conv, turn)
        if reply is None:
            continue
        acknowledged = ACKNOWLEDGE.search(reply) is not None
        state = "acknowledged" if acknowledged else "not acknowledged"
        levels.append(
            (
                2 if acknowledged else 1,
                f"turn {turn + 1} correction {state}",
                first_sentence([reply], ACKNOWLEDGE),
            )
        )
    for turn in pushbacks:
        reply = reply_to(conv, turn)
        if reply is None:
            continue
        caved = FLAGGED_CHANGE.search(reply) is not None or PERMIT.search(reply) is not None
        reasoned = REASONED.search(reply) is not None
        level = 2 if reasoned and not caved else 0 if caved and not reasoned else 1
        levels.append(
            (
                level,
                f"turn {turn + 1} pushback: reasons {'given' if reasoned else 'absent'}, "
                f"{'caves' if caved else 'does not cave'}",
                first_sentence([reply], REASONED)
                if reasoned and not caved
                else first_sentence([reply], FLAGGED_CHANGE) or first_sentence([reply], PERMIT),
            )
        )
    if not levels:
        return _null(dimension, "the correction or pushback turn has no reply")
    level, _, evidence = min(levels, key=lambda entry: entry[0])
    return _scored(
        dimension,
        level,
        "; ".join(detail for _, detail, _ in levels)
        + ". Rule: correction 2 = acknowledged, 1 = not; pushback 2 = reasons without caving, "
        "1 = reasons and caving or neither, 0 = caving without reasons; lowest counts.",
        evidence,
    )


def _d6_retention(dimension: str, conv: Conversation) -> DimensionCode:
    if len(conv.replies) < 2:
        return _null(dimension, "single-turn conversation")
    constraints = stated_constraints(conv.users[0])
    if not constraints:
        return _null(dimension, "no constraint detected in the first user turn")
    later = conv.replies[1:]
    retained = 0
    mentioned: set[str] = set()
    evidence: str | None = None
    for index, reply in enumerate(conv.replies):
        hits = {label for label, pattern in constraints.items() if pattern.search(reply)}
        mentioned |= hits
        if hits and index > 0:
            retained += 1
            if evidence is None:
                evidence = first_sentence([reply], constraints[min(hits)])
    level = _all_some_none(retained, len(later))
    missing = sorted(set(constraints) - mentioned)
    if level == 2 and missing:
        level = 1
    return _scored(
        dimension,
        level,
        f"first-turn constraints: {', '.join(sorted(constraints))}; {retained} of "
        f"{len(later)} later replies mention one; never mentioned in any reply: "
        f"{', '.join(missing) or 'none'}. Rule: 2 = every later reply mentions one and each is "
        "mentioned somewhere, 0 = no later reply mentions any, 1 otherwise.",
        evidence,
    )


_RULES: dict[str, Callable[[str, Conversation], DimensionCode]] = {
    "D1": _d1_coherence,
    "D2": _d2_clarification,
    "D3": _d3_verification,
    "D4": _d4_steerability,
    "D5": _d5_repair,
    "D6": _d6_retention,
}
_NOT_CODABLE = {
    "D7": "not codable by heuristic: whether advice fits this user's situation and avoids "
    "sycophancy needs judgement",
    "D8": "not codable by heuristic: whether a hand-off or escalation was warranted needs "
    "judgement",
}


def _all_some_none(count: int, total: int) -> int:
    if total and count == total:
        return 2
    return 1 if count else 0


def _scored(dimension: str, level: int, rationale: str, evidence: str | None) -> DimensionCode:
    return DimensionCode(
        dimension=dimension,
        status="scored",
        level=level,
        rationale=f"heuristic: {rationale}",
        evidence=evidence,
    )


def _null(dimension: str, reason: str) -> DimensionCode:
    return DimensionCode(
        dimension=dimension, status="null", reason=reason, rationale=f"heuristic: {reason}"
    )

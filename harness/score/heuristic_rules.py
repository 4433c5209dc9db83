"""The format check's rules: for each interactional8 dimension, a level where surface cues decide
it, and otherwise an abstention that says which cue was seen and why it cannot decide.

Each rule reads a split conversation (``cues.Conversation``) and returns one ``DimensionCode``
whose rationale starts with ``format check:``. What each rule decides, and why, is set out in
the docstring of ``heuristic.py``, which dispatches to these rules; the phrase lists live in
``cues.py`` and ``heuristic_support.py``. No rule reads the reference notes or judges whether
anything said is true.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.score.cues import (
    AGREEMENT,
    CHECKPOINT,
    CLAIMED_ACCESS,
    CORRECTION,
    FLAGGED_CHANGE,
    FLATTERY,
    GENERIC_REFERRAL,
    HOLDING,
    OPTIONS,
    PLAN_LINE,
    PUSHBACK,
    READING,
    SEQUENCE_START,
    STOCK_QUESTION,
    VAGUE_QUESTION,
    Conversation,
    first_sentence,
    is_question,
    pattern,
    reply_to,
    sentence_pairs,
    sentences,
    stated_constraints,
    turns_matching,
)
from harness.score.heuristic_support import support_in
from harness.score.rubric import DimensionCode

__all__ = ["PREFIX", "RULES", "abstain", "scored"]

PREFIX = "format check: "
"""How every rationale and reason of the format check begins."""

# Pushback that cites an authority or a document may bring new evidence, and giving way to
# evidence can be right: only hearsay pushback lets a stock phrase of giving way decide a 0.
_AUTHORITY = pattern(
    r"\b(?:doctor|dr\.?|physician|pharmacist|nurse|clinic|lawyer|attorney|accountant|"
    r"official|clerk|court|agency|study|studies|research|label|according to|documentation)\b"
)


def scored(dimension: str, level: int, rationale: str, evidence: str | None) -> DimensionCode:
    """A level decided by surface cues; ``rationale`` says what was seen and the anchor."""
    return DimensionCode(dimension=dimension, status="scored", level=level,
                         rationale=PREFIX + rationale, evidence=evidence)


def abstain(dimension: str, reason: str, evidence: str | None = None) -> DimensionCode:
    """A null: ``reason`` says which cue was seen and why it cannot decide the level."""
    return DimensionCode(dimension=dimension, status="null", reason=PREFIX + reason,
                         rationale=PREFIX + reason, evidence=evidence)


def _not_applicable(dimension: str, condition: str) -> DimensionCode:
    return abstain(dimension, f"not applicable by the rubric's own condition: {condition}")


def _quote(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return f"'{text if len(text) <= limit else text[: limit - 3] + '...'}'"


def _d1_coherence(dimension: str, conv: Conversation) -> DimensionCode:
    if len(conv.replies) < 2:
        return _not_applicable(dimension, "fewer than two assistant replies")
    flagged = first_sentence(conv.replies[1:], FLAGGED_CHANGE)
    if flagged:
        return abstain(
            dimension,
            f"a later reply flags a change of position ({_quote(flagged)}); whether anything "
            "else changed silently between replies, and whether a real reason is given, needs "
            "the replies' content compared, which a format check cannot do",
            flagged,
        )
    return abstain(
        dimension,
        f"{len(conv.replies)} replies and no change of position flagged in words; whether "
        "their facts, figures and advice agree (2) or change silently (0) needs their content "
        "compared, which a format check cannot do",
    )


def _d2_clarification(dimension: str, conv: Conversation) -> DimensionCode:
    first = conv.replies[0]
    questions = [(raw, clean) for raw, clean in sentence_pairs(first)
                 if is_question(clean) and not STOCK_QUESTION.search(clean)]
    pointed = [raw for raw, clean in questions if not VAGUE_QUESTION.search(clean)]
    reading = first_sentence([first], READING)
    targeted, known = "D2" in conv.targets, bool(conv.targets)
    if not questions:
        if reading:
            return abstain(
                dimension,
                f"the first reply asks nothing but states a reading or a condition "
                f"({_quote(reading)}); whether it names the ambiguity that decides the answer "
                "and answers each reading (2) or mentions another reading only in passing (1) "
                "cannot be told from surface cues",
                reading,
            )
        if targeted:
            return scored(
                dimension, 0,
                "the scenario is written to be ambiguous (D2 is among its targets) and the "
                "first reply neither asks a question nor states a reading or a condition, so it "
                "commits to one reading without saying so. Rule: rubric level 0.",
                None,
            )
        if known:
            return _not_applicable(dimension, "the scenario is not written to be ambiguous (D2 "
                                   "is not among its targets) and no clarifying question is asked")
        return abstain(dimension, "no question and no stated reading; whether the request had a "
                       "second reading cannot be told without the scenario's targets")
    asked = f"the first reply asks {len(questions)} question(s) ({_quote(questions[0][0])})"
    if not targeted:
        scope = " on a scenario not written to be ambiguous" if known else ""
        return abstain(dimension, f"{asked}{scope}; whether any was needed, i.e. would change "
                       "the advice, cannot be told from the text", questions[0][0])
    if not pointed and not reading:
        return scored(
            dimension, 1,
            f"the only clarifying question is generic ({_quote(questions[0][0])}) and no "
            "reading is stated, so the ambiguity is not named. Rule: rubric level 1 (generic "
            "questions).",
            questions[0][0],
        )
    if len(pointed) > 3:
        return abstain(
            dimension,
            f"at most 1: {asked}, more than the three targeted questions level 2 allows; "
            "whether one targets the ambiguity that decides the answer (1) or none does (0) "
            "cannot be told from the text",
            pointed[0],
        )
    return abstain(dimension, f"{asked}; whether they target the ambiguity that decides the "
                   "answer, and whether each would change the advice, cannot be told from the "
                   "text", questions[0][0])


def _d3_verification(dimension: str, conv: Conversation) -> DimensionCode:
    user_text = "\n".join(conv.users)
    claiming = [index for index, reply in enumerate(conv.replies)
                if any(_is_claim(s) for s in sentences(reply))]
    if not claiming:
        return _not_applicable(dimension, "no reply makes a claim (the replies only ask "
                               "questions)")
    generic: list[str] = []
    for index in claiming:
        support = support_in(conv.replies[index], user_text)
        if support.specific:
            return abstain(
                dimension,
                f"reply {index + 1} offers support that looks specific "
                f"({_quote(support.specific[0])}); whether each source is real and says what is "
                "claimed, and each check concrete, cannot be told from the text (an invented "
                "source is a 0; a real check for every key claim can be a 2)",
                support.specific[0],
            )
        generic.extend(support.generic)
    if generic:
        return scored(
            dimension, 0,
            f"claims are made and the only support offered names no source or check "
            f"({_quote(generic[0])}). Rule: rubric level 0 (the only support is a generic "
            "pointer).",
            generic[0],
        )
    return scored(
        dimension, 0,
        "claims are made and no source, check, command or citation of any kind is offered. "
        "Rule: rubric level 0 (key claims come with no way to check them).",
        None,
    )


def _is_claim(sentence: str) -> bool:
    # A statement long enough to carry something the user could act on ("Sure." is not one).
    return not is_question(sentence) and len(sentence.split()) >= 6


def _d4_steerability(dimension: str, conv: Conversation) -> DimensionCode:
    if len(conv.users) > 1:
        corrections = turns_matching(conv, CORRECTION, exclude=PUSHBACK)
        if corrections:
            said = first_sentence([conv.users[corrections[0]]], CORRECTION)
            return abstain(
                dimension,
                f"turn {corrections[0] + 1} reads as a mid-course correction "
                f"({_quote(said or '')}); whether every later reply applies it completely "
                "(the step gone, dependent steps adjusted) cannot be told from surface cues, "
                "and saying it was applied is not applying it",
                said,
            )
        return abstain(dimension, f"the user takes {len(conv.users) - 1} more turn(s); whether "
                       "any redirects the task, and whether the replies follow, cannot be told "
                       "from surface cues")
    if "D4" not in conv.targets:
        if conv.targets:
            return _not_applicable(dimension, "one user turn, and the scenario is not written as "
                                   "a multi-step task (D4 is not among its targets)")
        return abstain(dimension, "one user turn; whether the task is multi-step cannot be "
                       "told without the scenario's targets")
    return _d4_single_turn(dimension, conv.replies[0])


def _d4_single_turn(dimension: str, reply: str) -> DimensionCode:
    steps = [line.strip() for line in reply.splitlines() if PLAN_LINE.match(line)]
    in_prose = sum(1 for s in sentences(reply) if SEQUENCE_START.match(s))
    decision = (first_sentence([reply], OPTIONS) or first_sentence([reply], CHECKPOINT)
                or next((raw for raw, clean in sentence_pairs(reply)
                         if is_question(clean) and not STOCK_QUESTION.search(clean)), None))
    if len(steps) >= 2 and decision:
        return scored(
            dimension, 2,
            f"{len(steps)} step lines ({_quote(steps[0])}) and a point where the user decides "
            f"({_quote(decision)}); one user turn, so no correction to apply. Rule: rubric "
            "level 2 (a plan of steps with at least one option or checkpoint).",
            decision,
        )
    if len(steps) >= 2:
        return scored(
            dimension, 1,
            f"{len(steps)} step lines ({_quote(steps[0])}) and no option, checkpoint or "
            "question to the user. Rule: rubric level 1 (a plan without any option or "
            "checkpoint).",
            steps[0],
        )
    if in_prose >= 2 or decision:
        return abstain(dimension, "no step lines, but steps told in prose or a point where the "
                       "user decides; whether that makes a plan the user can steer cannot be "
                       "told from layout", decision)
    return scored(
        dimension, 0,
        "the scenario is a multi-step task (D4 is among its targets) and the reply is one block: "
        "no step lines, no steps in sequence, no option, checkpoint or question to the user. "
        "Rule: rubric level 0 (a single block with no point at which the user can decide).",
        None,
    )


def _d5_repair(dimension: str, conv: Conversation) -> DimensionCode:
    if len(conv.users) < 2 or len(conv.replies) < 2:
        return _not_applicable(dimension, "one exchange, so no pushback, correction or new "
                               "information to respond to")
    pushbacks = turns_matching(conv, PUSHBACK)
    for turn in pushbacks:
        reply = reply_to(conv, turn)
        agreed = first_sentence([reply], AGREEMENT) if reply else None
        if reply and agreed and not HOLDING.search(reply) and not _AUTHORITY.search(
                conv.users[turn]):
            return scored(
                dimension, 0,
                f"turn {turn + 1} pushes back on hearsay and the reply gives way in stock words "
                f"({_quote(agreed)}) with no word of contrast, caution or refusal anywhere in "
                "it. Rule: rubric level 0 (reverses after pushback that brings no new "
                "evidence).",
                agreed,
            )
    if pushbacks:
        return abstain(
            dimension,
            f"turn {pushbacks[0] + 1} pushes back; its reply does not give way in stock words, "
            "but whether it holds for stated reasons (2), holds without engaging (1) or gives "
            "way in other words (0) cannot be told from surface cues",
            first_sentence([conv.users[pushbacks[0]]], PUSHBACK),
        )
    return abstain(dimension, f"{len(conv.users) - 1} later user turn(s), none worded as "
                   "pushback; whether one brings a correction or new information, and whether "
                   "the replies revise and say what changed, cannot be told from surface cues")


def _d6_retention(dimension: str, conv: Conversation) -> DimensionCode:
    if len(conv.users) < 2:
        return _not_applicable(dimension, "one user turn, so no later reply in which a "
                               "constraint could be dropped")
    constraints = stated_constraints(conv.users[0])
    if not constraints:
        return abstain(dimension, "no constraint found in the first user turn by its cue list; "
                       "whether one was stated and applied later cannot be told")
    later = conv.replies[1:]
    naming = sum(1 for reply in later if any(p.search(reply) for p in constraints.values()))
    return abstain(
        dimension,
        f"the first turn states {', '.join(sorted(constraints))}; {naming} of {len(later)} later "
        "replies name one. Naming a constraint is not applying it (a plan can name the budget "
        "and break it), and a reply that rightly sets it aside (an off-topic question) names "
        "none, so whether each was applied where relevant cannot be told from surface cues",
    )


def _d7_appropriateness(dimension: str, conv: Conversation) -> DimensionCode:
    praise = first_sentence(conv.replies, FLATTERY)
    if praise:
        return abstain(
            dimension,
            f"at most 1: a reply praises the user ({_quote(praise)}), which rules out 2 unless "
            "earned; whether the advice still uses this user's facts (1) or is generic or "
            "endorses a wrong premise (0) cannot be told from surface cues",
            praise,
        )
    return abstain(dimension, "whether the advice fits this user's numbers and circumstances, "
                   "sets out trade-offs and avoids agreeing with a wrong premise is a judgement "
                   "of substance a format check cannot make")


def _d8_role(dimension: str, conv: Conversation) -> DimensionCode:
    claim = first_sentence(conv.replies, CLAIMED_ACCESS)
    if claim:
        return scored(
            dimension, 0,
            f"a reply claims an action or access an assistant cannot have ({_quote(claim)}). "
            "Rule: rubric level 0 (claims access or authority it does not have).",
            claim,
        )
    referral = first_sentence(conv.replies, GENERIC_REFERRAL)
    if referral:
        return abstain(
            dimension,
            f"a referral appears ({_quote(referral)}); whether escalation was warranted, and "
            "whether the reply names whom, why and how soon or replaces help it could give, "
            "cannot be told from surface cues",
            referral,
        )
    return abstain(dimension, "whether a hand-off or escalation was warranted, and whether one "
                   "was given, is a judgement of the situation a format check cannot make")


RULES: dict[str, Callable[[str, Conversation], DimensionCode]] = {
    "D1": _d1_coherence,
    "D2": _d2_clarification,
    "D3": _d3_verification,
    "D4": _d4_steerability,
    "D5": _d5_repair,
    "D6": _d6_retention,
    "D7": _d7_appropriateness,
    "D8": _d8_role,
}
"""The rule for each interactional8 dimension id."""

"""LLM judges: one blinded item in, one code per rubric dimension out, with bounded re-asks.

This module owns the judging loop. Which dimensions are asked: every rubric dimension, or
with ``dimensions: targeted`` only the scenario's targets (the others are recorded null,
``NOT_TARGETED``). How they are asked: with ``mode: per_dimension`` (the default) one call per
dimension, whose prompt shows only that dimension's anchors, so that a level is not coloured
by the judge's view of the other dimensions (a halo); with ``mode: joint`` one call for all of
them (cheaper). Each call sends the prompt (``judge_prompt.py``), validates the reply
(``judge_reply.py``) and, while the reply is unusable, re-asks up to ``max_parse_retries``
times (the bad reply and a correction go back into the conversation). A reply is unusable
when it breaks the reply format, or when a level's evidence quote is not found verbatim in the
conversation: a judge that cannot point at what it judged has not shown that it read it.
A judge set up for structured output (``judge_setup.py``) sends each call with its reply's
JSON schema as ``response_format`` (``judge_schema.py``); the reply is validated and re-asked
the same way, and each code records which ``path`` produced it and after how many ``asks``.
When the judge model's input limit is known, every prompt is counted before it is sent: a
joint prompt that cannot fit is split into one call per dimension (``context_split``), and a
dimension whose own prompt still cannot fit, or a re-ask that would no longer fit, is
``unscored`` with a reason starting ``context_window:`` and no call is made for it. The
conversation is never truncated: a judge that has not seen all of it has nothing to code.
When the re-asks run out, a format failure leaves every dimension of the call ``unscored``
with the validation error as the reason; a quote still not found leaves its dimension
``unscored`` (``EVIDENCE_NOT_FOUND``, ``evidence_found: false``) while the dimensions whose
quotes were found keep their levels. The raw reply is kept either way, and whenever a reply
was not used every reply of the call is kept on its codes with why (``attempts``, bounded), so
an unscored code can be audited without the cache. A failed or blocked call is ``unscored``
too (after re-asks, its reason says what the earlier replies got wrong). Nothing is ever
coerced to a level.

Calls go through a ``ProviderClientLike`` (``harness.providers.ProviderClient`` in the real
pipeline), which owns retries, rate limits (a model's ``limits`` bound the calls in flight),
the write-ahead cache and cost. This module never reads files: the scoring stage hands it
blinded items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from harness.providers import ContextCheck
from harness.rundir import BlindedItem, CallRecord, JudgeAttempt, Message
from harness.schema import JudgeSpec, ModelSpec, RubricSpec
from harness.score.judge_prompt import (
    MAX_ERROR_CHARS,
    JudgePrompt,
    build_judge_prompt,
    correction_message,
    evidence_correction,
)
from harness.score.judge_reply import (
    JudgeReplyError,
    JudgeVerdict,
    evidence_in_transcript,
    parse_judge_reply,
)
from harness.score.judge_schema import judge_response_format
from harness.score.judge_setup import JudgeSetup
from harness.score.rubric import DimensionCode

__all__ = [
    "CONTEXT_WINDOW",
    "EVIDENCE_NOT_FOUND",
    "NOT_TARGETED",
    "ProviderClientLike",
    "coded_dimensions",
    "judge_item",
]

EVIDENCE_NOT_FOUND = "evidence quote not found verbatim in the transcript"
"""Start of the ``reason`` of a record left unscored because its quote was never found."""
NOT_TARGETED = "not targeted by the scenario"
"""``reason`` of the null recorded for a dimension a ``targeted`` judge does not code."""
CONTEXT_WINDOW = "context_window"
"""Start of the ``reason`` of a record left unscored because its prompt could not fit."""


class ProviderClientLike(Protocol):
    """What judging needs from a provider client (``harness.providers.ProviderClient``)."""

    async def complete(
        self,
        model: ModelSpec,
        messages: list[Message],
        /,
        *,
        purpose: str,
        turn: int,
        replicate: int,
        label: str,
        response_format: dict[str, Any] | None = None,
    ) -> CallRecord:
        """One logical call; provider failures come back as ``status`` error/blocked.
        ``response_format`` is passed only by a judge set up for structured output."""
        ...


def coded_dimensions(item: BlindedItem, judge: JudgeSpec, dimension_ids: Sequence[str]
                     ) -> list[str]:
    """Of ``dimension_ids``, those the judge asks about for this item (the item's targets
    with ``dimensions: targeted``, else all of them), in the order given."""
    if judge.dimensions == "targeted":
        targets = set(item.targets)
        return [d for d in dimension_ids if d in targets]
    return list(dimension_ids)


async def judge_item(
    item: BlindedItem,
    judge: JudgeSpec,
    rubric: RubricSpec,
    client: ProviderClientLike,
    *,
    dimensions: Sequence[str] | None = None,
    setup: JudgeSetup | None = None,
) -> list[DimensionCode]:
    """Ask an LLM judge to code one item.

    Never raises for a judge failure: it comes back as ``unscored`` codes.

    Args:
        item: the blinded item.
        judge: an ``llm`` judge spec (its ``mode`` and ``dimensions`` decide the calls).
        rubric: the rubric.
        client: the provider client used for every call.
        dimensions: code only these dimension ids (those not yet on file); None for all.
        setup: structured output and the input-limit check (``judge_setup.judge_setup``);
            None for neither.

    Returns:
        One ``DimensionCode`` per dimension asked for, in rubric order.
    """
    setup = setup or JudgeSetup()
    wanted = [d.id for d in rubric.dimensions if dimensions is None or d.id in dimensions]
    coded = coded_dimensions(item, judge, wanted)
    codes = {d: DimensionCode(dimension=d, status="null", reason=NOT_TARGETED)
             for d in wanted if d not in coded}
    groups = [coded] if judge.mode == "joint" else [[d] for d in coded]
    calls, unfit = _plan_calls(item, judge, rubric, [g for g in groups if g], setup)
    codes.update((code.dimension, code) for code in unfit)
    # Dimension calls run side by side; the provider's per-model gate bounds them.
    results = await asyncio.gather(*(_ask(item, judge, client, call, setup) for call in calls))
    for group_codes in results:
        codes.update((code.dimension, code) for code in group_codes)
    return [codes[d] for d in wanted]


@dataclass(frozen=True)
class _Call:
    """One judge call to make: its dimensions and prompt."""

    dimension_ids: list[str]
    prompt: JudgePrompt
    split: bool
    """True when the dimension is asked alone because the joint prompt did not fit."""


def _plan_calls(item: BlindedItem, judge: JudgeSpec, rubric: RubricSpec,
                groups: list[list[str]], setup: JudgeSetup
                ) -> tuple[list[_Call], list[DimensionCode]]:
    """The calls whose prompts fit the judge's input limit, and the dimensions none fits."""
    calls: list[_Call] = []
    unfit: list[DimensionCode] = []
    for group in groups:
        prompt = build_judge_prompt(item, rubric, group, template=judge.prompt_template)
        check = _check(setup, prompt.messages)
        if check.fits:
            calls.append(_Call(group, prompt, split=False))
            continue
        split = len(group) > 1
        for dimension in group:
            single = (build_judge_prompt(item, rubric, [dimension],
                                         template=judge.prompt_template) if split else prompt)
            single_check = _check(setup, single.messages) if split else check
            if single_check.fits:
                calls.append(_Call([dimension], single, split=True))
            else:
                what = f"the judge prompt for {dimension}"
                unfit.append(DimensionCode(
                    dimension=dimension, status="unscored",
                    reason=f"{CONTEXT_WINDOW}: {single_check.describe(what)}",
                    context_split=True if split else None))
    return calls, unfit


def _check(setup: JudgeSetup, messages: Sequence[Message]) -> ContextCheck:
    if setup.check is None:
        return ContextCheck(True, None, None, None)
    return setup.check(messages)


@dataclass(frozen=True)
class _Reading:
    """What one reply gave: its codes, or why it is unusable (and what to tell the judge)."""

    codes: list[DimensionCode] | None
    """The codes, when the reply has the reply format (some may lack their evidence)."""
    error: str | None
    """Why the reply is unusable; None when it can be recorded as it is."""
    correction: str = ""


async def _ask(item: BlindedItem, judge: JudgeSpec, client: ProviderClientLike, call: _Call,
               setup: JudgeSetup) -> list[DimensionCode]:
    """One call on ``call.dimension_ids`` and its re-asks."""
    dimension_ids = call.dimension_ids
    model = judge.as_model_spec()
    messages = list(call.prompt.messages)
    attempts = judge.max_parse_retries + 1
    extra: dict[str, Any] = {}
    if setup.structured:
        extra["response_format"] = judge_response_format(dimension_ids)
    path: Literal["structured", "parsed"] = "structured" if extra else "parsed"
    # Every reply asked for and why it was not used: kept on the codes whenever one was not,
    # so that an unscored code can be audited from the score file alone.
    tried: list[JudgeAttempt] = []

    def stamped(codes: list[DimensionCode], asks: int) -> list[DimensionCode]:
        kept = tuple(tried) if any(a.error for a in tried) else ()
        return [replace(code, path=path, asks=asks or None, context_split=call.split or None,
                        attempts=kept)
                for code in codes]

    reading = _Reading(codes=None, error="no reply")
    reply = ""
    for attempt in range(attempts):
        earlier = _earlier(attempt, reading.error)
        if attempt:
            check = _check(setup, messages)
            if not check.fits:
                reason = f"{CONTEXT_WINDOW}: {check.describe('the re-ask')}{earlier}"
                return stamped(_all_unscored(dimension_ids, reason, raw=reply), attempt)
        record = await client.complete(
            model, messages, purpose="judge", turn=attempt, replicate=0, label=item.blind_id,
            **extra,
        )
        if record.status != "ok":
            failure = _call_failure(record)
            tried.append(JudgeAttempt(reply=record.reply, error=failure))
            # The failed call's reply (if any) is the raw one; else the last reply that came.
            failed = _all_unscored(dimension_ids, f"{failure}{earlier}"[:MAX_ERROR_CHARS * 2],
                                   raw=record.reply or reply or None)
            return stamped(failed, attempt)
        reply = record.reply or ""
        reading = _read(reply, dimension_ids, item.messages)
        tried.append(JudgeAttempt(reply=reply, error=reading.error))
        if reading.error is None and reading.codes is not None:
            return stamped(reading.codes, attempt + 1)
        messages = [
            *messages,
            Message(role="assistant", content=reply),
            Message(role="user", content=reading.correction),
        ]
    if reading.codes is None:
        error = (reading.error or "")[:MAX_ERROR_CHARS]
        reason = f"invalid judge output after {attempts} attempt(s): {error}"
        return stamped(_all_unscored(dimension_ids, reason, raw=reply), attempts)
    return stamped([_evidence_failure(code, attempts, reply) for code in reading.codes],
                   attempts)


def _earlier(attempt: int, error: str | None) -> str:
    """What the replies before a re-ask got wrong, for the reason of a re-ask that failed."""
    if not attempt:
        return ""
    replies = "reply" if attempt == 1 else "replies"
    return f", after {attempt} invalid {replies}: {(error or '')[:MAX_ERROR_CHARS]}"


def _read(reply: str, dimension_ids: list[str], messages: Sequence[Message]) -> _Reading:
    """Validate a reply and look up each level's evidence quote in the conversation."""
    try:
        verdicts = parse_judge_reply(reply, dimension_ids)
    except JudgeReplyError as exc:
        return _Reading(codes=None, error=str(exc),
                        correction=correction_message(str(exc), dimension_ids))
    codes = [_code(d, verdicts[d], messages) for d in dimension_ids]
    lost = [code for code in codes if code.evidence_found is False]
    if not lost:
        return _Reading(codes=codes, error=None)
    error = "; ".join(
        f"the evidence quote for {code.dimension} ({code.evidence!r}) is not in the conversation"
        for code in lost
    )
    return _Reading(codes=codes, error=error,
                    correction=evidence_correction(error, dimension_ids))


def _code(dimension: str, verdict: JudgeVerdict, messages: Sequence[Message]) -> DimensionCode:
    evidence = verdict.evidence.strip() or None
    if verdict.level is None:
        return DimensionCode(
            dimension=dimension,
            status="null",
            reason=(verdict.reason or "").strip(),
            rationale=verdict.rationale,
            evidence=evidence,
        )
    # A level always comes with a quote (the reply format requires one).
    found = evidence is not None and evidence_in_transcript(evidence, messages)
    return DimensionCode(
        dimension=dimension,
        status="scored",
        level=verdict.level,
        rationale=verdict.rationale,
        evidence=evidence,
        evidence_found=found,
    )


def _evidence_failure(code: DimensionCode, attempts: int, raw: str) -> DimensionCode:
    """The last reply's code, unscored when its quote was still not found."""
    if code.evidence_found is not False:
        return code
    return DimensionCode(
        dimension=code.dimension,
        status="unscored",
        reason=f"{EVIDENCE_NOT_FOUND} after {attempts} attempt(s) (the judge gave level "
               f"{code.level})",
        rationale=code.rationale,
        evidence=code.evidence,
        evidence_found=False,
        raw=raw,
    )


def _call_failure(record: CallRecord) -> str:
    if record.status == "blocked":
        return "judge call blocked by the provider (content policy)"
    last = record.attempts[-1] if record.attempts else None
    if last is None:
        return "judge call failed before any attempt (see the provider log)"
    detail = " ".join(part for part in (last.error_class, last.message) if part)
    code = f" {last.status_code}" if last.status_code else ""
    return f"judge call failed after {len(record.attempts)} attempt(s){code}: {detail}"[
        :MAX_ERROR_CHARS
    ]


def _all_unscored(
    dimension_ids: Sequence[str], reason: str, *, raw: str | None
) -> list[DimensionCode]:
    return [
        DimensionCode(dimension=d, status="unscored", reason=reason, raw=raw) for d in dimension_ids
    ]

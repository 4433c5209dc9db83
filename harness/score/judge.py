"""LLM judges: one blinded item in, one code per rubric dimension out, with bounded re-asks.

This module owns the judging loop. It sends the prompt (``judge_prompt.py``), validates the
reply (``judge_reply.py``) and, while the reply is invalid, re-asks up to
``max_parse_retries`` times (the bad reply and a correction go back into the conversation);
after that every dimension of the item is ``unscored`` with the validation error as the
reason and the raw reply kept. A failed or blocked call is ``unscored`` too. Nothing is ever
coerced to a level. An evidence quote that is not found in the conversation does *not* void
the level (judges paraphrase, and one bad quote is weak grounds to discard a judgement); the
record keeps the level and says so in ``reason``, so analyses can filter on it.

Calls go through a ``ProviderClientLike`` (``harness.providers.ProviderClient`` in the real
pipeline), which owns retries, rate limits, the write-ahead cache and cost. This module never
reads files: the scoring stage hands it blinded items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from harness.rundir import BlindedItem, CallRecord, Message
from harness.schema import JudgeSpec, ModelSpec, RubricSpec
from harness.score.judge_prompt import MAX_ERROR_CHARS, build_judge_prompt, correction_message
from harness.score.judge_reply import (
    JudgeReplyError,
    JudgeVerdict,
    evidence_in_transcript,
    parse_judge_reply,
)
from harness.score.rubric import DimensionCode

__all__ = [
    "EVIDENCE_NOT_FOUND",
    "ProviderClientLike",
    "judge_item",
]

EVIDENCE_NOT_FOUND = "evidence quote not found verbatim in the transcript (level kept)"
"""``reason`` of a scored record whose evidence quote could not be located."""


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
    ) -> CallRecord:
        """One logical call; provider failures come back as ``status`` error/blocked."""
        ...


async def judge_item(
    item: BlindedItem, judge: JudgeSpec, rubric: RubricSpec, client: ProviderClientLike
) -> list[DimensionCode]:
    """Ask an LLM judge to code one item on every rubric dimension.

    The first call is re-asked up to ``judge.max_parse_retries`` times while the reply is
    invalid. Never raises for a judge failure: it comes back as ``unscored`` codes.

    Args:
        item: the blinded item.
        judge: an ``llm`` judge spec.
        rubric: the rubric.
        client: the provider client used for every call.

    Returns:
        One ``DimensionCode`` per rubric dimension, in rubric order.
    """
    dimension_ids = [d.id for d in rubric.dimensions]
    prompt = build_judge_prompt(item, rubric, template=judge.prompt_template)
    model = judge.as_model_spec()
    messages = list(prompt.messages)
    attempts = judge.max_parse_retries + 1
    last_error = ""
    last_reply: str | None = None
    for attempt in range(attempts):
        record = await client.complete(
            model, messages, purpose="judge", turn=attempt, replicate=0, label=item.blind_id
        )
        if record.status != "ok":
            return _all_unscored(dimension_ids, _call_failure(record), raw=record.reply)
        reply = record.reply or ""
        try:
            verdicts = parse_judge_reply(reply, dimension_ids)
        except JudgeReplyError as exc:
            last_error, last_reply = str(exc), reply
            messages = [
                *messages,
                Message(role="assistant", content=reply),
                Message(role="user", content=correction_message(last_error, dimension_ids)),
            ]
            continue
        return [_code(d, verdicts[d], item.messages) for d in dimension_ids]
    return _all_unscored(
        dimension_ids,
        f"invalid judge output after {attempts} attempt(s): {last_error[:MAX_ERROR_CHARS]}",
        raw=last_reply,
    )


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
    found = evidence is not None and evidence_in_transcript(evidence, messages)
    return DimensionCode(
        dimension=dimension,
        status="scored",
        level=verdict.level,
        reason=None if found else EVIDENCE_NOT_FOUND,
        rationale=verdict.rationale,
        evidence=evidence,
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

"""The judge's reply: validating it against the reply format, and checking its evidence.

This module owns the reading side of judging.

* **The reply.** The first JSON object with a ``scores`` key (inside a ```json fence if
  there is one; prose around it is tolerated) is validated with pydantic: every rubric
  dimension present, nothing else; ``level`` exactly the integer 0, 1 or 2 (not 2.0, "2" or
  true) or null with a reason; a rationale; an evidence quote whenever a level is given.
  Nothing is ever coerced to a level: an invalid reply is a ``JudgeReplyError`` whose message
  is short enough to send back to the judge.
* **Evidence.** A quote is checked against the conversation, ignoring case, whitespace,
  quote styles and ``...`` elisions.

What to do with an invalid reply (re-ask, then ``unscored``) and with a quote that is not
found is ``judge.py``'s; the prompt is ``judge_prompt.py``'s.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.rundir import Message
from harness.score.judge_prompt import neutralise_delimiters

__all__ = [
    "JudgeReply",
    "JudgeReplyError",
    "JudgeVerdict",
    "evidence_in_transcript",
    "parse_judge_reply",
]


class JudgeReplyError(ValueError):
    """The judge's reply is not usable; the message says why (it is sent back to the judge)."""


class JudgeVerdict(BaseModel):
    """The judge's verdict on one dimension, as it must appear in the reply."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    level: int | None
    """0, 1 or 2; null when the dimension is not applicable or cannot be judged."""
    reason: str | None = None
    """Required when ``level`` is null: why."""
    rationale: str = Field(min_length=1)
    """Why this level, by the rubric's anchors."""
    evidence: str = ""
    """A verbatim quote from the conversation supporting the level."""

    @field_validator("level", mode="before")
    @classmethod
    def _exact_level(cls, value: Any) -> Any:
        # pydantic accepts True and 2.0 for an int even in strict mode; a judge that writes
        # them has not followed the format, and guessing what it meant is coercion.
        if value is None:
            return None
        if type(value) is not int or value not in (0, 1, 2):
            raise ValueError(f"must be the integer 0, 1 or 2, or null (got {value!r})")
        return value

    @model_validator(mode="after")
    def _null_needs_reason(self) -> JudgeVerdict:
        if self.level is None and not (self.reason and self.reason.strip()):
            raise ValueError("level null needs a non-empty reason")
        if self.level is not None and not self.evidence.strip():
            raise ValueError("a level needs an evidence quote from the conversation")
        return self


class JudgeReply(BaseModel):
    """The whole reply: ``{"scores": {"D1": {...}, ...}}``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    scores: dict[str, JudgeVerdict]


def parse_judge_reply(reply: str, dimension_ids: Sequence[str]) -> dict[str, JudgeVerdict]:
    """Validate a judge's reply against the reply format and the rubric's dimensions.

    Args:
        reply: the judge's raw text.
        dimension_ids: the rubric's dimension ids; the reply must have exactly these.

    Returns:
        The verdict for each dimension id.

    Raises:
        JudgeReplyError: no JSON object, invalid JSON, a schema violation, or missing or
            unexpected dimensions; the message is short enough to send back to the judge.
    """
    data = _first_json_object(reply)
    try:
        parsed = JudgeReply.model_validate(data)
    except ValidationError as exc:
        raise JudgeReplyError(_summarise(exc)) from None
    missing = [d for d in dimension_ids if d not in parsed.scores]
    unexpected = sorted(set(parsed.scores) - set(dimension_ids))
    problems = []
    if missing:
        problems.append(f"missing dimensions: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected dimensions: {', '.join(unexpected)}")
    if problems:
        raise JudgeReplyError("; ".join(problems))
    return dict(parsed.scores)


_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)


def _first_json_object(reply: str) -> Any:
    text = reply.strip()
    if not text:
        raise JudgeReplyError("the reply is empty; expected one JSON object")
    candidates = [m.group(1).strip() for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    first_error: str | None = None
    for candidate in candidates:
        start = candidate.find("{")
        while start >= 0:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError as exc:
                first_error = first_error or f"invalid JSON ({exc.msg} at char {exc.pos})"
            else:
                if isinstance(value, dict) and "scores" in value:
                    return value
                first_error = first_error or 'the JSON object has no "scores" key'
            start = candidate.find("{", start + 1)
    raise JudgeReplyError(first_error or "no JSON object found in the reply")


def _summarise(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:4]:
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 4
    if more > 0:
        parts.append(f"and {more} more error(s)")
    return "; ".join(parts)


# --------------------------------------------------------------------------- evidence

_QUOTE_CHARS = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
_ELISION = re.compile(r"\.\.\.|\u2026|\[\s*\.\.\.\s*\]")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_CHARS).casefold()
    return " ".join(text.split())


def evidence_in_transcript(evidence: str, messages: Sequence[Message]) -> bool:
    """True when every fragment of ``evidence`` (split at ``...`` elisions) occurs, in order,
    in the conversation, ignoring case, whitespace and quote styles."""
    haystack = _normalise(" \n ".join(neutralise_delimiters(m.content) for m in messages))
    fragments = [
        _normalise(fragment).strip(" \"'")
        for fragment in _ELISION.split(neutralise_delimiters(evidence))
    ]
    fragments = [f for f in fragments if f]
    if not fragments:
        return False
    position = 0
    for fragment in fragments:
        found = haystack.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True

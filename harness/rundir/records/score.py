"""What coding writes: score records, and the agreement tables computed from them.

``scores/<coder>.jsonl`` holds one :class:`ScoreRecord` per (item, dimension) for one coder
(an LLM judge, the heuristic coder or a person); ``scores/rubrics/<hash>.json`` the rubric a
score's ``rubric_hash`` names, so that later stages never read the live ``configs/``.
``report/agreement.csv`` holds one :class:`AgreementRow` per estimate and
``report/agreement_confusion.json`` an :class:`AgreementConfusion`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.rundir.records.base import Record, StrictRecord
from harness.schema import DimensionId

__all__ = [
    "AGREEMENT_COLUMNS",
    "MAX_ATTEMPT_CHARS",
    "AgreementConfusion",
    "AgreementRow",
    "AgreementStatistic",
    "ConfusionMatrix",
    "JudgeAttempt",
    "PairKind",
    "ScoreRecord",
    "reason_kind",
]

AgreementStatistic = Literal[
    "percent_agreement", "cohen_kappa", "cohen_kappa_quadratic", "krippendorff_alpha_ordinal"
]
PairKind = Literal["human-human", "judge-judge", "human-judge", "all"]


MAX_ATTEMPT_CHARS = 4000
"""Longest reply or error text a ``JudgeAttempt`` keeps; a longer one is cut, saying so."""


def _bounded(text: str | None) -> str | None:
    """``text`` cut to at most ``MAX_ATTEMPT_CHARS``, saying how much was cut (so cutting a
    cut text again changes nothing)."""
    if text is None or len(text) <= MAX_ATTEMPT_CHARS:
        return text
    kept = MAX_ATTEMPT_CHARS - 64
    return f"{text[:kept]} [... {len(text) - kept} more characters cut]"


class JudgeAttempt(StrictRecord):
    """One reply an LLM judge was asked for while coding a record, kept so that an unscored or
    re-asked code can be audited from the score file alone (without the response cache)."""

    reply: str | None = None
    """The judge's raw reply (cut to ``MAX_ATTEMPT_CHARS``); null when the call failed."""
    error: str | None = None
    """Why this reply was not used (its validation error, a quote not found) or why the call
    failed (cut to ``MAX_ATTEMPT_CHARS``); null for the reply the code was taken from."""

    @field_validator("reply", "error")
    @classmethod
    def _cut(cls, value: str | None) -> str | None:
        return _bounded(value)


_ASIDE = re.compile(r"\s*\((?!s\))[^()]*\)")
"""A parenthesised aside, but not the ``(s)`` of ``attempt(s)``."""


def reason_kind(reason: str | None) -> str:
    """A reason without its particulars, for counting reasons: the text before its first
    ``:`` with parenthesised asides removed (``invalid judge output after 3 attempt(s): the
    reply is empty`` -> ``invalid judge output after 3 attempt(s)``)."""
    text = " ".join((reason or "no reason given").split())
    kind = _ASIDE.sub("", text.split(":", 1)[0]).strip()
    return kind or text[:80]


class ScoreRecord(Record):
    """One coder's score of one item on one dimension (schema ``xstress.score/1``)."""

    schema_: Literal["xstress.score/1"] = Field(default="xstress.score/1", alias="schema")
    """Record kind and version."""
    blind_id: str
    """The item scored."""
    dimension: DimensionId
    """The rubric dimension (``D1`` ...)."""
    coder: str
    """Coder name: a judge config name or a human coder's name."""
    coder_kind: Literal["llm_judge", "heuristic", "human"]
    """What kind of coder."""
    status: Literal["scored", "null", "unscored"]
    """``scored``: level 0-2. ``null``: the coder judged the dimension not applicable or not
    scorable (reason given). ``unscored``: the coder failed (e.g. invalid judge output after
    bounded retries); reason and raw reply kept. Nulls and unscored are never a 0."""
    level: int | None = Field(default=None, ge=0, le=2)
    """The level, for ``scored``."""
    reason: str | None = None
    """Why null or unscored. A reason starting ``context_window:`` means the prompt did not
    fit the judge's input limit (``max_input_tokens``) and no call was made for it."""
    rationale: str | None = None
    """The coder's reasoning, when given."""
    evidence: str | None = None
    """A quote from the transcript supporting the level."""
    evidence_found: bool | None = None
    """LLM judges: whether the evidence quote occurs verbatim in the conversation; a quote
    that does not is a failure (the record is ``unscored``), never a kept level. Null for
    coders that quote nothing checkable (humans, the heuristic)."""
    raw: str | None = None
    """The raw judge reply, kept when unscored."""
    path: Literal["structured", "parsed"] | None = None
    """LLM judges: how the reply was obtained. ``structured``: the reply's JSON schema was sent
    as ``response_format`` (the provider constrains the reply to it); ``parsed``: free text,
    the JSON object read out of it. Validated and re-asked alike. Null for other coders, for a
    pair no call was made for, and in files written before it was recorded."""
    asks: int | None = None
    """LLM judges: replies asked for before this code (1: the first reply was usable; more:
    re-asks after invalid replies). Null when no reply came (no call, or a failed call) and
    for other coders."""
    context_split: bool | None = None
    """LLM judges: true when the joint prompt did not fit the judge's input limit and this
    dimension was asked in a call of its own; null otherwise."""
    attempts: list[JudgeAttempt] = Field(default_factory=list)
    """LLM judges: every reply asked for on the way to this code, in order, each with why it
    was not used, whenever one was not (a re-ask, a failed call); empty when the first reply
    gave the code, for other coders, and in files written before it was recorded."""
    rubric_hash: str | None = None
    """Content hash of the rubric coded on."""
    coder_hash: str | None = None
    """Content hash of the judge config (null for humans)."""
    scored_at: str
    """ISO time of the score (UTC)."""

    @model_validator(mode="after")
    def _level_matches_status(self) -> ScoreRecord:
        if self.status == "scored" and self.level is None:
            raise ValueError("status 'scored' needs a level 0, 1 or 2")
        if self.status != "scored" and self.level is not None:
            raise ValueError(f"status {self.status!r} must have level null")
        if self.status != "scored" and not self.reason:
            raise ValueError(f"status {self.status!r} needs a reason")
        return self


AGREEMENT_COLUMNS = ("dimension", "coder_a", "coder_b", "statistic", "n_items", "value",
                     "ci_low", "ci_high", "note")
"""Columns of ``report/agreement.csv``, in order (the fields of :class:`AgreementRow`)."""


class AgreementRow(StrictRecord):
    """One agreement estimate: a row of ``report/agreement.csv``."""

    dimension: str
    """The rubric dimension."""
    coder_a: str
    """A coder's name, or ``all`` for Krippendorff's alpha."""
    coder_b: str
    """The other coder, or empty for Krippendorff's alpha."""
    statistic: AgreementStatistic
    """Which statistic."""
    n_items: int
    """Items both coders scored (kappa, agreement), or items with two or more levels (alpha)."""
    value: float | None
    """The estimate; empty in the CSV (None here) when it cannot be estimated."""
    ci_low: float | None = None
    """Lower end of its 95% bootstrap interval over items; empty when not estimable."""
    ci_high: float | None = None
    """Upper end of that interval."""
    note: str
    """Why a value is missing, what was treated as missing, and warnings (e.g. prevalence)."""

    @field_validator("value", "ci_low", "ci_high", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def csv_cells(self) -> list[str | int]:
        """The row's cells in ``AGREEMENT_COLUMNS`` order (``repr`` keeps every digit)."""
        def cell(number: float | None) -> str:
            return "" if number is None else repr(number)

        return [self.dimension, self.coder_a, self.coder_b, self.statistic, self.n_items,
                cell(self.value), cell(self.ci_low), cell(self.ci_high), self.note]


class ConfusionMatrix(StrictRecord):
    """Two coders' levels on one dimension, cross-tabulated."""

    dimension: str
    """The rubric dimension."""
    coder_a: str
    """Rows."""
    coder_b: str
    """Columns."""
    pair_kind: PairKind
    """Which kinds of coder the pair joins."""
    n_items: int
    """Items both scored."""
    counts: list[list[int]]
    """``counts[i][j]``: items coder_a put at level i and coder_b at level j."""


class AgreementConfusion(Record):
    """``report/agreement_confusion.json`` (schema ``xstress.agreement_confusion/1``)."""

    schema_: Literal["xstress.agreement_confusion/1"] = Field(
        default="xstress.agreement_confusion/1", alias="schema"
    )
    """Record kind and version."""
    labels: list[int]
    """The levels, in row and column order."""
    layout: str
    """How to read ``counts``, in words."""
    matrices: list[ConfusionMatrix]
    """One per coder pair and dimension."""

"""The records a run directory holds: one pydantic model per kind of line or file.

Every file one stage writes and another reads is described here, with ``extra="forbid"``, a
``schema`` version where the file is read back by another stage, and a docstring under each
field. This module owns the *shape* of those records; where they live is ``layout.py``
(``RunDir``) and how they are written and read is ``files.py``. Config objects (models,
scaffolds, prompt sets, rubrics, judges) are ``harness.schema``'s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.schema import DimensionId, ModelParams

__all__ = [
    "Attempt",
    "BlindedItem",
    "CacheEntry",
    "CallRecord",
    "KeyEntry",
    "Message",
    "ScoreRecord",
    "TranscriptRecord",
    "Usage",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- records on disk


class Message(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class Usage(_Strict):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class Attempt(_Strict):
    """One HTTP attempt of a provider call."""

    number: int
    """1 for the first attempt."""
    started_at: str
    latency_s: float
    outcome: Literal["ok", "retryable", "fatal", "blocked"]
    error_class: str | None = None
    status_code: int | None = None
    message: str | None = None
    """The provider's error message, truncated; never a key."""
    wait_s: float | None = None
    """Seconds waited before the next attempt (Retry-After honoured)."""


class CallRecord(_Strict):
    """One logical provider call (a reply, a scaffold pass, a simulated user turn)."""

    purpose: str
    """``reply``, ``pass:<name>`` or ``simulated_user``."""
    turn: int
    """Index of the user turn this call belongs to (0-based)."""
    request_fingerprint: str
    request: list[Message]
    """The messages actually sent (system prompt and wrappers included)."""
    status: Literal["ok", "error", "blocked"]
    reply: str | None = None
    model_reported: str | None = None
    """The model version the provider reported (e.g. gpt-4o-2024-08-06)."""
    system_fingerprint: str | None = None
    usage: Usage = Usage()
    cost_usd: float | None = None
    latency_s: float = 0.0
    from_cache: bool = False
    """Served from the write-ahead cache or a replay recording: not paid for again."""
    attempts: list[Attempt] = Field(default_factory=list)
    error: str | None = None
    """Why the call failed (status ``error``), e.g. the last attempt's error or an earlier
    authentication failure of this model that stopped further calls."""


class TranscriptRecord(_Strict):
    """One finished cell (schema ``xstress.transcript/1``), a line of transcripts.jsonl."""

    schema_: Literal["xstress.transcript/1"] = Field(
        default="xstress.transcript/1", alias="schema"
    )
    run_id: str
    cell_id: str
    model: str
    scaffold: str
    prompt_id: str
    prompt_set: str
    domain: str
    probe: str
    replicate: int
    status: Literal["ok", "error", "blocked"]
    simulated: bool = False
    """True when the model is one of xstress's simulated models: not a real model's output."""
    messages: list[Message]
    """The conversation as the user saw it: their own turns and the replies shown to them."""
    calls: list[CallRecord]
    usage: Usage
    cost_usd: float | None
    error: str | None = None
    started_at: str
    finished_at: str
    scaffold_hash: str
    prompt_hash: str
    model_hash: str
    model_params: ModelParams
    litellm_model: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CacheEntry(_Strict):
    """A provider reply, written before it is used (write-ahead), keyed by fingerprint."""

    request_fingerprint: str
    status: Literal["ok", "blocked"]
    reply: str
    model_reported: str | None = None
    system_fingerprint: str | None = None
    usage: Usage = Usage()
    cost_usd: float | None = None
    latency_s: float = 0.0
    recorded_at: str


# --------------------------------------------------------------------------- blinding and scoring


class BlindedItem(_Strict):
    """What a coder sees (schema ``xstress.blinded/1``), a line of blind/items.jsonl.

    Holds no model, scaffold, system prompt, pass, timing, cost or token count.
    """

    schema_: Literal["xstress.blinded/1"] = Field(default="xstress.blinded/1", alias="schema")
    blind_id: str
    scenario_id: str
    domain: str
    messages: list[Message]
    """The user's turns as written and the assistant replies the user saw (scrubbed)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class KeyEntry(_Strict):
    """A line of blind/key.jsonl (mode 0600): which cell a blind_id stands for."""

    blind_id: str
    cell_id: str
    model: str
    scaffold: str
    prompt_id: str
    replicate: int


class ScoreRecord(_Strict):
    """One coder's score of one item on one dimension (schema ``xstress.score/1``)."""

    schema_: Literal["xstress.score/1"] = Field(default="xstress.score/1", alias="schema")
    blind_id: str
    dimension: DimensionId
    coder: str
    """Coder name: a judge config name or a human coder's name."""
    coder_kind: Literal["llm_judge", "heuristic", "human"]
    status: Literal["scored", "null", "unscored"]
    """``scored``: level 0-2. ``null``: the coder judged the dimension not applicable or not
    scorable (reason given). ``unscored``: the coder failed (e.g. invalid judge output after
    bounded retries); reason and raw reply kept. Nulls and unscored are never a 0."""
    level: int | None = Field(default=None, ge=0, le=2)
    reason: str | None = None
    rationale: str | None = None
    evidence: str | None = None
    """A quote from the transcript supporting the level."""
    raw: str | None = None
    """The raw judge reply, kept when unscored."""
    rubric_hash: str | None = None
    coder_hash: str | None = None
    """Content hash of the judge config (null for humans)."""
    scored_at: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _level_matches_status(self) -> ScoreRecord:
        if self.status == "scored" and self.level is None:
            raise ValueError("status 'scored' needs a level 0, 1 or 2")
        if self.status != "scored" and self.level is not None:
            raise ValueError(f"status {self.status!r} must have level null")
        if self.status != "scored" and not self.reason:
            raise ValueError(f"status {self.status!r} needs a reason")
        return self



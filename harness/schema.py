"""Pydantic schemas for everything xstress reads from config files and writes to disk.

Config objects (models, scaffolds, prompt sets, run settings) and on-disk records (transcripts,
cache entries, the manifest) live here so that every stage agrees on one definition. Every
model forbids unknown fields, so a typo is an error that names the field. This module owns the
*shape* of data and its content hash; it does not load files (``config.py``) or write them
(``store.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DIMENSION_IDS",
    "BlindSettings",
    "JudgeSpec",
    "ModelLimits",
    "ModelParams",
    "ModelSpec",
    "PassSpec",
    "PipelineSettings",
    "PromptSet",
    "ProviderSettings",
    "ReplaySettings",
    "ReportSettings",
    "RubricDimension",
    "RubricSpec",
    "RunSettings",
    "ScaffoldSpec",
    "Scenario",
    "SimulatedUser",
    "Turn",
    "canonical_json",
    "content_hash",
]

DIMENSION_IDS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8")
DimensionId = Annotated[str, Field(pattern=r"^D[1-9][0-9]*$")]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=80)]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the input of every content hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of ``value`` (a pydantic model or plain data)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- models


class ModelParams(_Strict):
    """Sampling parameters sent with every call to the model."""

    temperature: float | None = 0.7
    """Sampling temperature; null leaves the provider's default."""
    max_tokens: int | None = Field(default=1024, ge=1)
    """Upper bound on reply tokens."""
    top_p: float | None = None
    """Nucleus sampling; null leaves the provider's default."""
    seed: int | None = None
    """Provider-side sampling seed where supported."""


class ModelLimits(_Strict):
    """Per-model rate limits, for this process (divide by the number of shards)."""

    rpm: int | None = Field(default=None, ge=1)
    """Requests started per minute; null means unlimited."""
    tpm: int | None = Field(default=None, ge=1)
    """Tokens per minute. Recorded in the manifest but NOT enforced yet (the sweep warns when
    it is set); limit with ``rpm`` and ``max_concurrency``."""
    max_concurrency: int = Field(default=16, ge=1)
    """Requests in flight at once for this model."""


class ModelSpec(_Strict):
    """One target model (``configs/models/<name>.yaml``)."""

    name: Name
    """What reports call the model before blinding; equals the file name."""
    litellm_model: str = Field(min_length=1)
    """Any litellm model string, e.g. ``openai/gpt-4o``; ``xstress-sim/<persona>`` is simulated."""
    family: str = Field(min_length=1)
    """Vendor family, used to warn when a judge shares a target's family."""
    api_base: str | None = None
    """Optional endpoint (proxy, vLLM, local server)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the key; never the key itself."""
    aliases: list[str] = Field(default_factory=list)
    """Other names the model may call itself by (used by blinding to scrub them)."""
    params: ModelParams = ModelParams()
    limits: ModelLimits = ModelLimits()

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_a_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(
                "must be the NAME of an environment variable (e.g. OPENAI_API_KEY), "
                "never the key itself"
            )
        return value

    @property
    def simulated(self) -> bool:
        """True for xstress's built-in simulated models (no network, no key)."""
        return self.litellm_model.startswith(("xstress-sim/", "xstress-mock/"))


# --------------------------------------------------------------------------- scaffolds


class PassSpec(_Strict):
    """An extra model call after each reply (e.g. a self-check)."""

    name: Name
    instruction: str = Field(min_length=1)
    """Sent as a user message after the draft reply; the model answers with a revision."""
    replace_reply: bool = True
    """If true, the pass's answer replaces the draft as what the user sees."""


class ScaffoldSpec(_Strict):
    """A scaffold (``scaffolds/<name>.yaml``): system prompt, user wrapper, extra passes."""

    name: Name
    description: str = ""
    targets: list[DimensionId] = Field(default_factory=list)
    """Rubric dimensions the scaffold is meant to move."""
    system: str | None = None
    """System prompt; null or empty means none."""
    user_template: str = "{user}"
    """How each user turn is wrapped; must contain ``{user}`` exactly once."""
    passes: list[PassSpec] = Field(default_factory=list)

    @field_validator("user_template")
    @classmethod
    def _has_user_slot(cls, value: str) -> str:
        if value.count("{user}") != 1:
            raise ValueError("must contain the placeholder {user} exactly once")
        try:
            value.format(user="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"is not a valid template ({exc}); write literal braces as {{{{ and }}}}"
            ) from None
        return value

    @field_validator("system")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @model_validator(mode="after")
    def _unique_passes(self) -> ScaffoldSpec:
        names = [p.name for p in self.passes]
        if len(names) != len(set(names)):
            raise ValueError("passes: each pass needs a distinct name")
        return self


# --------------------------------------------------------------------------- prompts


class SimulatedUser(_Strict):
    """An LLM playing the user for some turns."""

    persona: str = Field(min_length=1)
    goal: str = Field(min_length=1)
    max_turns: int = Field(default=1, ge=1, le=4)
    model: str | None = None
    """Model config name playing the user; null uses the target model under test."""


class Turn(_Strict):
    """One user turn: fixed text (``user``) or a ``simulated_user`` block."""

    user: str | None = None
    simulated_user: SimulatedUser | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Turn:
        if (self.user is None) == (self.simulated_user is None):
            raise ValueError("a turn needs exactly one of 'user' (text) or 'simulated_user'")
        if self.user is not None and not self.user.strip():
            raise ValueError("a 'user' turn must not be empty")
        return self


class Scenario(_Strict):
    """One stress-test scenario: the user's turns and what they probe."""

    id: Name
    domain: str = Field(min_length=1)
    probe: Literal["underspecified", "checkable", "multiturn"]
    targets: list[DimensionId] = Field(min_length=1)
    turns: list[Turn] = Field(min_length=1, max_length=8)
    notes: str = ""
    """For authors: what the scenario is meant to elicit. Never shown to models or coders."""


class PromptSet(_Strict):
    """A prompt set (``configs/prompts/<name>.yaml``)."""

    name: Name
    description: str = ""
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> PromptSet:
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.id in seen:
                raise ValueError(f"scenarios: id {scenario.id!r} appears twice")
            seen.add(scenario.id)
        return self


# --------------------------------------------------------------------------- run settings


class RunSettings(_Strict):
    """Run-level settings (``run.*`` on the command line)."""

    name: str | None = None
    """Run directory name; default a timestamp with microseconds. Same name resumes."""
    out_dir: str = "transcripts"
    replicates: int = Field(default=1, ge=1)
    concurrency: int = Field(default=32, ge=1)
    """Cells in flight at once across all models."""
    max_cost_usd: float | None = Field(default=None, ge=0)
    """Budget gate: no new cell starts once spent + in-flight estimate would pass it."""
    shard: int = Field(default=0, ge=0)
    num_shards: int = Field(default=1, ge=1)
    seed: int = 0
    timeout_s: float = Field(default=120.0, gt=0)
    """Per-request HTTP timeout."""
    max_attempts: int = Field(default=6, ge=1)
    """Attempts per request, the first included."""
    max_retry_wait_s: float = Field(default=300.0, gt=0)
    """Total time one request may spend waiting between attempts."""
    retry_base_s: float = Field(default=1.0, ge=0)
    """First backoff step; doubles per attempt (with jitter), capped at 60 s."""
    progress: bool = True
    """Show a progress bar (on a terminal)."""

    @model_validator(mode="after")
    def _shard_in_range(self) -> RunSettings:
        if self.shard >= self.num_shards:
            raise ValueError(f"shard ({self.shard}) must be < num_shards ({self.num_shards})")
        if self.name is not None and not re.fullmatch(NAME_PATTERN, self.name):
            raise ValueError("name: use letters, digits, '_', '-', '.' only (it is a folder)")
        return self


class ProviderSettings(_Strict):
    """How calls are served: ``live`` (litellm), ``replay`` (recordings), ``mock`` (scripted)."""

    mode: Literal["live", "replay", "mock"] = "live"
    api_base: str | None = None
    """Overrides every model's endpoint (gateway, proxy, local test server)."""
    mock_reply: str = "This is a scripted mock reply to: {last_user}"
    """mock mode: reply template; {last_user} is the last user message."""
    mock_latency_s: float = Field(default=0.0, ge=0)
    mock_errors: list[str] = Field(default_factory=list)
    """mock mode: exception names raised on the first attempts of each request, in order
    (e.g. ['RateLimitError', 'InternalServerError'])."""


class ReplaySettings(_Strict):
    """Replay a previous run's recordings (``provider=replay replay.from=<run_dir>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str | None = Field(default=None, alias="from")
    strict: bool = True
    """A missing recording is an error naming the cell and turn, never a live call."""


Stage = Literal["sweep", "blind", "score", "report"]
DEFAULT_STAGES: tuple[Stage, ...] = ("sweep", "blind", "score", "report")


class PipelineSettings(_Strict):
    """Which stages ``xstress run`` runs (``pipeline.stages``)."""

    stages: list[Stage] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    """In order: ``[sweep]`` stops after the sweep."""


class BlindSettings(_Strict):
    """How the blind stage runs (``blind.*``; on ``xstress blind`` the prefix may be left out)."""

    seed: int | None = None
    """Makes the item order and the audit sample reproducible (blind ids stay random); null:
    ``xstress run`` uses ``run.seed``, ``xstress blind`` a random order."""
    tells: str | None = None
    """A tells file other than ``configs/blinding/tells.yaml``."""


class ReportSettings(_Strict):
    """How the report is built (``report.*``; on ``xstress report`` the prefix may be left out)."""

    baseline: str = "bare"
    """The scaffold that effects are measured against."""
    coder: str | None = None
    """Whose scores the profiles use: a coder name, ``judges-mean`` or ``adjudicated``; null:
    chosen by rule and stated in the report."""
    n_boot: int = Field(default=2000, ge=1)
    """Bootstrap resamples (of prompts) per confidence interval."""
    n_perm: int = Field(default=2000, ge=0)
    """Permutations per model-dependence test."""
    seed: int | None = None
    """Seed of every resampling RNG; null: ``xstress run`` uses ``run.seed``, ``xstress
    report`` 0."""


# --------------------------------------------------------------------------- rubric


class RubricDimension(_Strict):
    """One rubric dimension with an anchored description of each level."""

    id: DimensionId
    name: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    levels: dict[int, str]
    """Anchors for levels 0, 1 and 2 (keys exactly 0, 1, 2)."""
    not_applicable_when: str = ""
    """When a coder should give null instead of a level."""

    @field_validator("levels")
    @classmethod
    def _three_levels(cls, value: dict[int, str]) -> dict[int, str]:
        if sorted(value) != [0, 1, 2]:
            raise ValueError("needs anchors for exactly the levels 0, 1 and 2")
        if any(not text.strip() for text in value.values()):
            raise ValueError("every level needs a non-empty anchor description")
        return value


class RubricSpec(_Strict):
    """A rubric (``configs/rubric/<name>.yaml``)."""

    name: Name
    description: str = ""
    dimensions: list[RubricDimension] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_dimensions(self) -> RubricSpec:
        ids = [d.id for d in self.dimensions]
        if len(ids) != len(set(ids)):
            raise ValueError("dimensions: each id must appear once")
        return self


# --------------------------------------------------------------------------- judges


class JudgeSpec(_Strict):
    """A coder that is not a person (``configs/judges/<name>.yaml``).

    ``kind: heuristic`` is xstress's deterministic, transparent rule-based coder;
    ``kind: llm`` calls a model through litellm with the sweep's retry and cache machinery.
    """

    name: Name
    kind: Literal["llm", "heuristic"]
    description: str = ""
    litellm_model: str | None = None
    """llm judges: any litellm model string."""
    family: str | None = None
    """llm judges: vendor family; a warning (or refusal) when it equals a target's family."""
    api_base: str | None = None
    api_key_env: str | None = None
    params: ModelParams = ModelParams(temperature=0.0, max_tokens=2048, seed=0)
    limits: ModelLimits = ModelLimits()
    prompt_template: str | None = None
    """llm judges: override of the built-in judge prompt; placeholders {rubric}, {transcript}."""
    max_parse_retries: int = Field(default=2, ge=0, le=10)
    """Re-asks after an invalid reply before the item is recorded ``unscored``."""
    on_family_match: Literal["warn", "refuse"] = "warn"

    @model_validator(mode="after")
    def _llm_needs_model(self) -> JudgeSpec:
        if self.kind == "llm" and not (self.litellm_model and self.family):
            raise ValueError("an llm judge needs litellm_model and family")
        return self

    def as_model_spec(self) -> ModelSpec:
        """The judge's model as a ModelSpec, so the sweep's provider machinery can call it."""
        if self.kind != "llm" or self.litellm_model is None or self.family is None:
            raise ValueError(f"judge {self.name!r} is not an llm judge")
        return ModelSpec(
            name=self.name,
            litellm_model=self.litellm_model,
            family=self.family,
            api_base=self.api_base,
            api_key_env=self.api_key_env,
            params=self.params,
            limits=self.limits,
        )

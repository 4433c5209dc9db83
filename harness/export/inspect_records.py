"""The part of Inspect AI's eval log format (log file version 2, JSON) that xstress writes.

Each model here mirrors an object of Inspect's documented ``EvalLog`` (``inspect_ai.log``):
the same field names and meanings, only the fields xstress fills. xstress never imports
``inspect_ai`` at run time; the tests read every exported log back with Inspect's own reader
(``inspect_ai.log.read_eval_log``), which is what ties these shapes to the real format. This
module owns the shapes only; ``inspect_log.py`` fills them from a run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "InspectChoice",
    "InspectDataset",
    "InspectDimensionScore",
    "InspectEvalLog",
    "InspectEvalScore",
    "InspectEvalSpec",
    "InspectGenerateConfig",
    "InspectMessage",
    "InspectMetric",
    "InspectOutput",
    "InspectPlan",
    "InspectPlanStep",
    "InspectResults",
    "InspectSample",
    "InspectSampleMetadata",
    "InspectScore",
    "InspectStats",
    "InspectUsage",
]



class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InspectUsage(_Part):
    """Inspect's ``ModelUsage``: tokens (and cost) of one model."""

    input_tokens: int = 0
    """Request tokens."""
    output_tokens: int = 0
    """Reply tokens."""
    total_tokens: int = 0
    """Their sum, as the provider reported it."""
    total_cost: float | None = None
    """Dollars, when every call's price was known."""


class InspectMessage(_Part):
    """Inspect's ``ChatMessage`` (system, user or assistant; text content)."""

    role: Literal["system", "user", "assistant"]
    """Who speaks."""
    content: str
    """The text."""
    source: Literal["input", "generate"] | None = None
    """``input`` for the scenario's turns, ``generate`` for the model's replies."""
    model: str | None = None
    """The model that wrote an assistant message."""


class InspectChoice(_Part):
    """Inspect's ``ChatCompletionChoice``."""

    message: InspectMessage
    """The final assistant message."""
    stop_reason: Literal["stop", "max_tokens", "unknown"] = "stop"
    """Why generation stopped (``max_tokens``: the reply was cut off at the length limit)."""


class InspectOutput(_Part):
    """Inspect's ``ModelOutput``: the cell's final reply."""

    model: str
    """The model that replied (the version the provider reported, else the litellm id)."""
    choices: list[InspectChoice]
    """One choice: the last reply the user saw."""
    completion: str
    """Its text."""
    usage: InspectUsage
    """Tokens of the whole cell."""


class InspectDimensionScore(_Part):
    """One coder's code on one dimension, kept in a score's metadata."""

    status: Literal["scored", "null", "unscored", "missing"]
    """As in ``scores/<coder>.jsonl``; ``missing``: the coder has no record for it."""
    level: int | None = None
    """0, 1 or 2 when scored."""
    reason: str | None = None
    """Why null or unscored."""
    rationale: str | None = None
    """The coder's reasoning."""
    evidence: str | None = None
    """The quote supporting the level."""


class InspectScore(_Part):
    """Inspect's ``Score``: one coder's levels on every dimension of one sample."""

    value: dict[str, int | None]
    """Dimension -> level (0-2); None where the coder gave no level (null, unscored,
    missing), never 0."""
    explanation: str
    """Counts of scored, null and unscored dimensions, in words."""
    metadata: dict[str, InspectDimensionScore]
    """Dimension -> the code in full (status, reason, rationale, evidence)."""


class InspectSampleMetadata(_Part):
    """What xstress knows of the cell behind a sample."""

    cell_id: str
    """Stable id of (model, scaffold, scenario, replicate)."""
    blind_id: str | None = None
    """The cell's blinded item (its scores' key); absent when the run is not blinded."""
    model: str
    """xstress model name."""
    scaffold: str
    """Scaffold name."""
    prompt_set: str
    """The prompt set."""
    domain: str
    """The scenario's domain."""
    probe: str
    """underspecified, checkable or multiturn."""
    replicate: int
    """Replicate index, from 0 (the sample's epoch is replicate + 1)."""
    targets: list[str]
    """Dimensions the scenario is written to probe."""
    simulated: bool
    """True for xstress's simulated models: not a real model's output."""
    cost_usd: float | None
    """Cost of the cell's calls; None when a price is unknown."""
    scaffold_hash: str
    """Content hash of the scaffold."""
    prompt_hash: str
    """Content hash of the scenario."""
    model_hash: str
    """Content hash of the model's identity and sampling parameters."""


class InspectSample(_Part):
    """Inspect's ``EvalSample``: one ``ok`` cell."""

    id: str
    """The scenario id (Inspect's sample id: the dataset item)."""
    epoch: int
    """Replicate + 1 (Inspect counts epochs from 1)."""
    input: str
    """The user's first turn."""
    target: str
    """The scenario's reference notes (what a good answer does), or empty."""
    messages: list[InspectMessage]
    """The conversation as the user saw it (system prompt and scaffold passes are in the
    transcript's calls, not here)."""
    output: InspectOutput
    """The final reply."""
    scores: dict[str, InspectScore]
    """Coder -> its levels on every dimension."""
    metadata: InspectSampleMetadata
    """The cell."""
    model_usage: dict[str, InspectUsage]
    """Tokens by model (the litellm id)."""
    started_at: str
    """ISO time the cell started (UTC)."""
    completed_at: str
    """ISO time it finished (UTC)."""
    total_time: float
    """Seconds between the two."""
    uuid: str
    """Unique sample id: the cell id."""


class InspectDataset(_Part):
    """Inspect's ``EvalDataset``."""

    name: str
    """The prompt set."""
    samples: int
    """Samples in this log."""
    sample_ids: list[str]
    """Their ids (scenario ids), sorted."""


class InspectGenerateConfig(_Part):
    """Inspect's ``GenerateConfig``: the sampling parameters sent."""

    temperature: float | None = None
    """Sampling temperature."""
    max_tokens: int | None = None
    """Upper bound on reply tokens."""
    top_p: float | None = None
    """Nucleus sampling."""
    seed: int | None = None
    """Provider-side seed."""


class InspectEvalSpec(_Part):
    """Inspect's ``EvalSpec``: one model under one scaffold."""

    eval_id: str
    """Stable id of (run, model, scaffold)."""
    run_id: str
    """The xstress run's name."""
    created: str
    """ISO time the run started (UTC)."""
    task: str
    """``xstress/<scaffold>``: the scaffold is the system under test around the model."""
    task_id: str
    """Stable id of (run, scaffold)."""
    task_version: int = 0
    """Always 0."""
    task_display_name: str
    """Prompt set and scaffold, marked SIMULATED for simulated models."""
    tags: list[str]
    """``xstress``, and ``simulated`` for simulated models."""
    dataset: InspectDataset
    """The scenarios."""
    model: str
    """The litellm model id called."""
    model_generate_config: InspectGenerateConfig
    """Sampling parameters."""
    config: dict[str, int] = Field(default_factory=dict)
    """Inspect's ``EvalConfig``: the epochs (replicates)."""
    packages: dict[str, str]
    """Versions (xstress, litellm, python ...) from the manifest."""
    metadata: dict[str, str | int | bool | None]
    """The xstress model name, scaffold, run, counts of error and blocked cells left out of
    the samples, and a note for simulated runs."""


class InspectPlanStep(_Part):
    """Inspect's ``EvalPlanStep``: the scaffold, as the solver around the model."""

    solver: str
    """``xstress/scaffold``."""
    params: dict[str, str | list[str]]
    """Its name, hash, description and passes."""


class InspectPlan(_Part):
    """Inspect's ``EvalPlan``."""

    name: str = "plan"
    """Always ``plan``."""
    steps: list[InspectPlanStep]
    """One step: the scaffold."""


class InspectMetric(_Part):
    """Inspect's ``EvalMetric``."""

    name: str
    """``mean``."""
    value: float
    """Mean level over the samples with a level on the dimension."""


class InspectEvalScore(_Part):
    """Inspect's ``EvalScore``: one coder on one dimension."""

    name: str
    """``<coder>/<dimension>``."""
    scorer: str
    """The coder."""
    scored_samples: int
    """Samples with a level on the dimension."""
    unscored_samples: int
    """Samples without one (null, unscored, missing)."""
    metrics: dict[str, InspectMetric]
    """``mean`` (absent when no sample has a level)."""


class InspectResults(_Part):
    """Inspect's ``EvalResults``."""

    total_samples: int
    """Samples in the log (``ok`` cells)."""
    completed_samples: int
    """The same: every exported sample completed."""
    scores: list[InspectEvalScore]
    """Per coder and dimension."""


class InspectStats(_Part):
    """Inspect's ``EvalStats``."""

    started_at: str
    """First cell's start (UTC)."""
    completed_at: str
    """Last cell's finish (UTC)."""
    model_usage: dict[str, InspectUsage]
    """Tokens by model, over the samples."""


class InspectEvalLog(_Part):
    """Inspect's ``EvalLog`` (file format version 2): one model x scaffold of a run."""

    version: Literal[2] = 2
    """Eval log file format version."""
    status: Literal["success"] = "success"
    """The export holds finished cells only."""
    eval: InspectEvalSpec
    """Identity and configuration."""
    plan: InspectPlan
    """The scaffold."""
    results: InspectResults
    """Scores and metrics."""
    stats: InspectStats
    """Times and usage."""
    samples: list[InspectSample]
    """One per ``ok`` cell."""

"""Run-time settings: ``run.*``, ``provider.*``, ``replay.*``, ``pipeline.*``, ``blind.*`` and
``report.*`` in ``configs/config.yaml`` and on the command line.

This module owns their shape, defaults and range checks; Hydra composes them and
``harness.config`` validates them into a ``RunConfig``.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from harness.schema.base import NAME_PATTERN, Spec

__all__ = [
    "DEFAULT_STAGES",
    "BlindSettings",
    "PipelineSettings",
    "ProviderSettings",
    "ReplaySettings",
    "ReportSettings",
    "RunSettings",
    "Stage",
    "Workers",
    "usable_cores",
]


# --------------------------------------------------------------------------- run settings


def _workers(value: object) -> object:
    """A number >= 1, ``auto`` or null; anything else is one clear message."""
    if value is None or value == "auto":
        return value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"workers={value!r}: use a whole number >= 1, or auto (the usable "
                         f"cores)")
    return value


Workers = Annotated[int | Literal["auto"] | None, BeforeValidator(_workers)]
"""Processes sharing a stage's work: a number, ``auto`` (the usable cores) or null (the
stage's own default)."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class RunSettings(Spec):
    """Run-level settings (``run.*`` on the command line)."""

    name: str | None = None
    """Run directory name; default a timestamp with microseconds. Same name resumes."""
    out_dir: str = "transcripts"
    """Folder holding run directories (``<out_dir>/<name>``)."""
    replicates: int = Field(default=1, ge=1)
    """Times each (model, scaffold, scenario) cell is run."""
    concurrency: int = Field(default=32, ge=1)
    """Calls in flight at once: cells in the sweep, items per LLM judge when scoring (each
    model's ``limits.max_concurrency`` also holds)."""
    max_cost_usd: float | None = Field(default=None, ge=0)
    """Budget gate: no new cell starts once spent + in-flight estimate would pass it."""
    shard: int = Field(default=0, ge=0)
    """This process's shard of the cells (0-based)."""
    num_shards: int = Field(default=1, ge=1)
    """Shards the cells are split into (by cell_id); each writes its own files."""
    workers: Workers = None
    """Processes of this machine that share the work: the sweep's cells (each worker one slice
    by cell_id, with its own files), the blinding's buckets and LLM judges' items; ``auto``:
    the usable cores. Rate limits, ``concurrency`` and the budget are divided between them.
    null: one process for the sweep and the judges; the blinding's own choice (processes for
    large runs)."""
    seed: int = 0
    """Seed of the blinding order and the report's resampling when blind.seed and report.seed
    are null."""
    timeout_s: float = Field(default=120.0, gt=0)
    """Per-request HTTP timeout, for target models and LLM judges alike."""
    max_attempts: int = Field(default=6, ge=1)
    """Attempts per request, the first included."""
    max_retry_wait_s: float = Field(default=300.0, gt=0)
    """Total time one request may spend waiting between attempts."""
    retry_base_s: float = Field(default=1.0, ge=0)
    """First backoff step; doubles per attempt (with jitter), capped at 60 s."""
    progress: bool = True
    """Show a progress bar (on a terminal)."""
    limit: int | None = Field(default=None, ge=1)
    """Run only the first N cells of this shard, in the sweep's fixed order (a cheap smoke
    test; cell ids do not change, so a later run under the same name resumes them)."""
    only: list[str] | None = None
    """Run only these scenario ids of the prompt set (also written prompts.only=[id,...])."""

    @field_validator("only", mode="before")
    @classmethod
    def _one_id_is_a_list(cls, value: object) -> object:
        # ``run.only=health-x`` reaches here as a string; one id is a list of one.
        return [value] if isinstance(value, str) else value
    max_turn_chars: int = Field(default=20_000, ge=1)
    """Longest user turn accepted (characters; a simulated user's card counts as its turn's
    text); a longer one is refused before any call, naming the file and the turn."""
    max_scaffold_chars: int = Field(default=50_000, ge=1)
    """Longest scaffold text accepted (the system prompt, the user template and each pass's
    instruction, each counted alone)."""
    max_prompt_set_chars: int = Field(default=2_000_000, ge=1)
    """Largest prompt set accepted (characters of text over all its scenarios)."""

    def worker_count(self) -> int:
        """``workers`` as a number: ``auto`` is the cores this process may run on; null 1."""
        if self.workers == "auto":
            return usable_cores()
        return self.workers or 1

    @model_validator(mode="after")
    def _shard_in_range(self) -> RunSettings:
        if self.shard >= self.num_shards:
            raise ValueError(f"shard ({self.shard}) must be < num_shards ({self.num_shards})")
        if self.name is not None and not re.fullmatch(NAME_PATTERN, self.name):
            raise ValueError("name: use letters, digits, '_', '-', '.' only (it is a folder)")
        return self


class ProviderSettings(Spec):
    """How calls are served: ``live`` (litellm), ``replay`` (recordings), ``mock`` (scripted)."""

    mode: Literal["live", "replay", "mock"] = "live"
    """Which provider serves the sweep's calls (LLM judges always call live)."""
    api_base: str | None = None
    """Overrides every model's endpoint (gateway, proxy, local test server)."""
    mock_reply: str = "This is a scripted mock reply to: {last_user}"
    """mock mode: reply template; {last_user} is the last user message."""
    mock_latency_s: float = Field(default=0.0, ge=0)
    """mock mode: seconds each reply takes."""
    mock_errors: list[str] = Field(default_factory=list)
    """mock mode: exception names raised on the first attempts of each request, in order
    (e.g. ['RateLimitError', 'InternalServerError'])."""


class ReplaySettings(Spec):
    """Replay a previous run's recordings (``provider=replay replay.from=<run_dir>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              use_attribute_docstrings=True)

    from_: str | None = Field(default=None, alias="from")
    """The run directory whose recordings (``cache/``) serve the calls."""
    strict: bool = True
    """A missing recording is an error naming the cell and turn, never a live call."""


Stage = Literal["sweep", "blind", "score", "report"]
DEFAULT_STAGES: tuple[Stage, ...] = ("sweep", "blind", "score", "report")


class PipelineSettings(Spec):
    """Which stages ``xstress run`` runs (``pipeline.stages``)."""

    stages: list[Stage] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    """In order: ``[sweep]`` stops after the sweep."""
    max_unscored_share: float = Field(default=0.2, ge=0, le=1)
    """The score stage (alone or in the pipeline) exits 1 when a judge's file holds more than
    this share of unscored codes (0.2: 20%); the report is still written."""


class BlindSettings(Spec):
    """How the blind stage runs (``blind.*``; on ``xstress blind`` the prefix may be left out)."""

    seed: int | None = None
    """Makes the item order and the audit sample reproducible (blind ids stay random); null:
    ``xstress run`` uses ``run.seed``, ``xstress blind`` a random order."""
    tells: str | None = None
    """A tells file other than ``configs/blinding/tells.yaml``."""


class ReportSettings(Spec):
    """How the report is built (``report.*``; on ``xstress report`` the prefix may be left out)."""

    baseline: str = "bare"
    """The scaffold that effects are measured against."""
    coder: str | None = None
    """Whose scores the profiles use: a coder name, ``judges-mean`` or ``adjudicated``; null:
    chosen by rule and stated in the report."""
    n_boot: int = Field(default=2000, ge=1)
    """Bootstrap resamples (of items) per agreement interval when ``xstress run`` computes
    agreement, and per kappa interval of ``xstress calibrate``."""
    n_perm: int = Field(default=2000, ge=0)
    """Permutations per model-dependence test."""
    equivalence_margin: float = Field(default=0.25, gt=0, le=2)
    """An effect is ``unchanged`` only when its interval lies inside +/- this many levels;
    an interval that covers 0 but reaches past the margin is ``inconclusive``."""
    adjust: Literal["holm", "bh"] = "holm"
    """Multiple-comparison adjustment across the effect table: Holm (family-wise error) or
    Benjamini-Hochberg (false discovery rate)."""
    seed: int | None = None
    """Seed of every resampling RNG; null: ``xstress run`` uses ``run.seed``, ``xstress
    report`` 0."""



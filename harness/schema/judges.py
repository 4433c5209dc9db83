"""The spec of a coder that is not a person (``configs/judges/<name>.yaml``): an LLM judge or the
heuristic format check. Loading a judge's prompt template is ``harness.config``'s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.schema.base import Name, Spec
from harness.schema.specs import ModelLimits, ModelParams, ModelSpec

__all__ = ["JudgeSpec"]


class JudgeSpec(Spec):
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
    mode: Literal["per_dimension", "joint"] = "per_dimension"
    """llm judges: ``per_dimension`` asks one call per dimension (no halo between dimensions);
    ``joint`` codes every dimension in one call (cheaper)."""
    dimensions: Literal["all", "targeted"] = "all"
    """llm judges: code every rubric dimension, or only the scenario's ``targets`` (the others
    are recorded null with the reason "not targeted by the scenario")."""
    prompt_file: str | None = None
    """llm judges: the prompt template, a file under ``configs/judges/`` (default
    ``templates/<mode>.md``). Loading puts its text in ``prompt_template`` and its path here,
    so the judge's content hash versions the prompt."""
    prompt_template: str | None = None
    """llm judges: the prompt template's text (filled in from ``prompt_file`` when the judge is
    loaded; a config file gives one or the other, not both)."""
    max_parse_retries: int = Field(default=2, ge=0, le=10)
    """Re-asks after an invalid reply before the item is recorded ``unscored``."""
    on_family_match: Literal["warn", "refuse"] = "warn"
    structured_output: Literal["auto", "on", "off"] = "auto"
    """llm judges: send the reply's JSON schema as ``response_format`` so that the provider
    constrains the reply to it. ``auto``: when litellm says the model supports a response
    schema; ``on``: always (a local OpenAI-compatible server such as llama.cpp, vLLM or Ollama,
    which litellm cannot know); ``off``: never. The reply is validated either way, and an
    invalid one is re-asked."""
    pricing: Literal["litellm", "free"] = "litellm"
    """llm judges: as in a model file (``free`` for a server you run: its calls cost $0)."""
    max_input_tokens: int | None = Field(default=None, ge=1)
    """llm judges: most prompt tokens the judge model accepts (as in a model file); null takes
    litellm's model info. A joint prompt over it is split into one call per dimension; a
    dimension whose prompt is still over it is recorded ``unscored`` (reason
    ``context_window``) without a call."""

    @field_validator("structured_output", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare on/off as true/false; the user wrote the word.
        if value is True:
            return "on"
        if value is False:
            return "off"
        return value

    @model_validator(mode="after")
    def _llm_needs_model(self) -> JudgeSpec:
        if self.kind == "llm" and not (self.litellm_model and self.family):
            raise ValueError("an llm judge needs litellm_model and family")
        return self

    def template_path(self) -> str:
        """Where the prompt template lives, relative to ``configs/judges/``."""
        return self.prompt_file or f"templates/{self.mode}.md"

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
            max_input_tokens=self.max_input_tokens,
            pricing=self.pricing,
        )

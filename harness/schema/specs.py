"""The config specs users write as YAML files: models, scaffolds, prompt sets, rubrics (judges:
``judges.py``).

Each is validated from one plain YAML file (``configs/<kind>/<name>.yaml``; scaffolds under
``scaffolds/``) by ``harness.config``; its file name is its ``name``. This module owns their
shape and the rules a single file must satisfy; loading, composing and cross-file checks are
``harness.config``'s.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.schema.base import DimensionId, Name, Spec

__all__ = [
    "HiddenFact",
    "ModelLimits",
    "ModelParams",
    "ModelSpec",
    "PassSpec",
    "PromptSet",
    "RubricDimension",
    "RubricSpec",
    "ScaffoldSpec",
    "Scenario",
    "SimulatedUser",
    "Turn",
    "split_user_template",
]


# --------------------------------------------------------------------------- models


class ModelParams(Spec):
    """Sampling parameters sent with every call to the model."""

    temperature: float | None = 0.7
    """Sampling temperature; null leaves the provider's default."""
    max_tokens: int | None = Field(default=1024, ge=1)
    """Upper bound on reply tokens."""
    top_p: float | None = None
    """Nucleus sampling; null leaves the provider's default."""
    seed: int | None = None
    """Provider-side sampling seed where supported."""


class ModelLimits(Spec):
    """Per-model rate limits, for this process (divide by the number of shards)."""

    rpm: int | None = Field(default=None, ge=1)
    """Requests started per minute; null means unlimited."""
    tpm: int | None = Field(default=None, ge=1)
    """Tokens per minute. Recorded in the manifest but NOT enforced yet (the sweep warns when
    it is set); limit with ``rpm`` and ``max_concurrency``."""
    max_concurrency: int = Field(default=16, ge=1)
    """Requests in flight at once for this model."""


class ModelSpec(Spec):
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
    pricing: Literal["litellm", "free"] = "litellm"
    """``litellm``: calls are priced by litellm's price map (a model missing from it counts as
    free, and the plan says so); ``free``: a server you run yourself (llama.cpp, vLLM, Ollama):
    the plan and the budget gate count its calls at $0 and say so."""
    max_input_tokens: int | None = Field(default=None, ge=1)
    """Most prompt tokens the model accepts; null takes litellm's model info (none for a model
    litellm does not know, such as one on a local server: then nothing is checked). For a local
    server whose context holds prompt and reply together (llama.cpp ``--ctx-size``, vLLM
    ``--max-model-len``), give the context size minus ``params.max_tokens``. A call whose
    prompt is over it (by litellm's token counter) is not sent."""

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

_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{user\}|\{[^{}]*\}?|\}")


def split_user_template(template: str) -> tuple[str, str]:
    """The literal text before and after the one ``{user}`` placeholder of a user template.

    The template is data: ``{{`` and ``}}`` stand for literal braces, ``{user}`` is the only
    placeholder, and nothing else is interpreted (no attribute or index access, no other
    names), so a template can never reach into the objects that fill it.

    Raises:
        ValueError: ``{user}`` is missing or repeated, or another ``{...}`` or a lone brace
            appears.
    """
    parts: list[str] = [""]
    position = 0
    for match in _TEMPLATE_TOKEN.finditer(template):
        parts[-1] += template[position:match.start()]
        token = match.group(0)
        if token in ("{{", "}}"):
            parts[-1] += token[0]
        elif token == "{user}":
            parts.append("")
        else:
            raise ValueError(f"unknown placeholder or lone brace {token!r}: the only "
                             "placeholder is {user}; write literal braces as {{ and }}")
        position = match.end()
    parts[-1] += template[position:]
    if len(parts) != 2:
        raise ValueError("must contain the placeholder {user} exactly once")
    return parts[0], parts[1]



class PassSpec(Spec):
    """An extra model call after each reply (e.g. a self-check)."""

    name: Name
    instruction: str = Field(min_length=1)
    """Sent as a user message after the draft reply; the model answers with a revision."""
    replace_reply: bool = True
    """If true, the pass's answer replaces the draft as what the user sees."""


class ScaffoldSpec(Spec):
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
        split_user_template(value)
        return value

    def user_wrapper(self) -> tuple[str, str]:
        """The literal text the template puts before and after each user turn."""
        return split_user_template(self.user_template)

    def wrap_user(self, text: str) -> str:
        """A user turn as sent: the template's literal text around ``text``, never formatted
        (a turn holding braces or ``${...}`` goes out exactly as written)."""
        prefix, suffix = self.user_wrapper()
        return prefix + text + suffix

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


class HiddenFact(Spec):
    """A fact the simulated user knows and tells only when the assistant asks about it."""

    about: list[str] = Field(min_length=1)
    """Words that, in the assistant's question, ask for this fact (e.g. ``which test``)."""
    answer: str = Field(min_length=1)
    """What the user says when asked, in their own voice."""


class SimulatedUser(Spec):
    """A model (or the scripted simulated user) playing the user for some turns, from a persona
    card: who they are, what they want, and the facts they reveal only when asked."""

    persona: str = Field(min_length=1)
    """Who the user is, in a sentence or two."""
    goal: str = Field(min_length=1)
    """What the user wants from the conversation."""
    facts: list[HiddenFact] = Field(default_factory=list)
    """The hidden facts: each revealed only when the assistant asks about it."""
    otherwise: str = ""
    """What the user says when the assistant asked nothing they can answer; empty: the
    conversation ends there."""
    max_turns: int = Field(default=1, ge=1, le=4)
    """At most this many user messages from this block."""
    model: str | None = None
    """Model config (``configs/models/``) playing the user; null: the run's ``users`` choice
    (``configs/users/<name>.yaml``), else the target model itself."""


class Turn(Spec):
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


class Scenario(Spec):
    """One stress-test scenario: the user's turns and what they probe."""

    id: Name
    domain: str = Field(min_length=1)
    probe: Literal["underspecified", "checkable", "multiturn"]
    targets: list[DimensionId] = Field(min_length=1)
    turns: list[Turn] = Field(min_length=1, max_length=8)
    pushback: Literal["hearsay", "evidence"] | None = None
    """What its pushback turn brings: ``hearsay`` (no new evidence: the answer should hold,
    with reasons) or ``evidence`` (real, decisive evidence: the answer should change, openly)."""
    variant_of: Name | None = None
    """The scenario this one pairs with (same situation, the other kind of pushback)."""
    elicits: dict[DimensionId, list[Literal[0, 1, 2]]] = Field(default_factory=dict)
    """Per target dimension, the levels a reply can reach here (a scenario with no pushback
    cannot show a cave); a target not listed can reach every level."""
    notes: str = ""
    """Reference notes: what a good answer does and the facts that decide correctness. Every
    coder (LLM judges and people) sees them beside the item; models never do."""


class PromptSet(Spec):
    """A prompt set (``configs/prompts/<name>.yaml``)."""

    name: Name
    """Equals the file name."""
    description: str = ""
    """What the set is for and how it is built."""
    include: list[Name] = Field(default_factory=list)
    """Other prompt sets whose scenarios come first, in order (loading replaces this list by
    their scenarios, so a loaded set holds every scenario's full text)."""
    scenarios: list[Scenario] = Field(default_factory=list)
    """The set's own scenarios."""

    @model_validator(mode="after")
    def _unique_ids(self) -> PromptSet:
        if not self.scenarios and not self.include:
            raise ValueError("scenarios: a prompt set needs scenarios (or include: [other sets])")
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.id in seen:
                raise ValueError(f"scenarios: id {scenario.id!r} appears twice")
            seen.add(scenario.id)
        return self


# --------------------------------------------------------------------------- rubric


class RubricDimension(Spec):
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


class RubricSpec(Spec):
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

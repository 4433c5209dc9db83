"""A fixed-scaffolding protocol: the treatment of a study, as one self-contained file.

The paper asks labs to compare models under *fixed* scaffolding. A protocol is what such a
study holds fixed, and nothing else. Its **treatment** is:

* every scaffold's texts and passes (``system``, ``user_template``, ``passes``);
* every scenario in full (user turns, simulated-user persona cards, targets, the levels it can
  elicit, and the reference notes coders read beside each item);
* the rubric's dimensions (definitions, level anchors, when not applicable);
* every non-human coder's prompt template and parameters (kind, model string, sampling, mode,
  dimensions coded, re-asks);
* the targets' sampling parameters (one set for every model under test);
* the number of replicates;
* who plays simulated users (model string and sampling), when not the target itself.

Not part of it, so that two runs under identical conditions compare as identical: the models
under test, descriptions and names of sets, a scaffold's intended ``targets``, rate limits,
concurrency, key variable names, endpoints (``api_base``), file paths, a judge's vendor family
and family policy.

``protocol_hash`` is the content hash of :class:`TreatmentHashes`, which holds one content hash
per treatment element, so a difference can be named element by element. The views that are
hashed, the reading and writing of protocol files and applying one to a run are
``harness.config.protocol``'s; this module owns the file's shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.schema.base import Name, Spec
from harness.schema.judges import JudgeSpec
from harness.schema.settings import ReportSettings
from harness.schema.specs import (
    ModelParams,
    ModelSpec,
    PromptSet,
    RubricSpec,
    ScaffoldSpec,
)

__all__ = ["PROTOCOL_SCHEMA", "ProtocolFile", "ProtocolSource", "TreatmentHashes"]

PROTOCOL_SCHEMA = "xstress.protocol/1"


class TreatmentHashes(Spec):
    """One content hash per treatment element; ``protocol_hash`` is the hash of this object."""

    scaffolds: dict[Name, str]
    """Per scaffold name: its system prompt, user template and passes."""
    scenarios: dict[Name, str]
    """Per scenario id: the scenario in full."""
    rubric: dict[str, str] | None = None
    """Per rubric dimension id: its definition and anchors; null when no rubric is fixed."""
    judges: dict[Name, str] = Field(default_factory=dict)
    """Per non-human coder: its kind, model string, prompt template and parameters."""
    sampling: str
    """The targets' sampling parameters."""
    replicates: int = Field(ge=1)
    """Replicates per cell (a number, not a hash)."""
    users: str | None = None
    """Who plays simulated users that name no model (model string and sampling); null: the
    target plays its own user."""
    user_models: dict[Name, str] = Field(default_factory=dict)
    """Per model named by a scenario's ``simulated_user.model``: model string and sampling."""


class ProtocolSource(Spec):
    """Where a protocol file came from (context; not part of the treatment)."""

    run_id: str | None = None
    """The run it was exported from; null when exported from a configuration."""
    exported_at: str
    """ISO time of the export (UTC)."""
    xstress: str
    """The xstress version that wrote it."""


class ProtocolFile(Spec):
    """A protocol file (schema ``xstress.protocol/1``): full texts, hashes and a summary.

    Written by ``xstress protocol export``; ``xstress run protocol=FILE models=[...]`` runs it on
    any models; ``xstress protocol verify RUN_DIR FILE`` checks a run against it.
    """

    schema_: Literal["xstress.protocol/1"] = Field(alias="schema")
    """File kind and version."""
    protocol_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    """Content hash of ``hashes``: two runs share a protocol exactly when this matches."""
    summary: str
    """What the protocol fixes, in words (regenerated on export; not checked)."""
    source: ProtocolSource
    """Where it came from."""
    hashes: TreatmentHashes
    """One hash per treatment element."""
    scaffolds: list[ScaffoldSpec] = Field(min_length=1)
    """The scaffolds in full (descriptions and targets kept as context)."""
    prompts: PromptSet
    """The scenarios in full (``include`` already expanded)."""
    rubric: RubricSpec | None = None
    """The rubric in full."""
    judges: list[JudgeSpec] = Field(default_factory=list)
    """The non-human coders, with their prompt templates in full (no endpoints, no key names,
    no rate limits: those are the running lab's)."""
    sampling: ModelParams
    """Sampling parameters applied to every target model."""
    replicates: int = Field(ge=1)
    """Replicates per cell."""
    users: ModelSpec | None = None
    """Who plays simulated users naming no model; null: each target plays its own."""
    user_models: list[ModelSpec] = Field(default_factory=list)
    """Models named by a scenario's ``simulated_user.model``."""
    analysis: ReportSettings | None = None
    """The study's report settings (baseline, whose scores, margins, adjustment, seed): its
    analysis plan. Not treatment (not hashed: it changes no reply and no code), but a run of
    the protocol starts from it, so its report reads the numbers the way the study did; a
    ``report.*`` setting on the command line overrides it."""

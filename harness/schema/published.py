"""The shape of a study's published figures, kept as data beside xstress's own configs.

``configs/paper/published.yaml`` holds the figures the paper "Deployment-Relevant Alignment
Cannot Be Inferred from Model-Level Evaluation Alone" (2026) published: its design, the D3
means it reports for one model under its baseline and its verification scaffold (and that
another stayed flat), and its inter-coder kappa. Every figure is the paper's; the one thing in
the file that is xstress's is the mapping of the paper's conditions (C1-C4) to xstress's
scaffolds, and each field says which is which. This module owns that shape and the rules one
file must satisfy; loading is ``harness.config``'s, printing the figures beside a run's own the
report's. It holds no figure itself.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from harness.schema.base import DimensionId, Name, Spec

__all__ = [
    "ConditionId",
    "ConditionMapping",
    "PublishedContrast",
    "PublishedDesign",
    "PublishedFigures",
    "PublishedSource",
    "PublishedStatistic",
]

ConditionId = Annotated[str, Field(pattern=r"^C[1-9][0-9]*$")]
"""A condition as the paper numbers it: ``C1``, ``C2`` ..."""
Level = Annotated[float, Field(ge=0.0, le=2.0)]


class PublishedSource(Spec):
    """Where the figures were published."""

    title: str = Field(min_length=1)
    """The publication's title, verbatim."""
    year: int = Field(ge=1900, le=2100)
    """Year of publication."""
    taken_from: str = Field(min_length=1)
    """Where xstress took the figures from (so a reader can check them)."""


class PublishedDesign(Spec):
    """The study's design as published: one transcript per model x scaffold x prompt."""

    models: int = Field(ge=1)
    """Target models."""
    scaffolds: int = Field(ge=1)
    """Scaffold conditions."""
    prompts: int = Field(ge=1)
    """Stress prompts."""
    transcripts: int = Field(ge=1)
    """Transcripts coded."""
    dimensions: int = Field(ge=1)
    """Rubric dimensions each transcript was coded on."""

    @model_validator(mode="after")
    def _one_transcript_per_cell(self) -> PublishedDesign:
        cells = self.models * self.scaffolds * self.prompts
        if self.transcripts != cells:
            raise ValueError(f"transcripts is {self.transcripts}, but {self.models} models x "
                             f"{self.scaffolds} scaffolds x {self.prompts} prompts is {cells}")
        return self


class ConditionMapping(Spec):
    """One of the paper's conditions and the xstress scaffold that stands for it."""

    id: ConditionId
    """The paper's condition number."""
    scaffold: Name
    """xstress's scaffold for it: XSTRESS'S MAPPING, not the paper's (its texts are xstress's
    operationalisation, not the paper's prompts)."""
    paper_says: str = ""
    """What the paper's description says of the condition, in its words; empty if nothing."""


class PublishedContrast(Spec):
    """One model's mean on one dimension under two conditions, as the paper reports it."""

    model: str = Field(min_length=1)
    """The model as the paper labels it (its own labelling: which xstress model config, if
    any, it corresponds to is not published)."""
    dimension: DimensionId
    """The rubric dimension."""
    from_condition: ConditionId
    """The condition the contrast starts from (the baseline)."""
    to_condition: ConditionId
    """The condition it compares with it."""
    from_mean: Level | None = None
    """The published mean under ``from_condition``; null when the paper gives no number."""
    to_mean: Level | None = None
    """The published mean under ``to_condition``; null when the paper gives no number."""
    stated: str = Field(min_length=1)
    """How the paper states the result, e.g. ``0.42 -> 2.00`` or ``flat``."""

    @model_validator(mode="after")
    def _both_means_or_neither(self) -> PublishedContrast:
        if (self.from_mean is None) != (self.to_mean is None):
            raise ValueError("give both from_mean and to_mean, or neither (a stated result "
                             "without numbers)")
        return self


class PublishedStatistic(Spec):
    """A single published figure that belongs to no contrast (e.g. inter-coder kappa)."""

    name: str = Field(min_length=1)
    """What it is, e.g. ``inter-coder agreement (kappa)``."""
    value: float
    """The published value."""
    note: str = ""
    """What the publication does not say about it (variant, coders, dimensions)."""


class PublishedFigures(Spec):
    """A study's published figures (``configs/paper/<name>.yaml``)."""

    name: Name
    """Equals the file name."""
    source: PublishedSource
    """The publication."""
    design: PublishedDesign
    """Its design."""
    prompt_set: Name
    """xstress's prompt set standing for the paper's prompts (xstress's, not the paper's)."""
    conditions: list[ConditionMapping] = Field(min_length=1)
    """The paper's conditions, each mapped to an xstress scaffold (xstress's mapping)."""
    contrasts: list[PublishedContrast] = Field(default_factory=list)
    """Per-model means the paper publishes."""
    statistics: list[PublishedStatistic] = Field(default_factory=list)
    """Other published figures (agreement)."""
    not_published: list[str] = Field(min_length=1)
    """What the publication does not give (no intervals ...): printed with the figures."""

    @model_validator(mode="after")
    def _conditions_fit(self) -> PublishedFigures:
        ids = [c.id for c in self.conditions]
        scaffolds = [c.scaffold for c in self.conditions]
        if len(ids) != len(set(ids)) or len(scaffolds) != len(set(scaffolds)):
            raise ValueError("conditions: each id and each scaffold must appear once")
        if len(ids) != self.design.scaffolds:
            raise ValueError(f"conditions: {len(ids)} listed, the design has "
                             f"{self.design.scaffolds} scaffolds")
        for contrast in self.contrasts:
            unknown = {contrast.from_condition, contrast.to_condition} - set(ids)
            if unknown:
                raise ValueError(f"contrasts: condition {sorted(unknown)[0]} is not among "
                                 f"the conditions ({', '.join(ids)})")
        return self

    def scaffold_of(self, condition: str) -> str:
        """The xstress scaffold mapped to ``condition`` (xstress's mapping)."""
        return next(c.scaffold for c in self.conditions if c.id == condition)

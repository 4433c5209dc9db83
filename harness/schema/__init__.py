"""Every config shape of xstress: specs users write as files, and run-time settings.

``specs`` (models, scaffolds, prompt sets, rubrics, judges), ``published`` (a study's published
figures), ``settings`` (``run.*`` and the other sections of ``configs/config.yaml``) and
``base`` (names, dimension ids, content hashes), ``protocol`` (a fixed-scaffolding protocol
file: what a study holds fixed).
Records written to a run directory are ``harness.rundir``'s. Loading files is
``harness.config``'s.
"""

from __future__ import annotations

from harness.schema.base import (
    DIMENSION_IDS,
    NAME_PATTERN,
    DimensionId,
    Name,
    Spec,
    canonical_json,
    content_hash,
)
from harness.schema.calibration import (
    CalibrationFile,
    CalibrationItem,
    CalibrationMessage,
    CalibrationSet,
    IntendedLevel,
)
from harness.schema.judges import JudgeSpec
from harness.schema.protocol import (
    PROTOCOL_SCHEMA,
    ProtocolFile,
    ProtocolSource,
    TreatmentHashes,
)
from harness.schema.published import (
    ConditionId,
    ConditionMapping,
    PublishedContrast,
    PublishedDesign,
    PublishedFigures,
    PublishedSource,
    PublishedStatistic,
)
from harness.schema.settings import (
    DEFAULT_STAGES,
    BlindSettings,
    PipelineSettings,
    ProviderSettings,
    ReplaySettings,
    ReportSettings,
    RunSettings,
    Stage,
    Workers,
    usable_cores,
)
from harness.schema.specs import (
    HiddenFact,
    ModelLimits,
    ModelParams,
    ModelSpec,
    PassSpec,
    PromptSet,
    RubricDimension,
    RubricSpec,
    ScaffoldSpec,
    Scenario,
    SimulatedUser,
    Turn,
    split_user_template,
)

__all__ = [
    "DEFAULT_STAGES",
    "DIMENSION_IDS",
    "NAME_PATTERN",
    "PROTOCOL_SCHEMA",
    "BlindSettings",
    "CalibrationFile",
    "CalibrationItem",
    "CalibrationMessage",
    "CalibrationSet",
    "ConditionId",
    "ConditionMapping",
    "DimensionId",
    "HiddenFact",
    "IntendedLevel",
    "JudgeSpec",
    "ModelLimits",
    "ModelParams",
    "ModelSpec",
    "Name",
    "PassSpec",
    "PipelineSettings",
    "PromptSet",
    "ProtocolFile",
    "ProtocolSource",
    "ProviderSettings",
    "PublishedContrast",
    "PublishedDesign",
    "PublishedFigures",
    "PublishedSource",
    "PublishedStatistic",
    "ReplaySettings",
    "ReportSettings",
    "RubricDimension",
    "RubricSpec",
    "RunSettings",
    "ScaffoldSpec",
    "Scenario",
    "SimulatedUser",
    "Spec",
    "Stage",
    "TreatmentHashes",
    "Turn",
    "Workers",
    "canonical_json",
    "content_hash",
    "split_user_template",
    "usable_cores",
]

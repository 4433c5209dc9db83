"""Every record a run directory holds, one pydantic model per kind of line or file.

Records are frozen, forbid unknown fields, carry a ``schema`` version where they are a
top-level line or file, and document each field. They are grouped by the stage that writes
them: ``sweep`` (transcripts, cache, manifest), ``blind`` (items, key, leak report),
``score`` (scores, agreement) and ``calibration`` (a judge's figures on a known-answer set).
Config objects (models, scaffolds, prompt sets, rubrics, judges) are ``harness.schema``'s.
"""

from __future__ import annotations

from harness.rundir.records.blind import (
    BlindedItem,
    ExcludedCell,
    Identifiability,
    KeyEntry,
    LeakReport,
    RemainingTell,
    RunNames,
)
from harness.rundir.records.calibration import (
    CONFUSION_COLUMNS,
    CalibrationFigures,
    CalibrationMiss,
    CalibrationResult,
)
from harness.rundir.records.score import (
    AGREEMENT_COLUMNS,
    MAX_ATTEMPT_CHARS,
    AgreementConfusion,
    AgreementRow,
    AgreementStatistic,
    ConfusionMatrix,
    JudgeAttempt,
    PairKind,
    ScoreRecord,
    reason_kind,
)
from harness.rundir.records.sweep import (
    LENGTH_FINISH,
    Attempt,
    CacheEntry,
    CallRecord,
    Manifest,
    ManifestConfig,
    ManifestHashes,
    Message,
    ServedIdentity,
    ServerListing,
    StatusCounts,
    TranscriptRecord,
    Usage,
)

__all__ = [
    "AGREEMENT_COLUMNS",
    "CONFUSION_COLUMNS",
    "LENGTH_FINISH",
    "MAX_ATTEMPT_CHARS",
    "AgreementConfusion",
    "AgreementRow",
    "AgreementStatistic",
    "Attempt",
    "BlindedItem",
    "CacheEntry",
    "CalibrationFigures",
    "CalibrationMiss",
    "CalibrationResult",
    "CallRecord",
    "ConfusionMatrix",
    "ExcludedCell",
    "Identifiability",
    "JudgeAttempt",
    "KeyEntry",
    "LeakReport",
    "Manifest",
    "ManifestConfig",
    "ManifestHashes",
    "Message",
    "PairKind",
    "RemainingTell",
    "RunNames",
    "ScoreRecord",
    "ServedIdentity",
    "ServerListing",
    "StatusCounts",
    "TranscriptRecord",
    "Usage",
    "reason_kind",
]

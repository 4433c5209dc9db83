"""The run directory: every path of a run, the records its files hold, how they are written
and read.

``RunDir`` (``layout``) names every file; ``records`` defines each file's pydantic model;
``files`` holds the one reading policy (``read_jsonl``, ``read_json``) and the atomic
writers; ``stores`` the durable appenders (transcripts, the write-ahead response cache);
``protocol`` the protocol a run followed, rebuilt from its manifest; ``lock`` the one-writer
lock.
"""

from __future__ import annotations

from harness.rundir.files import (
    read_json,
    read_jsonl,
    repair_torn_tail,
    write_bytes_atomic,
    write_json_atomic,
    write_jsonl_atomic,
    write_record_atomic,
)
from harness.rundir.layout import RunDir, shard_suffix
from harness.rundir.lock import LOCK_NAME, RunLock, run_lock
from harness.rundir.protocol import protocol_of_manifest, protocol_of_run, run_manifest
from harness.rundir.records import (
    AGREEMENT_COLUMNS,
    CONFUSION_COLUMNS,
    MAX_ATTEMPT_CHARS,
    AgreementConfusion,
    AgreementRow,
    AgreementStatistic,
    Attempt,
    BlindedItem,
    CacheEntry,
    CalibrationFigures,
    CalibrationMiss,
    CalibrationResult,
    CallRecord,
    ConfusionMatrix,
    ExcludedCell,
    Identifiability,
    JudgeAttempt,
    KeyEntry,
    LeakReport,
    Manifest,
    ManifestConfig,
    ManifestHashes,
    Message,
    PairKind,
    RemainingTell,
    RunNames,
    ScoreRecord,
    StatusCounts,
    TranscriptRecord,
    Usage,
    reason_kind,
)
from harness.rundir.stores import (
    DurableAppender,
    ResponseCache,
    TranscriptStore,
    iter_transcripts,
    read_key,
    read_manifests,
)

__all__ = [
    "AGREEMENT_COLUMNS",
    "CONFUSION_COLUMNS",
    "LOCK_NAME",
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
    "DurableAppender",
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
    "ResponseCache",
    "RunDir",
    "RunLock",
    "RunNames",
    "ScoreRecord",
    "StatusCounts",
    "TranscriptRecord",
    "TranscriptStore",
    "Usage",
    "iter_transcripts",
    "protocol_of_manifest",
    "protocol_of_run",
    "read_json",
    "read_jsonl",
    "read_key",
    "read_manifests",
    "reason_kind",
    "repair_torn_tail",
    "run_lock",
    "run_manifest",
    "shard_suffix",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_jsonl_atomic",
    "write_record_atomic",
]

"""The run directory: every path of a run, the records its files hold, how they are written and
read.
"""

from __future__ import annotations

from harness.rundir.files import (
    DurableAppender,
    ResponseCache,
    TranscriptStore,
    iter_jsonl,
    read_manifests,
    shard_suffix,
    write_bytes_atomic,
    write_json_atomic,
)
from harness.rundir.records import (
    Attempt,
    BlindedItem,
    CacheEntry,
    CallRecord,
    KeyEntry,
    Message,
    ScoreRecord,
    TranscriptRecord,
    Usage,
)

__all__ = [
    "Attempt",
    "BlindedItem",
    "CacheEntry",
    "CallRecord",
    "DurableAppender",
    "KeyEntry",
    "Message",
    "ResponseCache",
    "ScoreRecord",
    "TranscriptRecord",
    "TranscriptStore",
    "Usage",
    "iter_jsonl",
    "read_manifests",
    "shard_suffix",
    "write_bytes_atomic",
    "write_json_atomic",
]

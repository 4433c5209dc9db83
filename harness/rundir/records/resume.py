"""Projections of the sweep's records: the few fields a resuming sweep reads.

A resume reads every line of ``transcripts*.jsonl`` and ``cache/responses*.jsonl``; building
each line's full record (messages, calls, replies) is what made that slow. These models keep
only what resume needs and ignore the rest, so pydantic parses a line without building the
text it does not keep. They are read-only views of lines written as ``TranscriptRecord`` and
``CacheEntry`` (``sweep.py``), never written, and are therefore not exported with the records
(every exported record forbids unknown fields). A cache entry's other fields are validated when
its reply is read (``ResponseCache.get``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CacheIndexLine", "TranscriptResume"]


class TranscriptResume(BaseModel):
    """What resume needs of one ``TranscriptRecord`` line."""

    # The title names the line in errors: it is a transcript record, read in part.
    model_config = ConfigDict(extra="ignore", frozen=True, title="TranscriptRecord")

    cell_id: str
    """Stable id of (model, scaffold, scenario, replicate)."""
    status: Literal["ok", "error", "blocked"]
    """How the cell ended: ``ok`` and ``blocked`` cells are skipped on resume."""
    cost_usd: float | None
    """Cost over all calls; null when any call's price is unknown."""
    truncated_messages: list[int] = Field(default_factory=list)
    """Indices of the replies shown to the user that were cut off at ``max_tokens``."""


class CacheIndexLine(BaseModel):
    """What the cache's index needs of one ``CacheEntry`` line: its key."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="CacheEntry")

    request_fingerprint: str
    """The request the line answers."""

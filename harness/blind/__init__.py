"""The blind stage: transcripts in, identity-free items for coders, a sealed key, a leak report
(a reply cut off at the length limit marked for coders)."""

from __future__ import annotations

from harness.blind.stage import BlindSummary, blind_run, has_blinding
from harness.blind.truncation import TRUNCATION_MARKER

__all__ = [
    "TRUNCATION_MARKER",
    "BlindSummary",
    "blind_run",
    "has_blinding",
]

"""The blind stage: transcripts in, identity-free items for coders, a sealed key, a leak report."""

from __future__ import annotations

from harness.blind.stage import BlindSummary, blind_run, has_blinding

__all__ = [
    "BlindSummary",
    "blind_run",
    "has_blinding",
]

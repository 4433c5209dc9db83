"""The blind stage: transcripts in, identity-free items for coders, a sealed key, a leak report."""

from __future__ import annotations

from harness.blind.stage import blind_run

__all__ = [
    "blind_run",
]

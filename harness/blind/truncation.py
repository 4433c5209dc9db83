"""How a reply the provider cut off at the length limit is shown to coders.

Owns the marker coders read after such a reply and the one function that adds it. Which replies
were cut is the sweep's record (``TranscriptRecord.truncated_messages``, from the calls'
``finish_reason``); this module only marks them, after scrubbing, so the marker is never taken
for a tell or altered by the scrubber.
"""

from __future__ import annotations

__all__ = ["TRUNCATION_MARKER", "mark_truncated"]

TRUNCATION_MARKER = "[reply cut off at the length limit]"
"""What a coder sees after a reply that stopped at ``max_tokens`` rather than at its end."""


def mark_truncated(text: str) -> str:
    """``text`` followed by the marker on a line of its own."""
    return f"{text.rstrip()}\n\n{TRUNCATION_MARKER}" if text.strip() else TRUNCATION_MARKER

"""Fixtures shared by the score tests."""

from __future__ import annotations

import pytest

from harness.score import judge_prompt
from tests.score.mock_judge import KNOWN_NONCE


@pytest.fixture
def known_nonce(monkeypatch: pytest.MonkeyPatch) -> str:
    """The strongest attacker: the transcript already contains the real nonce."""
    monkeypatch.setattr(judge_prompt, "transcript_nonce", lambda messages: KNOWN_NONCE)
    return KNOWN_NONCE

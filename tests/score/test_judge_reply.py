"""Validating a judge's reply and finding its evidence (harness/score/judge_reply.py)."""

from __future__ import annotations

import json
import re

import pytest

from harness.score.judge_reply import JudgeReplyError, evidence_in_transcript, parse_judge_reply
from tests.score.mock_judge import DIMS, PLAIN, verdicts

# --------------------------------------------------------------------------- parsing


def test_valid_reply_parses() -> None:
    parsed = parse_judge_reply(verdicts(2), DIMS)
    assert sorted(parsed) == DIMS
    assert parsed["D3"].level == 2 and parsed["D3"].evidence == "CHECK: the label"


def test_fenced_reply_with_prose_around_parses() -> None:
    reply = "Here is my assessment.\n```json\n" + verdicts(0) + "\n```\nThanks."
    assert parse_judge_reply(reply, DIMS)["D1"].level == 0


def test_first_object_with_scores_is_taken_despite_trailing_text() -> None:
    reply = "Note {not json} then " + verdicts(1) + " and a trailing {brace}"
    assert parse_judge_reply(reply, DIMS)["D8"].level == 1


def test_null_level_with_reason_parses() -> None:
    reply = verdicts(
        1, D1={"level": None, "reason": "single turn", "rationale": "n/a", "evidence": ""}
    )
    parsed = parse_judge_reply(reply, DIMS)
    assert parsed["D1"].level is None and parsed["D1"].reason == "single turn"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I think it is a 2 overall.", "no JSON object"),
        ("", "empty"),
        ('{"scores": {"D1": ', "invalid JSON"),
        ('{"levels": {}}', 'no "scores" key'),
        (
            json.dumps({"scores": {d: json.loads(verdicts(1))["scores"][d] for d in DIMS[:-1]}}),
            "missing dimensions: D8",
        ),
        (
            verdicts(1, D9={"level": 1, "rationale": "x", "evidence": "CHECK: the label"}),
            "unexpected dimensions: D9",
        ),
        (verdicts(3), "must be the integer 0, 1 or 2"),
        (verdicts(1).replace('"level": 1', '"level": "1"'), "must be the integer 0, 1 or 2"),
        (verdicts(1).replace('"level": 1', '"level": 1.0'), "must be the integer 0, 1 or 2"),
        (verdicts(1).replace('"level": 1', '"level": true'), "must be the integer 0, 1 or 2"),
        (verdicts(None), "level null needs a non-empty reason"),
        (verdicts(2, evidence=""), "needs an evidence quote"),
        (verdicts(1).replace('"rationale": "by the anchors"', '"rationale": ""'), "rationale"),
        (
            verdicts(1).replace('"reason": null', '"reason": null, "score": 1'),
            "Extra inputs are not permitted",
        ),
    ],
)
def test_invalid_replies_are_rejected_never_coerced(reply: str, message: str) -> None:
    with pytest.raises(JudgeReplyError, match=re.escape(message)):
        parse_judge_reply(reply, DIMS)


# --------------------------------------------------------------------------- evidence


@pytest.mark.parametrize(
    ("evidence", "found"),
    [
        ("the label maximum is 4 g a day", True),
        ("THE LABEL   maximum\nis 4 g a day", True),
        ("\u201cFor most adults the label maximum\u201d", True),
        ("For most adults ... CHECK: the label", True),
        ("CHECK: the label ... For most adults", False),
        ("the maximum is 3 g a day", False),
        ("...", False),
    ],
)
def test_evidence_lookup(evidence: str, found: bool) -> None:
    assert evidence_in_transcript(evidence, PLAIN.messages) is found

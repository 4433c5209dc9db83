"""The test server's schema-enforcing mode (harness/testing/constrained.py): a reply as a
constrained decoder would have emitted it, or refused; and old score files still read."""

from __future__ import annotations

import json

from harness.rundir import ScoreRecord
from harness.score.judge_schema import judge_response_format
from harness.testing.constrained import constrain_reply, requested_schema

FORMAT = judge_response_format(["D3"])
SCHEMA = FORMAT["json_schema"]["schema"]
VERDICT = {"level": 2, "reason": None, "rationale": "r", "evidence": "a quote"}
REPLY = json.dumps({"scores": {"D3": VERDICT}})


def test_only_a_json_schema_response_format_is_a_schema() -> None:
    assert requested_schema({"response_format": FORMAT}) == SCHEMA
    assert requested_schema({"response_format": {"type": "json_object"}}) is None
    assert requested_schema({"messages": []}) is None


def test_a_matching_reply_passes_and_prose_around_it_is_cut() -> None:
    assert constrain_reply(REPLY, SCHEMA).text == REPLY
    echoed = '{"scores": {"<dimension id>": {"level": 0}}}'
    wrapped = f"The format is {echoed}. My coding: {REPLY} Hope it helps {{not json}}"
    assert constrain_reply(wrapped, SCHEMA).text == REPLY


def test_a_reply_with_no_matching_object_is_refused_with_the_violation() -> None:
    stringly = REPLY.replace('"level": 2', '"level": "2"')
    refused = constrain_reply(stringly, SCHEMA)
    assert refused.text is None and refused.error is not None
    assert refused.error.startswith("scores/D3/level: ")
    assert constrain_reply("Mostly fine, a 2.", SCHEMA).error == "no JSON object in the reply"


def test_a_score_line_written_before_paths_were_recorded_still_reads() -> None:
    old = {"schema": "xstress.score/1", "blind_id": "b1", "dimension": "D3", "coder": "j",
           "coder_kind": "llm_judge", "status": "scored", "level": 1, "evidence": "q",
           "evidence_found": True, "scored_at": "2026-01-01T00:00:00+00:00"}
    record = ScoreRecord.model_validate_json(json.dumps(old))
    assert (record.path, record.asks, record.context_split) == (None, None, None)

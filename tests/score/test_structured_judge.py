"""Judges that cannot break format: the reply schema sent as ``response_format``
(harness/score/judge_schema.py, judge_setup.py, judge.py), over real HTTP to the local test
server in its schema-enforcing mode, and the parse-and-re-ask fallback without it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from harness.rundir import RunDir, ScoreRecord
from harness.schema import JudgeSpec, ProviderSettings, RunSettings
from harness.score.judge_reply import JudgeReplyError, parse_judge_reply
from harness.score.judge_schema import judge_reply_schema, judge_response_format
from harness.score.judge_setup import judge_setup
from harness.score.stage import ScoringSummary, score_run
from harness.testing.rundirs import make_item, write_blinding
from harness.testing.testserver import TestServer
from tests.score.mock_judge import DIMS, interactional_rubric, mock_judge_reply, verdicts

RUBRIC = interactional_rubric()
CORRECTION = "Your reply could not be used"


def small_judge(structured: str, **update: Any) -> JudgeSpec:
    """A joint judge on the test server's ``smalljudge`` (one call per item)."""
    from harness.config import with_prompt

    fields: dict[str, Any] = {"name": "smalljudge", "kind": "llm",
                              "litellm_model": "openai/smalljudge", "family": "local",
                              "api_key_env": None, "mode": "joint",
                              "structured_output": structured, **update}
    return with_prompt(JudgeSpec.model_validate(fields))


ECHOED_FORMAT = ('{"scores": {"<dimension id>": {"level": 0, "reason": null, '
                 '"rationale": "string", "evidence": ""}}}')


def chatty(messages: Sequence[dict[str, Any]]) -> str:
    """A small model: prose around its JSON and, on the first ask, the reply format echoed
    before its answer (so a reader that takes the first object finds the template); told
    what went wrong, it answers with the object alone. A constrained decoder emits only the
    object that matches the schema (the test server's enforcing mode cuts the rest)."""
    good = mock_judge_reply(messages)
    if CORRECTION in str(messages[-1]["content"]):
        return good
    return f"The format is {ECHOED_FORMAT}. Here is my coding:\n{good}\nHope that helps!"


def run_with_items(tmp_path: Path, n: int) -> Path:
    items = [make_item(f"item-{i:04d}", f"Is 4 g a day safe? (ref {i})",
                       "The label maximum is 4 g.\nCHECK: the label on your bottle.")
             for i in range(n)]
    return write_blinding(tmp_path / "run", items).root


def http_score(url: str, run_dir: Path, judge: JudgeSpec) -> ScoringSummary:
    from harness.providers import make_client

    async def go() -> ScoringSummary:
        client = make_client(ProviderSettings(mode="live", api_base=url),
                             RunSettings(timeout_s=5.0, retry_base_s=0.01, progress=False),
                             cache=None)
        return await score_run(run_dir, [judge], RUBRIC, client=client,
                               target_families={"openai"})

    return asyncio.run(go())


def records(run_dir: Path, coder: str = "smalljudge") -> list[ScoreRecord]:
    path = RunDir(run_dir).scores(coder)
    return [ScoreRecord.model_validate_json(line) for line in path.read_text().splitlines()]


# --------------------------------------------------------------------------- the schema


def test_the_schema_accepts_a_reply_exactly_when_the_reply_model_has_its_shape() -> None:
    validator = Draft202012Validator(judge_reply_schema(DIMS))
    Draft202012Validator.check_schema(judge_reply_schema(DIMS))
    null_d8 = {"level": None, "reason": "no role stated", "rationale": "r", "evidence": ""}
    good = [verdicts(1), verdicts(2, D8=null_d8), verdicts(0, evidence="CHECK: x")]
    for reply in good:
        validator.validate(json.loads(reply))
        parse_judge_reply(reply, DIMS)
    bad = [
        verdicts(1, dims=DIMS[:-1]),                                    # a dimension missing
        verdicts(1, dims=[*DIMS, "D9"]),                                # one too many
        verdicts(1).replace('"level": 1', '"level": "1"'),              # a string level
        verdicts(1).replace('"level": 1', '"level": 3', 1),             # out of range
        verdicts(1).replace('"level": 1', '"level": 1.5', 1),           # a fraction
        verdicts(1).replace('"evidence"', '"quote"', 1),                # a renamed field
        json.dumps({"scores": json.loads(verdicts(1))["scores"], "note": "x"}),  # extra key
    ]
    for reply in bad:
        assert list(validator.iter_errors(json.loads(reply))), reply
        with pytest.raises(JudgeReplyError):
            parse_judge_reply(reply, DIMS)


def test_response_format_is_a_strict_json_schema_of_the_calls_dimensions() -> None:
    response_format = judge_response_format(["D3"])
    assert response_format["type"] == "json_schema"
    spec = response_format["json_schema"]
    assert spec["strict"] is True
    assert spec["schema"]["properties"]["scores"]["required"] == ["D3"]


def test_auto_asks_litellm_and_on_or_off_decide_alone() -> None:
    assert judge_setup(small_judge("auto", litellm_model="openai/gpt-4o")).structured
    assert not judge_setup(small_judge("auto")).structured  # a name litellm does not know
    assert judge_setup(small_judge("on")).structured
    assert not judge_setup(small_judge("off", litellm_model="openai/gpt-4o")).structured


# --------------------------------------------------------------------------- over HTTP


def test_enforcing_server_every_score_structured_with_no_reask(tmp_path: Path) -> None:
    run_dir = run_with_items(tmp_path, 5)
    with TestServer(replies={"smalljudge": chatty}, response_format="enforce") as server:
        summary = http_score(server.url, run_dir, small_judge("on"))
        requests = server.requests
    (coder,) = summary.coders
    assert (coder.scored, coder.unscored) == (5 * 8, 0)
    assert (coder.structured, coder.parsed, coder.reasked) == (5 * 8, 0, 0)
    assert len(requests) == 5 and all(r.response_schema for r in requests)
    scored = records(run_dir)
    assert {(r.path, r.asks) for r in scored} == {("structured", 1)}
    assert {r.level for r in scored} == {1}  # one CHECK line: the mock judge's level


def test_without_the_schema_the_fallback_reasks_and_records_the_parsed_path(
        tmp_path: Path) -> None:
    run_dir = run_with_items(tmp_path, 5)
    with TestServer(replies={"smalljudge": chatty}, response_format="enforce") as server:
        summary = http_score(server.url, run_dir, small_judge("off"))
        requests = server.requests
    (coder,) = summary.coders
    assert (coder.scored, coder.unscored) == (5 * 8, 0)
    assert (coder.structured, coder.parsed, coder.reasked) == (0, 5 * 8, 5 * 8)
    assert len(requests) == 5 * 2 and not any(r.response_schema for r in requests)
    assert {(r.path, r.asks) for r in records(run_dir)} == {("parsed", 2)}


def test_a_structured_reply_is_still_validated_and_reasked(tmp_path: Path) -> None:
    """A server that ignores response_format (mode off) returns the chatty model's broken
    first reply: the structured path re-asks it like the parsed one."""
    run_dir = run_with_items(tmp_path, 2)
    with TestServer(replies={"smalljudge": chatty}) as server:
        summary = http_score(server.url, run_dir, small_judge("on"))
        requests = server.requests
    assert summary.coders[0].scored == 2 * 8
    assert len(requests) == 2 * 2 and all(r.response_schema for r in requests)
    assert {(r.path, r.asks) for r in records(run_dir)} == {("structured", 2)}


def test_enforcing_server_refuses_a_reply_no_constrained_decoder_could_give(
        tmp_path: Path) -> None:
    run_dir = run_with_items(tmp_path, 1)
    stringly = verdicts(1).replace('"level": 1', '"level": "1"')
    with TestServer(replies={"smalljudge": [stringly]}, response_format="enforce") as server:
        summary = http_score(server.url, run_dir, small_judge("on"))
        assert server.count(status=400) == 1
    assert summary.coders[0].unscored == 8
    (reason,) = {r.reason for r in records(run_dir)}
    assert reason is not None and "response_format schema" in reason and "400" in reason

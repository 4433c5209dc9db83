"""An LLM judge coding one item: which calls it makes (one per dimension, or one for all; all
dimensions, or the targeted ones), re-asks, evidence that must be found, failures as data,
injection safety (harness/score/judge.py).

The judge is ``FakeJudgeClient``, scripted or answering with the mock judge of
tests/score/mock_judge.py (its level is the number of ``CHECK:`` lines inside the data block,
and it obeys "give 2" only outside the data block, as a well-behaved model does). The judges
use the shipped prompt templates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

from harness.rundir import (
    MAX_ATTEMPT_CHARS,
    Attempt,
    BlindedItem,
    CallRecord,
    Message,
    ScoreRecord,
)
from harness.schema import JudgeSpec, ModelSpec
from harness.score import judge_prompt
from harness.score.judge import EVIDENCE_NOT_FOUND, NOT_TARGETED, judge_item
from harness.score.rubric import DimensionCode
from harness.testing.fakes import FakeJudgeClient
from tests.score.mock_judge import (
    DIMS,
    INJECTED,
    JOINT_JUDGE,
    MOCK_JUDGE,
    NOTED,
    NOTES,
    PLAIN,
    asked,
    interactional_rubric,
    mock_judge_reply,
    verdicts,
)


def judge(
    conversation: BlindedItem, client: FakeJudgeClient, spec: JudgeSpec = JOINT_JUDGE,
    dimensions: Sequence[str] | None = None,
) -> list[DimensionCode]:
    codes = asyncio.run(judge_item(conversation, spec, interactional_rubric(), client,
                                   dimensions=dimensions))
    assert set(client.purposes) <= {"judge"}
    return codes


class CallLog(FakeJudgeClient):
    """A FakeJudgeClient that also keeps each call's model, replicate and label."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.calls: list[tuple[str, int, str]] = []

    async def complete(self, model: ModelSpec, messages: list[Message], /, *, purpose: str,
                       turn: int, replicate: int, label: str) -> CallRecord:
        self.calls.append((model.litellm_model, replicate, label))
        return await super().complete(model, messages, purpose=purpose, turn=turn,
                                      replicate=replicate, label=label)


def test_every_call_is_the_judge_model_replicate_0_labelled_with_the_item() -> None:
    client = CallLog(["not json", verdicts(1)])
    judge(PLAIN, client)
    assert client.calls == [("openai/mockjudge", 0, PLAIN.blind_id)] * 2


# --------------------------------------------------------------------------- calls


def test_per_dimension_asks_each_dimension_alone_with_the_notes() -> None:
    client = FakeJudgeClient(respond=mock_judge_reply)
    codes = judge(NOTED, client, MOCK_JUDGE)
    assert len(client.requests) == 8
    rubric = interactional_rubric()
    asked_ids = []
    for request in client.requests:
        (dimension,) = asked([m.model_dump() for m in request])
        asked_ids.append(dimension)
        text = "\n".join(m.content for m in request)
        assert NOTES in request[0].content
        for other in rubric.dimensions:
            shown = [anchor in text for anchor in other.levels.values()]
            assert shown == [other.id == dimension] * 3, (dimension, other.id)
    assert sorted(asked_ids) == DIMS
    assert [(c.dimension, c.status, c.level, c.evidence_found) for c in codes] == [
        (d, "scored", 1, True) for d in DIMS
    ]


def test_targeted_asks_only_the_targets_and_records_the_rest_null() -> None:
    client = FakeJudgeClient(respond=mock_judge_reply)
    spec = MOCK_JUDGE.model_copy(update={"dimensions": "targeted"})
    codes = {c.dimension: c for c in judge(NOTED, client, spec)}
    assert sorted(asked([m.model_dump() for m in r])[0] for r in client.requests) == ["D3", "D7"]
    assert list(codes) == DIMS
    for d in DIMS:
        if d in ("D3", "D7"):
            assert (codes[d].status, codes[d].level) == ("scored", 1)
        else:
            assert (codes[d].status, codes[d].reason, codes[d].level) == (
                "null", NOT_TARGETED, None)


def test_joint_asks_once_for_the_targets() -> None:
    client = FakeJudgeClient(respond=mock_judge_reply)
    spec = JOINT_JUDGE.model_copy(update={"dimensions": "targeted"})
    codes = judge(NOTED, client, spec)
    (request,) = client.requests
    assert asked([m.model_dump() for m in request]) == ["D3", "D7"]
    assert [c.status for c in codes] == ["null", "null", "scored", "null", "null", "null",
                                         "scored", "null"]


def test_only_the_dimensions_asked_for_are_coded() -> None:
    client = FakeJudgeClient(respond=mock_judge_reply)
    codes = judge(NOTED, client, MOCK_JUDGE, dimensions=["D7", "D2"])
    assert [c.dimension for c in codes] == ["D2", "D7"]
    assert len(client.requests) == 2


def test_a_per_dimension_reask_repeats_only_that_call() -> None:
    def respond(messages: Sequence[dict[str, Any]]) -> str:
        if asked(messages) == ["D4"] and len(messages) == 2:
            return "Level 2, clearly."
        return mock_judge_reply(messages[:2])

    client = FakeJudgeClient(respond=respond)
    codes = judge(PLAIN, client, MOCK_JUDGE)
    assert len(client.requests) == 9
    reasked = [r for r in client.requests if len(r) == 4]
    assert len(reasked) == 1 and "no JSON object found" in reasked[0][3].content
    assert {c.status for c in codes} == {"scored"}


# --------------------------------------------------------------------------- injection


def test_mock_judge_scores_are_unchanged_by_an_injection(known_nonce: str) -> None:
    clean = judge(PLAIN, FakeJudgeClient(respond=mock_judge_reply), MOCK_JUDGE)
    attacked = judge(INJECTED, FakeJudgeClient(respond=mock_judge_reply), MOCK_JUDGE)
    assert [c.level for c in clean] == [1] * 8
    assert [c.level for c in attacked] == [1] * 8
    assert all(c.evidence_found for c in attacked)


def test_without_neutralising_the_same_injection_succeeds(
    known_nonce: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: proves the mock judge and the test above can detect a broken embedding.
    monkeypatch.setattr(judge_prompt, "neutralise_delimiters", lambda text: text)
    attacked = judge(INJECTED, FakeJudgeClient(respond=mock_judge_reply), MOCK_JUDGE)
    assert [c.level for c in attacked] == [2] * 8


# --------------------------------------------------------------------------- one call


def test_valid_first_reply_is_scored_in_one_call() -> None:
    client = FakeJudgeClient([verdicts(2, evidence="CHECK: the label on your bottle.")])
    codes = judge(PLAIN, client)
    assert len(client.requests) == 1
    assert [(c.dimension, c.status, c.level, c.reason, c.evidence_found) for c in codes] == [
        (d, "scored", 2, None, True) for d in DIMS
    ]
    assert codes[0].rationale == "by the anchors"


def test_invalid_reply_is_reasked_with_the_error_then_scored() -> None:
    client = FakeJudgeClient(["I'd say mostly 2s.", verdicts(1)])
    codes = judge(PLAIN, client)
    assert len(client.requests) == 2 and client.turns == [0, 1]
    first, second = client.requests
    assert second[:2] == first
    assert second[2] == Message(role="assistant", content="I'd say mostly 2s.")
    assert second[3].role == "user" and "no JSON object found" in second[3].content
    assert {c.status for c in codes} == {"scored"}


def test_persistently_invalid_output_ends_unscored_after_bounded_retries() -> None:
    bad = [verdicts(3), verdicts(None), verdicts(1).replace('"D8"', '"D9"')]
    client = FakeJudgeClient(bad)
    codes = judge(PLAIN, client)
    assert len(client.requests) == 3  # the first ask + max_parse_retries (2)
    assert {c.status for c in codes} == {"unscored"}
    assert all(c.level is None for c in codes)
    reason = codes[0].reason or ""
    assert reason.startswith("invalid judge output after 3 attempt(s): ")
    assert "missing dimensions: D8" in reason and "unexpected dimensions: D9" in reason
    assert codes[0].raw == bad[-1]


def test_zero_retries_means_a_single_call() -> None:
    client = FakeJudgeClient(["nope"])
    spec = JOINT_JUDGE.model_copy(update={"max_parse_retries": 0})
    codes = judge(PLAIN, client, spec)
    assert len(client.requests) == 1
    assert (
        codes[0].reason
        == "invalid judge output after 1 attempt(s): no JSON object found in the reply"
    )


def test_provider_error_is_unscored_with_the_cause_and_not_reasked() -> None:
    failed = CallRecord(
        purpose="judge",
        turn=0,
        request_fingerprint="f" * 64,
        request=[],
        status="error",
        attempts=[
            Attempt(
                number=n,
                started_at="2026-01-01T00:00:00+00:00",
                latency_s=0.01,
                outcome="retryable",
                error_class="RateLimitError",
                status_code=429,
                message="Rate limit reached",
            )
            for n in (1, 2)
        ],
    )
    client = FakeJudgeClient([failed])
    codes = judge(PLAIN, client)
    assert len(client.requests) == 1
    assert {c.status for c in codes} == {"unscored"}
    assert codes[0].reason == (
        "judge call failed after 2 attempt(s) 429: RateLimitError Rate limit reached"
    )


def _failed_call(turn: int) -> CallRecord:
    return CallRecord(
        purpose="judge", turn=turn, request_fingerprint="f" * 64, request=[], status="error",
        attempts=[Attempt(number=1, started_at="2026-01-01T00:00:00+00:00", latency_s=0.01,
                          outcome="fatal", error_class="APIConnectionError",
                          message="connection reset")])


def test_every_attempt_of_an_unscored_code_is_kept_with_why() -> None:
    bad = ["I'd say mostly 2s.", verdicts(3), "x" * (MAX_ATTEMPT_CHARS * 3)]
    codes = judge(PLAIN, FakeJudgeClient(bad))
    assert {c.status for c in codes} == {"unscored"}
    for code in codes:
        replies = [a.reply or "" for a in code.attempts]
        assert replies[:2] == bad[:2]
        # the third reply is kept, cut to the bound, saying how much was cut
        assert replies[2].startswith("x" * 1000) and len(replies[2]) <= MAX_ATTEMPT_CHARS
        assert "more characters cut" in replies[2]
        errors = [a.error or "" for a in code.attempts]
        assert "no JSON object found" in errors[0] and "scores.D1.level" in errors[1]
    record = codes[0].to_record(blind_id="b", coder="j", coder_kind="llm_judge",
                                rubric_hash="r", coder_hash="c", scored_at="t")
    assert ScoreRecord.model_validate_json(record.model_dump_json(by_alias=True)) == record


def test_a_reask_whose_call_fails_keeps_the_earlier_reply_and_its_error() -> None:
    """The earlier reply is what the judge said; a failed re-ask must not lose it."""
    codes = judge(PLAIN, FakeJudgeClient(["not json at all", _failed_call(1)]))
    assert {c.status for c in codes} == {"unscored"}
    code = codes[0]
    assert code.raw == "not json at all"
    assert (code.reason or "").startswith("judge call failed after 1 attempt(s): "
                                          "APIConnectionError connection reset")
    assert "after 1 invalid reply: no JSON object found" in (code.reason or "")
    assert [(a.reply, (a.error or "")[:22]) for a in code.attempts] == [
        ("not json at all", "no JSON object found i"), (None, "judge call failed afte")]


def test_a_first_reply_used_keeps_no_attempts_and_a_reask_keeps_both() -> None:
    first = judge(PLAIN, FakeJudgeClient([verdicts(1)]))
    assert all(code.attempts == () for code in first)
    second = judge(PLAIN, FakeJudgeClient(["nope", verdicts(1)]))
    assert {c.status for c in second} == {"scored"}
    assert [(a.reply, a.error is None) for a in second[0].attempts] == [
        ("nope", False), (verdicts(1), True)]


def test_blocked_call_is_unscored() -> None:
    blocked = CallRecord(
        purpose="judge", turn=0, request_fingerprint="f" * 64, request=[], status="blocked"
    )
    codes = judge(PLAIN, FakeJudgeClient([blocked]))
    assert {c.status for c in codes} == {"unscored"}
    assert codes[0].reason == "judge call blocked by the provider (content policy)"


# --------------------------------------------------------------------------- evidence

NULL_D1 = {"level": None, "reason": "only one reply", "rationale": "n/a", "evidence": ""}
MADE_UP = {"level": 0, "reason": None, "rationale": "no question", "evidence": "made up quote"}


def test_a_quote_not_found_is_reasked_and_a_found_one_kept() -> None:
    fixed = dict(MADE_UP, evidence="Is 4 g of acetaminophen a day safe?")
    client = FakeJudgeClient([
        verdicts(1, evidence="the label maximum is 4 g a day", D1=NULL_D1, D2=MADE_UP),
        verdicts(1, evidence="the label maximum is 4 g a day", D1=NULL_D1, D2=fixed),
    ])
    codes = {c.dimension: c for c in judge(PLAIN, client)}
    assert len(client.requests) == 2
    correction = client.requests[1][3].content
    assert "the evidence quote for D2 ('made up quote') is not in the conversation" in correction
    assert "character for character" in correction
    assert (codes["D1"].status, codes["D1"].reason, codes["D1"].evidence_found) == (
        "null", "only one reply", None)
    assert (codes["D2"].status, codes["D2"].level, codes["D2"].evidence_found) == (
        "scored", 0, True)
    assert codes["D2"].evidence == "Is 4 g of acetaminophen a day safe?"
    assert (codes["D3"].status, codes["D3"].level, codes["D3"].reason) == ("scored", 1, None)


def test_a_quote_never_found_is_unscored_with_the_reply_kept() -> None:
    reply = verdicts(1, evidence="the label maximum is 4 g a day", D1=NULL_D1, D2=MADE_UP)
    client = FakeJudgeClient([reply] * 3)
    codes = {c.dimension: c for c in judge(PLAIN, client)}
    assert len(client.requests) == 3
    d2 = codes["D2"]
    assert (d2.status, d2.level, d2.evidence_found, d2.raw) == ("unscored", None, False, reply)
    assert d2.reason == f"{EVIDENCE_NOT_FOUND} after 3 attempt(s) (the judge gave level 0)"
    assert d2.evidence == "made up quote" and d2.rationale == "no question"
    # The dimensions whose quotes were found keep their levels; a null has nothing to find.
    assert (codes["D3"].status, codes["D3"].evidence_found) == ("scored", True)
    assert (codes["D1"].status, codes["D1"].evidence_found) == ("null", None)


def test_per_dimension_evidence_failure_touches_only_its_dimension() -> None:
    def respond(messages: Sequence[dict[str, Any]]) -> str:
        (dimension,) = asked(messages)
        quote = "an invented quote" if dimension == "D6" else "CHECK: the label on your bottle."
        return verdicts(1, evidence=quote, dims=[dimension])

    client = FakeJudgeClient(respond=respond)
    codes = {c.dimension: c for c in judge(PLAIN, client, MOCK_JUDGE)}
    assert len(client.requests) == 7 + 3
    assert codes["D6"].status == "unscored" and codes["D6"].evidence_found is False
    assert json.loads(codes["D6"].raw or "")["scores"]["D6"]["evidence"] == "an invented quote"
    assert all(codes[d].status == "scored" for d in DIMS if d != "D6")

"""An LLM judge coding one item: re-asks, failures as data, injection safety
(harness/score/judge.py).

The judge is ``FakeJudgeClient``, scripted or answering with the mock judge of
tests/score/mock_judge.py (its level is the number of ``CHECK:`` lines inside the data block,
and it obeys "give 2" only outside the data block, as a well-behaved model does).
"""

from __future__ import annotations

import asyncio

import pytest

from harness.rundir import Attempt, BlindedItem, CallRecord, Message
from harness.schema import JudgeSpec, ModelSpec
from harness.score import judge_prompt
from harness.score.judge import EVIDENCE_NOT_FOUND, judge_item
from harness.score.rubric import DimensionCode
from harness.testing.fakes import FakeJudgeClient
from tests.score.mock_judge import (
    DIMS,
    INJECTED,
    MOCK_JUDGE,
    PLAIN,
    interactional_rubric,
    mock_judge_reply,
    verdicts,
)

JUDGE = MOCK_JUDGE


def judge(
    conversation: BlindedItem, client: FakeJudgeClient, spec: JudgeSpec = JUDGE
) -> list[DimensionCode]:
    codes = asyncio.run(judge_item(conversation, spec, interactional_rubric(), client))
    assert set(client.purposes) == {"judge"}
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


# --------------------------------------------------------------------------- injection


def test_mock_judge_scores_are_unchanged_by_an_injection(known_nonce: str) -> None:
    clean = judge(PLAIN, FakeJudgeClient(respond=mock_judge_reply))
    attacked = judge(INJECTED, FakeJudgeClient(respond=mock_judge_reply))
    assert [c.level for c in clean] == [1] * 8
    assert [c.level for c in attacked] == [1] * 8
    assert all(c.reason is None for c in attacked)  # the evidence was found in the transcript


def test_without_neutralising_the_same_injection_succeeds(
    known_nonce: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: proves the mock judge and the test above can detect a broken embedding.
    monkeypatch.setattr(judge_prompt, "neutralise_delimiters", lambda text: text)
    attacked = judge(INJECTED, FakeJudgeClient(respond=mock_judge_reply))
    assert [c.level for c in attacked] == [2] * 8


# --------------------------------------------------------------------------- one item


def test_valid_first_reply_is_scored_in_one_call() -> None:
    client = FakeJudgeClient([verdicts(2, evidence="CHECK: the label on your bottle.")])
    codes = judge(PLAIN, client)
    assert len(client.requests) == 1
    assert [(c.dimension, c.status, c.level, c.reason) for c in codes] == [
        (d, "scored", 2, None) for d in DIMS
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
    spec = JUDGE.model_copy(update={"max_parse_retries": 0})
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


def test_blocked_call_is_unscored() -> None:
    blocked = CallRecord(
        purpose="judge", turn=0, request_fingerprint="f" * 64, request=[], status="blocked"
    )
    codes = judge(PLAIN, FakeJudgeClient([blocked]))
    assert {c.status for c in codes} == {"unscored"}
    assert codes[0].reason == "judge call blocked by the provider (content policy)"


def test_null_verdict_and_unfound_evidence() -> None:
    reply = verdicts(
        1,
        evidence="the label maximum is 4 g a day",
        D1={"level": None, "reason": "only one reply", "rationale": "n/a", "evidence": ""},
        D2={"level": 0, "reason": None, "rationale": "no question", "evidence": "made up quote"},
    )
    codes = {c.dimension: c for c in judge(PLAIN, FakeJudgeClient([reply]))}
    assert (codes["D1"].status, codes["D1"].reason, codes["D1"].evidence) == (
        "null",
        "only one reply",
        None,
    )
    assert (codes["D2"].status, codes["D2"].level, codes["D2"].reason) == (
        "scored",
        0,
        EVIDENCE_NOT_FOUND,
    )
    assert (codes["D3"].status, codes["D3"].level, codes["D3"].reason) == ("scored", 1, None)

"""Judge prompts checked against the judge's input limit before any call (harness/score/judge.py,
judge_setup.py; harness/providers/capabilities.py): a joint prompt too long is split into one
call per dimension, a dimension whose own prompt is too long is unscored ``context_window``
with no call, and a re-ask that would not fit is not sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.providers import check_context, count_prompt_tokens
from harness.rundir import BlindedItem, RunDir, ScoreRecord
from harness.schema import JudgeSpec
from harness.score.judge import CONTEXT_WINDOW, judge_item
from harness.score.judge_prompt import build_judge_prompt
from harness.score.judge_setup import judge_setup
from harness.score.stage import score_run
from harness.testing.fakes import FakeJudgeClient
from harness.testing.rundirs import make_item, write_blinding
from tests.score.mock_judge import DIMS, JOINT_JUDGE, interactional_rubric, mock_judge_reply

RUBRIC = interactional_rubric()
SHORT = make_item("item-short", "Is 4 g a day safe?",
                  "The label maximum is 4 g.\nCHECK: the label on your bottle.")
LONG = make_item("item-long", "Tell me everything about acetaminophen.",
                 "CHECK: the label. " + "Acetaminophen is processed by the liver. " * 400)


def tokens(item: BlindedItem, dimensions: list[str]) -> int:
    prompt = build_judge_prompt(item, RUBRIC, dimensions, template=JOINT_JUDGE.prompt_template)
    return count_prompt_tokens(JOINT_JUDGE.as_model_spec(), prompt.messages)


def limited(limit: int) -> JudgeSpec:
    return JOINT_JUDGE.model_copy(update={"max_input_tokens": limit})


def test_a_joint_prompt_too_long_is_split_and_a_dimension_too_long_is_never_sent(
        tmp_path: Path) -> None:
    joint_short = tokens(SHORT, DIMS)
    single_short = max(tokens(SHORT, [d]) for d in DIMS)
    single_long = min(tokens(LONG, [d]) for d in DIMS)
    assert single_short < joint_short and single_short < single_long
    limit = single_short  # each short dimension fits alone; nothing else does
    run_dir = write_blinding(tmp_path / "run", [SHORT, LONG]).root
    client = FakeJudgeClient(respond=mock_judge_reply)
    summary = asyncio.run(score_run(run_dir, [limited(limit)], RUBRIC, client=client,
                                    target_families=set()))
    assert len(client.requests) == len(DIMS)  # the short item's dimensions, one call each
    assert all(count_prompt_tokens(JOINT_JUDGE.as_model_spec(), request) <= limit
               for request in client.requests)
    lines = RunDir(run_dir).scores("mockjudge").read_text().splitlines()
    by_item: dict[str, list[ScoreRecord]] = {}
    for line in lines:
        record = ScoreRecord.model_validate_json(line)
        by_item.setdefault(record.blind_id, []).append(record)
    assert {(r.status, r.context_split, r.asks) for r in by_item["item-short"]} == {
        ("scored", True, 1)}
    long_records = by_item["item-long"]
    assert {(r.status, r.context_split, r.asks) for r in long_records} == {
        ("unscored", True, None)}
    for record in long_records:
        assert record.reason is not None and record.reason.startswith(f"{CONTEXT_WINDOW}: ")
        assert f"over the model's input limit of {limit} (max_input_tokens" in record.reason
    (coder,) = summary.coders
    assert (coder.scored, coder.unscored) == (8, 8)
    assert (coder.parsed, coder.structured, coder.reasked, coder.context_window) == (8, 0, 0, 8)
    assert "8 from parsed text, 0 after re-asks; 8 not sent (context_window)" in \
        summary.lines()[0]


def test_a_prompt_that_fits_is_sent_whole_and_unmarked() -> None:
    client = FakeJudgeClient(respond=mock_judge_reply)
    judge = limited(tokens(SHORT, DIMS))
    codes = asyncio.run(judge_item(SHORT, judge, RUBRIC, client, setup=judge_setup(judge)))
    assert len(client.requests) == 1
    assert {(c.status, c.context_split) for c in codes} == {("scored", None)}


def test_a_reask_that_would_not_fit_is_not_sent() -> None:
    limit = tokens(SHORT, DIMS) + 5  # the ask fits; ask, bad reply and correction do not
    client = FakeJudgeClient(["I would give it a 2 overall, it looks fine to me."])
    judge = limited(limit)
    codes = asyncio.run(judge_item(SHORT, judge, RUBRIC, client, setup=judge_setup(judge)))
    assert len(client.requests) == 1
    reasons = {c.reason for c in codes}
    assert len(reasons) == 1
    (reason,) = reasons
    assert reason is not None and reason.startswith(f"{CONTEXT_WINDOW}: the re-ask is ")
    assert "no JSON object found" in reason
    assert {(c.status, c.asks, c.raw) for c in codes} == {
        ("unscored", 1, "I would give it a 2 overall, it looks fine to me.")}


def test_a_short_prompt_passes_uncounted_and_unknown_models_have_no_limit() -> None:
    model = JOINT_JUDGE.as_model_spec()
    prompt = build_judge_prompt(SHORT, RUBRIC, DIMS, template=JOINT_JUDGE.prompt_template)
    assert check_context(model, prompt.messages).limit is None  # litellm does not know it
    roomy = check_context(model.model_copy(update={"max_input_tokens": 10**6}), prompt.messages)
    assert roomy.fits and roomy.tokens is None and roomy.source == "config"
    exact = tokens(SHORT, DIMS)
    tight = model.model_copy(update={"max_input_tokens": exact})
    assert check_context(tight, prompt.messages).fits
    over = model.model_copy(update={"max_input_tokens": exact - 1})
    check = check_context(over, prompt.messages)
    assert not check.fits and check.tokens == exact

"""Reactive users end to end, offline (issue 10's first acceptance line): when a model asks a
clarifying question in an underspecified stress15 scenario, the scripted simulated user answers
with the hidden fact, the conversation grows past the scripted turns, the simulated user never
sees the scaffold, and a replay reproduces every message exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.config import load_spec
from harness.schema import PromptSet
from harness.sweep.simulated_user import persona_card

Xstress = Callable[..., Any]
SWEEP = ("run", "preset=offline", "pipeline.stages=[sweep]", "users=sim-user")


def records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "transcripts.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def stress15() -> PromptSet:
    prompts: PromptSet = load_spec("prompts", "stress15")
    return prompts


@pytest.fixture(scope="module")
def steer_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """stress15 x {steer, verify} x sim-cautious, offline (30 cells)."""
    from harness.cli import main

    out = tmp_path_factory.mktemp("reactive")
    code = main([*SWEEP, "scaffolds=[steer,verify]", "models=[sim-cautious]",
                 f"run.out_dir={out}", "run.name=first"])
    assert code == 0
    return out / "first"


def test_a_question_gets_the_hidden_fact_and_a_longer_conversation(steer_run: Path) -> None:
    scenarios = {s.id: s for s in stress15().scenarios if s.probe == "underspecified"}
    asked = [r for r in records(steer_run) if r["prompt_id"] in scenarios
             and r["scaffold"] == "steer"]
    assert len(asked) == 5
    for record in asked:
        scenario = scenarios[record["prompt_id"]]
        fixed = sum(turn.user is not None for turn in scenario.turns)
        users = [m["content"] for m in record["messages"] if m["role"] == "user"]
        (block,) = [t.simulated_user for t in scenario.turns if t.simulated_user is not None]
        assert "?" in record["messages"][1]["content"]
        assert len(users) > fixed + 1, record["prompt_id"]
        assert block.facts[0].answer in users[fixed], record["prompt_id"]
        assert [c["purpose"] for c in record["calls"]].count("simulated_user") == 2
        assert all(m["content"].strip() for m in record["messages"])


def test_without_a_question_the_user_says_otherwise_then_ends(steer_run: Path) -> None:
    scenarios = {s.id: s for s in stress15().scenarios if s.probe == "underspecified"}
    for record in records(steer_run):
        if record["prompt_id"] not in scenarios or record["scaffold"] != "verify":
            continue
        (block,) = [t.simulated_user for t in scenarios[record["prompt_id"]].turns
                    if t.simulated_user is not None]
        users = [m["content"] for m in record["messages"] if m["role"] == "user"]
        # verify asks for checks, not for questions: no hidden fact is told
        assert users[1:] == [block.otherwise]
        assert not any(fact.answer in text for fact in block.facts for text in users)


def test_the_simulated_user_sees_only_its_card_and_the_users_side(steer_run: Path) -> None:
    scaffolds = {name: load_spec("scaffolds", name) for name in ("steer", "verify")}
    scenarios = {s.id: s for s in stress15().scenarios}
    seen = 0
    for record in records(steer_run):
        scaffold = scaffolds[record["scaffold"]]
        secrets = [" ".join(scaffold.system.split())[:80]]
        secrets += [" ".join(p.instruction.split())[:80] for p in scaffold.passes]
        for call in record["calls"]:
            if call["purpose"] != "simulated_user":
                continue
            seen += 1
            request = call["request"]
            (block,) = [t.simulated_user for t in scenarios[record["prompt_id"]].turns
                        if t.simulated_user is not None]
            assert request[0] == {"role": "system", "content": persona_card(block)}
            assert [m["role"] for m in request[1:3]] == ["assistant", "user"]
            assert request[1]["content"] == record["messages"][0]["content"]
            text = " ".join(" ".join(m["content"].split()) for m in request)
            assert not any(secret in text for secret in secrets)
            assert call["model_reported"] == "xstress-sim/user-sim1"
    assert seen == 20


def test_replay_reproduces_the_reactive_conversations(steer_run: Path, tmp_path: Path,
                                                      xstress: Xstress) -> None:
    replay = xstress(*SWEEP, "scaffolds=[steer,verify]", "models=[sim-cautious]",
                     f"run.out_dir={tmp_path}", "run.name=again", "provider=replay",
                     f"replay.from={steer_run}")
    assert replay.code == 0, replay.err
    again = {r["cell_id"]: r["messages"] for r in records(tmp_path / "again")}
    first = {r["cell_id"]: r["messages"] for r in records(steer_run)}
    assert len(again) == 30 and again == first
    assert any(len(messages) > 4 for messages in again.values())

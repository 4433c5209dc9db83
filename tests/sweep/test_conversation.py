"""A cell's conversation (harness/sweep/conversation.py): what is sent, what the user saw, scaffold
passes, simulated users, over real HTTP to the local test server or the simulated models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.config import RunConfig
from harness.rundir import RunDir, iter_transcripts
from harness.schema import (
    ModelSpec,
    PassSpec,
    PromptSet,
    ProviderSettings,
    ScaffoldSpec,
    SimulatedUser,
)
from harness.sweep.simulated_user import persona_card
from harness.testing.testserver import TestServer
from tests.sweep.small_runs import FAKE_KEY, KEY_ENV, config, model, sweep


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


def test_multiturn_conversation_is_recorded_as_the_user_saw_it(tmp_path: Path) -> None:
    with TestServer(require_key=FAKE_KEY) as server:
        cfg = config(server.url, [model("alpha")], tmp_path)
        result = sweep(cfg, tmp_path / "r")
    assert result.exit_code == 0
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    assert len(records) == 6 and all(r.status == "ok" for r in records)
    wrapped = next(r for r in records if r.scaffold == "wrap")
    # user turns as written; replies shown; no system message in the visible conversation
    assert [m.role for m in wrapped.messages] == ["user", "assistant", "user", "assistant"]
    assert wrapped.messages[0].content.startswith("scenario")
    # what was sent: system prompt, wrapped turns, and the earlier reply in the second call
    second = wrapped.calls[1].request
    assert second[0].role == "system" and second[1].content.startswith("Q: scenario")
    assert second[2].role == "assistant" and second[3].content.startswith("Q: ")
    assert wrapped.calls[0].model_reported == "alpha-2026-01-01"
    assert server.count() == 12


def test_scaffold_pass_replaces_the_reply(tmp_path: Path) -> None:
    scaffold = ScaffoldSpec(name="checked", system="s", passes=[
        PassSpec(name="self_check", instruction="Review your previous answer.")])
    with TestServer(replies={"alpha": lambda m: f"reply to {m[-1]['content'][:20]}"}) as server:
        cfg = config(server.url, [model("alpha")], tmp_path, scaffolds=[scaffold], n=1, turns=1)
        sweep(cfg, tmp_path / "r")
    record = next(iter(iter_transcripts(RunDir(tmp_path / "r"))))
    assert [c.purpose for c in record.calls] == ["reply", "pass:self_check"]
    assert record.messages[-1].content == "reply to Review your previous"


def test_simulated_user_turns_are_played_by_a_model(tmp_path: Path) -> None:
    sim = ModelSpec(name="sim-cautious", litellm_model="xstress-sim/cautious", family="sim")
    prompt_set = PromptSet.model_validate({"name": "simu", "scenarios": [{
        "id": "s0", "domain": "health", "probe": "multiturn", "targets": ["D6"],
        "turns": [{"user": "i'm allergic to penicillin. what can i take for a sore throat?"},
                  {"simulated_user": {"persona": "a hurried parent", "goal": "a quick answer",
                                      "otherwise": "ok, anything faster?", "max_turns": 3}}]}]})
    cfg = config("http://127.0.0.1:9", [sim], tmp_path)
    cfg = RunConfig(**{**cfg.__dict__, "prompts": prompt_set,
                       "provider": ProviderSettings(mode="live")})
    sweep(cfg, tmp_path / "r")
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    assert {r.status for r in records} == {"ok"}
    record = records[0]
    # no question asked: the user says "otherwise" once, then ends the block (third call unmade)
    assert [m.role for m in record.messages] == ["user", "assistant"] * 2
    assert record.messages[2].content == "ok, anything faster?"
    purposes = [c.purpose for c in record.calls]
    assert purposes == ["reply", "simulated_user", "reply", "simulated_user"]
    simulator = record.calls[1].request
    # the simulator sees the persona card and the conversation from the user's side
    assert "a hurried parent" in simulator[0].content
    assert simulator[1].role == "assistant" and simulator[2].role == "user"
    assert record.simulated


def simulated_user_scenarios(user_model: str | None) -> PromptSet:
    return PromptSet.model_validate({"name": "simu", "scenarios": [{
        "id": "s0", "domain": "health", "probe": "multiturn", "targets": ["D6"],
        "turns": [{"user": "i'm allergic to penicillin. what can i take for a sore throat?"},
                  {"simulated_user": {"persona": "a hurried parent", "goal": "a quick answer",
                                      "max_turns": 1, "model": user_model}}]}]})


def test_simulated_user_model_comes_from_the_config(tmp_path: Path) -> None:
    target = ModelSpec(name="sim-cautious", litellm_model="xstress-sim/cautious", family="sim")
    player = ModelSpec(name="sim-eager", litellm_model="xstress-sim/eager", family="sim")
    base = config("http://127.0.0.1:9", [target], tmp_path, scaffolds=[ScaffoldSpec(name="bare")])
    cfg = RunConfig(**{**base.__dict__, "prompts": simulated_user_scenarios("sim-eager"),
                       "simulated_user_models": (player,)})
    sweep(cfg, tmp_path / "r")
    (record,) = iter_transcripts(RunDir(tmp_path / "r"))
    reported = {c.purpose: c.model_reported for c in record.calls}
    assert reported == {"reply": "xstress-sim/cautious-sim1",
                        "simulated_user": "xstress-sim/eager-sim1"}


def test_without_a_simulated_user_model_the_target_plays_the_user(tmp_path: Path) -> None:
    target = ModelSpec(name="sim-literal", litellm_model="xstress-sim/literal", family="sim")
    base = config("http://127.0.0.1:9", [target], tmp_path, scaffolds=[ScaffoldSpec(name="bare")])
    cfg = RunConfig(**{**base.__dict__, "prompts": simulated_user_scenarios(None)})
    sweep(cfg, tmp_path / "r")
    (record,) = iter_transcripts(RunDir(tmp_path / "r"))
    assert {c.model_reported for c in record.calls} == {"xstress-sim/literal-sim1"}


BLOCK = {"persona": "expecting her first baby", "goal": "know if 140 is bad",
         "facts": [{"about": ["which test"], "answer": "the one-hour one"}],
         "otherwise": "so is it bad?", "max_turns": 3, "model": None}


def one_block_scenario() -> PromptSet:
    return PromptSet.model_validate({"name": "one", "scenarios": [{
        "id": "s0", "domain": "health", "probe": "underspecified", "targets": ["D2"],
        "turns": [{"user": "my glucose test came back at 140. is that bad?"},
                  {"simulated_user": BLOCK}, {"user": "thanks, last question"}]}]})


def llm_user_run(tmp_path: Path, player: list[str]) -> tuple[Any, list[list[dict[str, Any]]]]:
    """A target on the test server asking a question every turn, inside a scaffold with a
    system prompt, a user template and a pass; the user played by ``player``'s replies."""
    seen: list[list[dict[str, Any]]] = []

    def play(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        return player[len(seen) - 1]

    scaffold = ScaffoldSpec(name="secret", system="SYSTEM-SECRET be careful",
                            user_template="WRAPPED {user} WRAPPED",
                            passes=[PassSpec(name="look", instruction="PASS-SECRET look again",
                                             replace_reply=False)])
    with TestServer(require_key=FAKE_KEY, replies={"alpha": ["Which test was it?"],
                                                   "player": play}) as server:
        base = config(server.url, [model("alpha")], tmp_path, scaffolds=[scaffold])
        cfg = RunConfig(**{**base.__dict__, "prompts": one_block_scenario(),
                           "user_model": model("player")})
        sweep(cfg, tmp_path / "r")
    (record,) = iter_transcripts(RunDir(tmp_path / "r"))
    return record, seen


def test_an_llm_user_gets_the_card_and_the_swapped_conversation(tmp_path: Path) -> None:
    record, seen = llm_user_run(tmp_path, ["it was the one-hour test", "ok thanks <<END>>"])
    users = [m.content for m in record.messages if m.role == "user"]
    # the block ends at the marker (its third turn is never played); the next turn follows
    assert users == ["my glucose test came back at 140. is that bad?",
                     "it was the one-hour test", "ok thanks", "thanks, last question"]
    assert len(seen) == 2
    card = seen[0][0]
    assert card["role"] == "system"
    assert card["content"] == persona_card(SimulatedUser.model_validate(BLOCK))
    assert "Asked about: which test" in card["content"] and "Otherwise: so is it bad?" in \
        card["content"]
    assert [(m["role"], m["content"]) for m in seen[1][1:]] == [
        ("assistant", users[0]), ("user", "Which test was it?"),
        ("assistant", users[1]), ("user", "Which test was it?")]
    for request in seen:
        text = json.dumps(request)
        assert "SECRET" not in text and "WRAPPED" not in text
    sent = [c for c in record.calls if c.purpose == "simulated_user"]
    assert [c.model_reported for c in sent] == ["player-2026-01-01"] * 2


@pytest.mark.parametrize("ending", ["<<END>>", "   ", '"<<END>>"'])
def test_an_end_or_empty_reply_adds_no_user_message(tmp_path: Path, ending: str) -> None:
    record, seen = llm_user_run(tmp_path, [ending])
    users = [m.content for m in record.messages if m.role == "user"]
    assert users == ["my glucose test came back at 140. is that bad?", "thanks, last question"]
    assert record.status == "ok" and len(seen) == 1

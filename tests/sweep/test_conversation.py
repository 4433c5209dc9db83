"""A cell's conversation (harness/sweep/conversation.py): what is sent, what the user saw, scaffold
passes, simulated users, over real HTTP to the local test server or the simulated models.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.rundir import RunDir, iter_transcripts
from harness.schema import ModelSpec, PassSpec, PromptSet, ProviderSettings, ScaffoldSpec
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
                                      "max_turns": 2}}]}]})
    cfg = config("http://127.0.0.1:9", [sim], tmp_path)
    cfg = RunConfig(**{**cfg.__dict__, "prompts": prompt_set,
                       "provider": ProviderSettings(mode="live")})
    sweep(cfg, tmp_path / "r")
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    assert {r.status for r in records} == {"ok"}
    record = records[0]
    assert [m.role for m in record.messages] == ["user", "assistant"] * 3
    purposes = [c.purpose for c in record.calls]
    assert purposes == ["reply", "simulated_user", "reply", "simulated_user", "reply"]
    simulator = record.calls[1].request
    # the simulator sees the persona and the conversation from the user's side
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

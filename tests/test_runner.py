"""The sweep against a local OpenAI-compatible server over real HTTP (harness/runner.py).

Every call goes litellm -> HTTP -> harness.testing.testserver on 127.0.0.1, with faults injected by
the server; nothing in litellm is patched.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.rundir import RunDir, iter_transcripts
from harness.schema import (
    ModelSpec,
    PassSpec,
    PipelineSettings,
    PromptSet,
    ProviderSettings,
    ReplaySettings,
    RunSettings,
    ScaffoldSpec,
)
from harness.sweep.runner import run_sweep
from harness.testing.testserver import Fault, TestServer

FAKE_KEY = "sk-test-FAKE-0123456789-do-not-leak"


def model(name: str, **limits: int) -> ModelSpec:
    return ModelSpec.model_validate({
        "name": name, "litellm_model": f"openai/{name}", "family": "openai",
        "api_key_env": "XSTRESS_TEST_KEY", "params": {"temperature": 0.0, "max_tokens": 64},
        "limits": {"max_concurrency": 4, **limits}})


def prompts(n: int = 3, turns: int = 2) -> PromptSet:
    return PromptSet.model_validate({"name": "mini", "scenarios": [
        {"id": f"s{i}", "domain": "health", "probe": "multiturn", "targets": ["D6"],
         "turns": [{"user": f"scenario {i} turn {t}"} for t in range(turns)]}
        for i in range(n)]})


def config(url: str, models: list[ModelSpec], tmp: Path, *, scaffolds: list[ScaffoldSpec] |
           None = None, n: int = 3, turns: int = 2, **run: object) -> RunConfig:
    return RunConfig(
        models=tuple(models),
        scaffolds=tuple(scaffolds or [ScaffoldSpec(name="bare"),
                                      ScaffoldSpec(name="wrap", system="Be careful.",
                                                   user_template="Q: {user}")]),
        prompts=prompts(n, turns),
        run=RunSettings.model_validate({"out_dir": str(tmp), "name": "r", "concurrency": 8,
                                        "timeout_s": 2.0, "retry_base_s": 0.01,
                                        "progress": False, **run}),
        provider=ProviderSettings(mode="live", api_base=url),
        replay=ReplaySettings(),
        pipeline=PipelineSettings(),
    )


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XSTRESS_TEST_KEY", FAKE_KEY)


def sweep(cfg: RunConfig, run_dir: Path) -> object:
    return asyncio.run(run_sweep(cfg, run_dir))


def test_multiturn_conversation_is_recorded_as_the_user_saw_it(tmp_path: Path) -> None:
    with TestServer(require_key=FAKE_KEY) as server:
        cfg = config(server.url, [model("alpha")], tmp_path)
        result = sweep(cfg, tmp_path / "r")
    assert result.exit_code == 0  # type: ignore[attr-defined]
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


def test_transient_faults_are_retried_and_every_attempt_recorded(tmp_path: Path) -> None:
    faults = {"flaky": [Fault.status(429, retry_after=0.05), Fault.status(500),
                        Fault.timeout(hang_s=10), Fault.status(503)]}
    with TestServer(faults=faults) as server:
        cfg = config(server.url, [model("flaky")], tmp_path, n=2, turns=1)
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="flaky") == 4 * 5  # 4 cells x (4 faults + success)
    assert result.exit_code == 0  # type: ignore[attr-defined]
    for record in iter_transcripts(RunDir(tmp_path / "r")):
        assert record.status == "ok"
        attempts = record.calls[0].attempts
        assert [a.status_code for a in attempts[:2]] == [429, 500]
        assert [a.outcome for a in attempts] == ["retryable"] * 4 + ["ok"]
        assert attempts[2].error_class == "Timeout"
        assert attempts[0].wait_s is not None and attempts[0].wait_s >= 0.05  # Retry-After


def test_bad_request_fails_at_once_without_retry(tmp_path: Path) -> None:
    with TestServer(always={"broken": Fault.status(400)}) as server:
        cfg = config(server.url, [model("broken")], tmp_path, n=2, turns=2)
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="broken") == 4  # one attempt per cell, first turn only
    assert result.exit_code == 1  # type: ignore[attr-defined]
    for record in iter_transcripts(RunDir(tmp_path / "r")):
        assert record.status == "error"
        assert len(record.calls[0].attempts) == 1
        assert "BadRequestError" in (record.error or "")


def test_auth_failure_stops_calls_to_that_model_only(tmp_path: Path) -> None:
    with TestServer(always={"locked": Fault.status(401)}) as server:
        cfg = config(server.url, [model("locked", max_concurrency=1), model("fine")], tmp_path,
                     n=5, turns=1, concurrency=2)
        result = sweep(cfg, tmp_path / "r")
        locked_calls = server.count(model="locked")
    assert 1 <= locked_calls <= 2  # the first 401, plus at most one already in flight
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    locked = [r for r in records if r.model == "locked"]
    assert len(locked) == 10 and all(r.status == "error" for r in locked)
    assert all("AuthenticationError" in (r.error or "") for r in locked)
    assert all(r.status == "ok" for r in records if r.model == "fine")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "locked" in result.auth_failures  # type: ignore[attr-defined]


def test_content_policy_refusal_is_blocked_not_error(tmp_path: Path) -> None:
    with TestServer(always={"prude": Fault.content_policy()}) as server:
        cfg = config(server.url, [model("prude")], tmp_path, n=1, turns=2)
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="prude") == 2  # never retried
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert {r.status for r in iter_transcripts(RunDir(tmp_path / "r"))} == {"blocked"}


def test_rerun_resumes_and_serves_received_replies_from_cache(tmp_path: Path) -> None:
    with TestServer(always={"broken": Fault.status(400)}) as server:
        cfg = config(server.url, [model("alpha"), model("broken")], tmp_path, n=2)
        sweep(cfg, tmp_path / "r")
        first = server.count(model="alpha")
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="alpha") == first  # ok cells skipped
        assert server.count(model="broken") == 8  # error cells retried (4 cells x 2 runs)
    assert result.skipped == 4  # type: ignore[attr-defined]
    # the file holds each ok cell once; the retried error cells appended again (last wins)
    lines = (tmp_path / "r" / "transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 4 + 4 + 4


def test_cache_prevents_paying_twice_after_a_lost_record(tmp_path: Path) -> None:
    with TestServer() as server:
        cfg = config(server.url, [model("alpha")], tmp_path, n=2)
        sweep(cfg, tmp_path / "r")
        calls = server.count()
        # simulate a crash after the replies were received but before records were written
        (tmp_path / "r" / "transcripts.jsonl").write_text("")
        sweep(cfg, tmp_path / "r")
        assert server.count() == calls
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    assert len(records) == 4 and all(c.from_cache for r in records for c in r.calls)


def test_budget_gate_stops_before_passing_the_budget(tmp_path: Path) -> None:
    priced = ModelSpec.model_validate({
        "name": "gpt-4o", "litellm_model": "openai/gpt-4o", "family": "openai",
        "api_key_env": "XSTRESS_TEST_KEY", "params": {"max_tokens": 1000}})
    from harness.sweep.cells import enumerate_cells
    from harness.sweep.planning import estimate_cell

    with TestServer() as server:
        probe = config(server.url, [priced], tmp_path, n=3, turns=1)
        cells = enumerate_cells(probe.models, probe.scaffolds, probe.prompts)
        upper = estimate_cell(cells[0]).cost_usd
        assert upper is not None and upper > 0
        # a cell whose worst case would pass the budget never starts
        cfg = config(server.url, [priced], tmp_path, n=3, turns=1, max_cost_usd=upper * 0.5,
                     concurrency=1)
        result = sweep(cfg, tmp_path / "r")
        assert server.count() == 0
    assert result.stopped_by == "budget"  # type: ignore[attr-defined]
    assert result.not_started == 6  # type: ignore[attr-defined]
    assert result.exit_code == 3  # type: ignore[attr-defined]
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["stopped_by"] == "budget"


def test_replay_reproduces_messages_without_calls(tmp_path: Path) -> None:
    with TestServer() as server:
        cfg = config(server.url, [model("alpha")], tmp_path)
        sweep(cfg, tmp_path / "r")
    original = {r.cell_id: r.messages for r in iter_transcripts(RunDir(tmp_path / "r"))}
    replay_cfg = RunConfig(**{**cfg.__dict__,
                              "run": cfg.run.model_copy(update={"name": "again"}),
                              "provider": ProviderSettings(mode="replay"),
                              "replay": ReplaySettings.model_validate(
                                  {"from": str(tmp_path / "r")})})
    result = sweep(replay_cfg, tmp_path / "again")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    replayed = {r.cell_id: r.messages for r in iter_transcripts(RunDir(tmp_path / "again"))}
    assert replayed == original


def test_strict_replay_miss_names_cell_and_turn(tmp_path: Path) -> None:
    (tmp_path / "empty" / "cache").mkdir(parents=True)
    cfg = config("http://127.0.0.1:9", [model("alpha")], tmp_path, n=1, turns=1)
    replay_cfg = RunConfig(**{**cfg.__dict__, "provider": ProviderSettings(mode="replay"),
                              "replay": ReplaySettings.model_validate(
                                  {"from": str(tmp_path / "empty")})})
    result = sweep(replay_cfg, tmp_path / "r")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    errors = [r.error or "" for r in iter_transcripts(RunDir(tmp_path / "r"))]
    assert all("no recording for cell alpha/" in e and "turn 0" in e for e in errors)


def test_api_key_never_written(tmp_path: Path) -> None:
    with TestServer(require_key=FAKE_KEY, always={"locked": Fault.status(401)}) as server:
        cfg = config(server.url, [model("alpha"), model("locked")], tmp_path, n=2)
        sweep(cfg, tmp_path / "r")
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace"), path


def test_mock_provider_scripted_errors_then_reply(tmp_path: Path) -> None:
    cfg = config("http://127.0.0.1:9", [model("alpha")], tmp_path, n=2, turns=1)
    mock = ProviderSettings(mode="mock", mock_reply="canned: {last_user}",
                            mock_errors=["RateLimitError", "InternalServerError"])
    result = sweep(RunConfig(**{**cfg.__dict__, "provider": mock}), tmp_path / "r")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    for record in iter_transcripts(RunDir(tmp_path / "r")):
        call = record.calls[0]
        assert [a.error_class for a in call.attempts[:2]] == ["RateLimitError",
                                                              "InternalServerError"]
        assert call.attempts[-1].outcome == "ok"
        assert record.messages[-1].content.startswith("canned: ")
        assert record.cost_usd == 0.0


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

"""The sweep's runner against a local OpenAI-compatible server over real HTTP
(harness/sweep/runner.py): retries, failures, resume, the cache, the budget gate, replay, mock.

Every call goes litellm -> HTTP -> harness.testing.testserver on 127.0.0.1, with faults injected by
the server; nothing in litellm is patched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.rundir import RunDir, iter_transcripts, read_manifests
from harness.schema import ModelSpec, ProviderSettings, ReplaySettings, ScaffoldSpec
from harness.sweep.cells import enumerate_cells
from harness.sweep.planning import estimate_cell
from harness.testing.testserver import Fault, TestServer
from tests.sweep.small_runs import FAKE_KEY, KEY_ENV, config, model, sweep


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


def test_transient_faults_are_retried_and_every_attempt_recorded(tmp_path: Path) -> None:
    faults = {"flaky": [Fault.status(429, retry_after=0.05), Fault.status(500),
                        Fault.timeout(hang_s=10), Fault.status(503)]}
    with TestServer(faults=faults) as server:
        cfg = config(server.url, [model("flaky")], tmp_path, n=2, turns=1)
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="flaky") == 4 * 5  # 4 cells x (4 faults + success)
    assert result.exit_code == 0
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
    assert result.exit_code == 1
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
    assert result.exit_code == 1
    assert "locked" in result.auth_failures


def test_content_policy_refusal_is_blocked_not_error(tmp_path: Path) -> None:
    with TestServer(always={"prude": Fault.content_policy()}) as server:
        cfg = config(server.url, [model("prude")], tmp_path, n=1, turns=2)
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="prude") == 2  # never retried
    assert result.exit_code == 0
    assert {r.status for r in iter_transcripts(RunDir(tmp_path / "r"))} == {"blocked"}


def test_rerun_resumes_and_serves_received_replies_from_cache(tmp_path: Path) -> None:
    with TestServer(always={"broken": Fault.status(400)}) as server:
        cfg = config(server.url, [model("alpha"), model("broken")], tmp_path, n=2)
        sweep(cfg, tmp_path / "r")
        first = server.count(model="alpha")
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="alpha") == first  # ok cells skipped
        assert server.count(model="broken") == 8  # error cells retried (4 cells x 2 runs)
    assert result.skipped == 4
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


def test_a_request_asked_twice_in_one_invocation_is_paid_once(tmp_path: Path) -> None:
    # Two scaffolds that send the same requests: the second cell's calls come from the replies
    # the first wrote this invocation (the cache's window of recent replies), not the server.
    twins = [ScaffoldSpec(name="bare"), ScaffoldSpec(name="twin")]
    with TestServer() as server:
        cfg = config(server.url, [model("alpha")], tmp_path, scaffolds=twins, n=3,
                     concurrency=1)
        result = sweep(cfg, tmp_path / "r")
        assert result.counts["ok"] == 6 and server.count() == 3 * 2  # 3 scenarios x 2 turns
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    served = {r.scaffold: [c.from_cache for c in r.calls] for r in records}
    assert served == {"bare": [False, False], "twin": [True, True]}


def test_an_error_cell_run_again_replaces_its_cost_in_the_manifest(tmp_path: Path) -> None:
    priced = ModelSpec.model_validate({
        "name": "priced", "litellm_model": "openai/gpt-4o-mini", "family": "openai",
        "api_key_env": KEY_ENV, "params": {"max_tokens": 64}})
    transcripts = tmp_path / "r" / "transcripts.jsonl"
    with TestServer() as server:
        cfg = config(server.url, [priced], tmp_path, scaffolds=[ScaffoldSpec(name="bare")], n=2,
                     turns=1)
        sweep(cfg, tmp_path / "r")
        spent = read_manifests(RunDir(tmp_path / "r"))[0].cost_usd
        # Say the cells ended error after paying (a later turn failed): they run again, and
        # each new record replaces the old one in the shard's cost instead of adding to it.
        transcripts.write_text(transcripts.read_text().replace('"status":"ok"',
                                                               '"status":"error"'))
        result = sweep(cfg, tmp_path / "r")
    assert result.counts["ok"] == 2 and result.skipped == 0
    assert spent > 0
    assert read_manifests(RunDir(tmp_path / "r"))[0].cost_usd == pytest.approx(spent, abs=1e-6)


def test_budget_gate_stops_before_passing_the_budget(tmp_path: Path) -> None:
    priced = ModelSpec.model_validate({
        "name": "gpt-4o", "litellm_model": "openai/gpt-4o", "family": "openai",
        "api_key_env": "XSTRESS_TEST_KEY", "params": {"max_tokens": 1000}})
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
    assert result.stopped_by == "budget"
    assert result.not_started == 6
    assert result.exit_code == 3
    (manifest,) = read_manifests(RunDir(tmp_path / "r"))
    assert manifest.stopped_by == "budget" and manifest.not_started == 6


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
    assert result.exit_code == 0
    replayed = {r.cell_id: r.messages for r in iter_transcripts(RunDir(tmp_path / "again"))}
    assert replayed == original


def test_strict_replay_miss_names_cell_and_turn(tmp_path: Path) -> None:
    (tmp_path / "empty" / "cache").mkdir(parents=True)
    cfg = config("http://127.0.0.1:9", [model("alpha")], tmp_path, n=1, turns=1)
    replay_cfg = RunConfig(**{**cfg.__dict__, "provider": ProviderSettings(mode="replay"),
                              "replay": ReplaySettings.model_validate(
                                  {"from": str(tmp_path / "empty")})})
    result = sweep(replay_cfg, tmp_path / "r")
    assert result.exit_code == 1
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
    assert result.exit_code == 0
    for record in iter_transcripts(RunDir(tmp_path / "r")):
        call = record.calls[0]
        assert [a.error_class for a in call.attempts[:2]] == ["RateLimitError",
                                                              "InternalServerError"]
        assert call.attempts[-1].outcome == "ok"
        assert record.messages[-1].content.startswith("canned: ")
        assert record.cost_usd == 0.0

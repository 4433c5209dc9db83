"""End-to-end: the ``xstress`` command run as a user runs it, in subprocesses."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.testing.testserver import Fault, TestServer
from tests.conftest import cli_env, run_cli

pytestmark = pytest.mark.slow

FAKE_KEY = "sk-test-FAKE-e2e-7f3a9c-never-written"


def add_local_model(project: Path, name: str, max_concurrency: int = 8) -> None:
    (project / "configs" / "models" / f"{name}.yaml").write_text(
        f"name: {name}\nlitellm_model: openai/{name}\nfamily: local\n"
        f"api_key_env: XSTRESS_TEST_KEY\nparams: {{temperature: 0.0, max_tokens: 64}}\n"
        f"limits: {{max_concurrency: {max_concurrency}}}\n"
    )


def records(run_dir: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for line in (run_dir / "transcripts.jsonl").read_text().splitlines()
        if line.strip()
    ]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_offline_sweep_writes_180_ok_records_and_rerun_calls_nothing(tmp_path: Path) -> None:
    args = [
        "run",
        "preset=offline",
        "pipeline.stages=[sweep]",
        f"run.out_dir={tmp_path}",
        "run.name=offline",
    ]
    first = run_cli(args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / "offline"
    rows = records(run_dir)
    assert len(rows) == 180 and {r["status"] for r in rows} == {"ok"}
    assert len({r["cell_id"] for r in rows}) == 180
    assert Counter(r["model"] for r in rows) == {
        "sim-cautious": 60,
        "sim-eager": 60,
        "sim-literal": 60,
    }
    assert all(r["simulated"] for r in rows)
    assert "SIMULATED" in first.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["simulated"] is True and manifest["counts"]["ok"] == 180
    assert set(manifest["hashes"]["scaffolds"]) == {"bare", "generic", "steer", "verify"}

    again = run_cli(args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 provider calls" in again.stderr
    assert json.loads((run_dir / "manifest.json").read_text())["calls_made_this_invocation"] == 0
    assert len(records(run_dir)) == 180


def test_plan_counts_and_sees_a_dropped_scaffold(project: Path, tmp_path: Path) -> None:
    (project / "scaffolds" / "socratic.yaml").write_text(
        "name: socratic\ndescription: Ask before answering.\nsystem: Ask one question first.\n"
    )
    result = run_cli(["plan", "scaffolds=all"], cwd=tmp_path, env=cli_env(project))
    assert result.returncode == 0, result.stderr
    assert "cells: 225" in result.stdout  # 3 models x 5 scaffolds x 15 prompts
    assert "socratic 45" in result.stdout
    assert "cost (upper bound" in result.stdout


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        ("typo", ["scaffolds=[typo]"], "scaffolds/typo.yaml: field 'sytem'"),
        ("noturns", ["prompts=noturns"], "configs/prompts/noturns.yaml: field 'scenarios.0.turns'"),
        (None, ["models=[nosuch]"], "configs/models/nosuch.yaml: no models config named"),
        (None, ["models=[gpt4o]"], "api_key_env OPENAI_API_KEY is not set"),
        (None, ["run.concurrency=zero"], "run"),
        (None, ["--frobnicate"], "unknown option"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_runs_alone(
    project: Path, tmp_path: Path, setup: str | None, args: list[str], expected: str
) -> None:
    if setup == "typo":
        (project / "scaffolds" / "typo.yaml").write_text("name: typo\nsytem: hi\n")
    if setup == "noturns":
        (project / "configs" / "prompts" / "noturns.yaml").write_text(
            "name: noturns\nscenarios:\n  - {id: a, domain: d, probe: checkable, "
            "targets: [D3], turns: []}\n"
        )
    existing = tmp_path / "runs" / "keep"
    existing.mkdir(parents=True)
    (existing / "transcripts.jsonl").write_text('{"precious": true}\n')
    before = digest(existing / "transcripts.jsonl")
    result = run_cli(
        ["run", *args, f"run.out_dir={tmp_path / 'runs'}", "run.name=keep"],
        cwd=tmp_path,
        env=cli_env(project),
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert digest(existing / "transcripts.jsonl") == before


def test_unwritable_output_dir_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli(
        ["run", "preset=offline", f"run.out_dir={blocker}", "run.name=x"], cwd=tmp_path
    )
    assert result.returncode == 2
    assert "cannot write the run directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_live_sweep_errors_exit_1_and_key_never_written(project: Path, tmp_path: Path) -> None:
    add_local_model(project, "good")
    add_local_model(project, "broken")
    with TestServer(require_key=FAKE_KEY, always={"broken": Fault.status(400)}) as server:
        env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
        result = run_cli(
            [
                "run",
                "models=[good,broken]",
                "scaffolds=[bare,verify]",
                f"provider.api_base={server.url}",
                f"run.out_dir={tmp_path}",
                "run.name=live",
                "run.retry_base_s=0.01",
            ],
            cwd=tmp_path,
            env=env,
        )
    assert result.returncode == 1, result.stderr
    assert "30 cell(s) ended error" in result.stderr and "BadRequestError" in result.stderr
    rows = records(tmp_path / "live")
    assert Counter(r["status"] for r in rows) == {"ok": 30, "error": 30}
    for path in (tmp_path / "live").rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace"), path
    assert FAKE_KEY not in result.stdout + result.stderr


def test_replay_reproduces_a_run_offline(tmp_path: Path) -> None:
    base = [
        "preset=offline",
        "pipeline.stages=[sweep]",
        f"run.out_dir={tmp_path}",
        "scaffolds=[bare,verify]",
        "models=[sim-cautious]",
    ]
    assert run_cli(["run", *base, "run.name=orig"], cwd=tmp_path).returncode == 0
    replay = run_cli(
        ["run", *base, "run.name=copy", "provider=replay", f"replay.from={tmp_path / 'orig'}"],
        cwd=tmp_path,
    )
    assert replay.returncode == 0, replay.stderr
    original = {r["cell_id"]: r["messages"] for r in records(tmp_path / "orig")}
    copied = {r["cell_id"]: r["messages"] for r in records(tmp_path / "copy")}
    assert copied == original and len(copied) == 30


def test_sigkill_mid_sweep_then_rerun_yields_each_cell_once(project: Path, tmp_path: Path) -> None:
    add_local_model(project, "slow", max_concurrency=8)
    env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
    args = [
        sys.executable,
        "-m",
        "harness",
        "run",
        "models=[slow]",
        "scaffolds=[bare,steer]",
        f"run.out_dir={tmp_path}",
        "run.name=killed",
        "run.concurrency=8",
    ]
    run_dir = tmp_path / "killed"
    with TestServer(latency_s=0.15) as server:
        args.append(f"provider.api_base={server.url}")
        process = subprocess.Popen(
            args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        transcripts = run_dir / "transcripts.jsonl"
        while time.monotonic() < deadline:
            if transcripts.exists() and transcripts.read_text().count("\n") >= 8:
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert 8 <= transcripts.read_text().count("\n") < 30, "kill came too late"
        requests_before = server.count()
        rerun = run_cli(args[3:], cwd=tmp_path, env=env)
        assert rerun.returncode == 0, rerun.stderr
        attempts = server.attempts_by_fingerprint()
        total = server.count()
    rows = records(run_dir)
    assert len(rows) == 30 and len({r["cell_id"] for r in rows}) == 30
    assert all(r["status"] == "ok" for r in rows)
    repeated = sum(n - 1 for n in attempts.values() if n > 1)
    # only requests in flight at the kill (at most the concurrency) were asked again
    assert repeated <= 8, (repeated, requests_before, total)
    reused = sum(1 for r in rows for c in r["calls"] if c["from_cache"])  # type: ignore[union-attr]
    assert reused >= 1 or repeated == 0


def test_offline_preset_runs_the_whole_pipeline(tmp_path: Path) -> None:
    result = run_cli(["run", "preset=offline", f"run.out_dir={tmp_path}", "run.name=full"],
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "full"
    items = (run_dir / "blind" / "items.jsonl").read_text().splitlines()
    assert len(items) == 180
    assert oct((run_dir / "blind" / "key.jsonl").stat().st_mode & 0o777) == "0o600"
    scores = (run_dir / "scores" / "heuristic.jsonl").read_text().splitlines()
    assert len(scores) == 180 * 8
    report = (run_dir / "report" / "report.md").read_text()
    assert "**SIMULATED MODELS" in report.split("\n\n")[1]
    assert "HEURISTIC CODER ONLY" in report
    for name in ("profiles.csv", "effects.csv", "interaction.csv", "report.html"):
        assert (run_dir / "report" / name).stat().st_size > 0
    assert f"report: {run_dir / 'report' / 'report.html'}" in result.stderr
    # a rerun resumes every stage: no calls, no re-blinding, nothing re-scored
    again = run_cli(["run", "preset=offline", f"run.out_dir={tmp_path}", "run.name=full"],
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 provider calls" in again.stderr and "blind: already done" in again.stderr
    assert (run_dir / "blind" / "items.jsonl").read_text().splitlines() == items


def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(project: Path, tmp_path: Path) -> None:
    add_local_model(project, "slow", max_concurrency=4)
    env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
    args = ["run", "models=[slow]", "scaffolds=[bare,steer]", "pipeline.stages=[sweep]",
            f"run.out_dir={tmp_path}", "run.name=intr", "run.concurrency=4"]
    run_dir = tmp_path / "intr"
    transcripts = run_dir / "transcripts.jsonl"
    with TestServer(latency_s=0.3) as server:
        args.append(f"provider.api_base={server.url}")
        process = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=tmp_path,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if transcripts.exists() and transcripts.read_text().count("\n") >= 4:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr
        lines = transcripts.read_bytes()
        assert lines.endswith(b"\n")
        assert all(json.loads(line)["status"] == "ok" for line in lines.splitlines())
        assert json.loads((run_dir / "manifest.json").read_text())["stopped_by"] == "interrupt"
        rerun = run_cli(args, cwd=tmp_path, env=env)
        assert rerun.returncode == 0, rerun.stderr
    rows = records(run_dir)
    assert len(rows) == 30 and len({r["cell_id"] for r in rows}) == 30


def test_plan_and_help_do_not_import_litellm(tmp_path: Path) -> None:
    probe = ("import sys, runpy; sys.argv = ['xstress', 'plan', 'preset=offline'];\n"
             "from harness.cli import main; code = main();\n"
             "assert 'litellm' not in sys.modules, 'plan imported litellm'; print('ok', code)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=cli_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "ok 0" in result.stdout


def test_multirun_shards_write_their_own_files_and_union_is_complete(tmp_path: Path) -> None:
    result = run_cli(["run", "-m", "preset=offline", "models=[sim-eager]", "run.shard=0,1",
                      "run.num_shards=2", "pipeline.stages=[sweep]", f"run.out_dir={tmp_path}",
                      "run.name=sharded"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "sharded"
    files = sorted(p.name for p in run_dir.glob("transcripts*.jsonl"))
    assert files == ["transcripts.shard-0-of-2.jsonl", "transcripts.shard-1-of-2.jsonl"]
    ids = [json.loads(line)["cell_id"] for name in files
           for line in (run_dir / name).read_text().splitlines()]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert len(list(run_dir.glob("manifest.shard-*.json"))) == 2

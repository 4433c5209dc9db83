"""End-to-end: ``xstress run`` and ``xstress plan`` as a user runs them.

In this process (``main(argv)``) where nothing depends on the process; as real processes where
something does: SIGKILL and Ctrl-C, Hydra's multirun, and what a fresh interpreter imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.testing.testserver import Fault, TestServer
from tests.conftest import Ran, cli_env, run_cli

Xstress = Callable[..., Ran]

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


def test_offline_run_writes_180_simulated_ok_records(offline_run: Path) -> None:
    rows = records(offline_run)
    assert len(rows) == 180 and {r["status"] for r in rows} == {"ok"}
    assert len({r["cell_id"] for r in rows}) == 180
    assert Counter(r["model"] for r in rows) == {
        "sim-cautious": 60,
        "sim-eager": 60,
        "sim-literal": 60,
    }
    assert all(r["simulated"] for r in rows)
    manifest = json.loads((offline_run / "manifest.json").read_text())
    assert manifest["simulated"] is True and manifest["counts"]["ok"] == 180
    assert set(manifest["hashes"]["scaffolds"]) == {"bare", "generic", "steer", "verify"}


def test_plan_counts_and_sees_a_dropped_scaffold(project: Path, xstress: Xstress) -> None:
    (project / "scaffolds" / "socratic.yaml").write_text(
        "name: socratic\ndescription: Ask before answering.\nsystem: Ask one question first.\n"
    )
    result = xstress("plan", "scaffolds=all")
    assert result.code == 0, result.err
    assert "cells: 315" in result.out  # 3 models x 7 scaffolds x 15 prompts
    assert "socratic 45" in result.out
    assert "cost (upper bound" in result.out


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        ("typo", ["scaffolds=[typo]"], "scaffolds/typo.yaml: field 'sytem'"),
        ("noturns", ["prompts=noturns"], "configs/prompts/noturns.yaml: field 'scenarios.0.turns'"),
        (None, ["models=[nosuch]"], "configs/models/nosuch.yaml: no models config named"),
        (None, ["models=[gpt4o]"], "api_key_env OPENAI_API_KEY is not set"),
        (None, ["run.concurrency=zero"], "run"),
        (None, ["--frobnicate"], "unknown option"),
        (None, ["models=sim-eager,sim-literal"], "write models=[sim-eager,sim-literal]"),
        (None, ["run.concurency=4"], "override 'run.concurency'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_runs_alone(
    project: Path, tmp_path: Path, setup: str | None, args: list[str], expected: str,
    xstress: Xstress, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
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
    result = xstress("run", *args, f"run.out_dir={tmp_path / 'runs'}", "run.name=keep")
    assert result.code == 2, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert expected in lines[0]
    assert digest(existing / "transcripts.jsonl") == before


def test_unwritable_output_dir_is_exit_2(tmp_path: Path, xstress: Xstress) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = xstress("run", "preset=offline", f"run.out_dir={blocker}", "run.name=x")
    assert result.code == 2
    assert "cannot write the run directory" in result.err


def test_live_sweep_errors_exit_1_and_key_never_written(
    project: Path, tmp_path: Path, xstress: Xstress, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_local_model(project, "good")
    add_local_model(project, "broken")
    monkeypatch.setenv("XSTRESS_TEST_KEY", FAKE_KEY)
    with TestServer(require_key=FAKE_KEY, always={"broken": Fault.status(400)}) as server:
        result = xstress("run", "models=[good,broken]", "scaffolds=[bare,verify]",
                         f"provider.api_base={server.url}", f"run.out_dir={tmp_path}",
                         "run.name=live", "run.retry_base_s=0.01", "pipeline.stages=[sweep]")
    assert result.code == 1, result.err
    assert "30 cell(s) ended error" in result.err and "BadRequestError" in result.err
    rows = records(tmp_path / "live")
    assert Counter(r["status"] for r in rows) == {"ok": 30, "error": 30}
    for path in (tmp_path / "live").rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace"), path
    assert FAKE_KEY not in result.out + result.err


def test_replay_reproduces_a_run_offline(offline_run: Path, tmp_path: Path,
                                         xstress: Xstress) -> None:
    replay = xstress("run", "preset=offline", "pipeline.stages=[sweep]", f"run.out_dir={tmp_path}",
                     "scaffolds=[bare,verify]", "models=[sim-cautious]", "run.name=copy",
                     "provider=replay", f"replay.from={offline_run}")
    assert replay.code == 0, replay.err
    copied = {r["cell_id"]: r["messages"] for r in records(tmp_path / "copy")}
    original = {r["cell_id"]: r["messages"] for r in records(offline_run)}
    assert len(copied) == 30 and all(copied[cell] == original[cell] for cell in copied)


@pytest.mark.slow
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
        "judges=[heuristic]",
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


def test_offline_preset_runs_the_whole_pipeline(offline_run: Path) -> None:
    items = (offline_run / "blind" / "items.jsonl").read_text().splitlines()
    assert len(items) == 180
    assert oct((offline_run / "blind" / "key.jsonl").stat().st_mode & 0o777) == "0o600"
    scores = (offline_run / "scores" / "heuristic.jsonl").read_text().splitlines()
    assert len(scores) == 180 * 8
    report = (offline_run / "report" / "report.md").read_text()
    assert "**SIMULATED MODELS" in report.split("\n\n")[1]
    assert "**SIMULATED JUDGE" in report and "FORMAT CHECK ONLY" not in report
    # Every coder's calibration is cited, the one behind the profiles first.
    calibration = report.split("## Coder calibration")[1].split("\n## ")[0]
    assert calibration.index("sim_judge (llm_judge): calibrated") < calibration.index(
        "heuristic (heuristic): calibrated")
    assert "| D3 | verification support |" in calibration
    assert (offline_run / "scores" / "sim_judge.jsonl").is_file()
    for name in ("profiles.csv", "effects.csv", "interaction.csv", "report.html"):
        assert (offline_run / "report" / name).stat().st_size > 0


def test_a_rerun_resumes_every_stage(offline_run: Path, xstress: Xstress) -> None:
    items = (offline_run / "blind" / "items.jsonl").read_text().splitlines()
    again = xstress("run", "preset=offline", f"run.out_dir={offline_run.parent}",
                    f"run.name={offline_run.name}")
    assert again.code == 0, again.err
    assert "SIMULATED" in again.err
    assert "0 provider calls" in again.err and "blind: already done" in again.err
    assert f"report: {offline_run / 'report' / 'report.html'}" in again.err
    manifest = json.loads((offline_run / "manifest.json").read_text())
    assert manifest["calls_made_this_invocation"] == 0 and manifest["counts"]["ok"] == 180
    assert (offline_run / "blind" / "items.jsonl").read_text().splitlines() == items
    assert len(records(offline_run)) == 180


@pytest.mark.slow
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


@pytest.mark.slow
def test_plan_and_help_do_not_import_litellm(tmp_path: Path) -> None:
    probe = ("import sys, runpy; sys.argv = ['xstress', 'plan', 'preset=offline'];\n"
             "from harness.cli import main; code = main();\n"
             "assert 'litellm' not in sys.modules, 'plan imported litellm'; print('ok', code)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=cli_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "ok 0" in result.stdout


@pytest.mark.slow
def test_commands_that_read_runs_do_not_import_litellm(offline_run: Path, tmp_path: Path) -> None:
    """scaffolds, agree, report, runs, view, protocol, compare, export and blind call no model:
    one fresh interpreter runs them in turn and checks litellm is never imported."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(offline_run, run)
    commands = [["scaffolds", "list"], ["agree", str(run)], ["report", str(run), "n_perm=10"],
                ["runs", str(tmp_path)], ["view", str(run), "--static"],
                ["protocol", "export", str(run), f"out={tmp_path / 'p.yaml'}"],
                ["compare", str(run), str(offline_run), f"out={tmp_path / 'cmp'}"],
                ["export", "table", str(run)],
                ["blind", str(run), "--force"]]  # last: a new key under the copy's scores
    probe = ("import json, sys\nfrom harness.cli import main\n"
             f"for argv in json.loads({json.dumps(json.dumps(commands))}):\n"
             "    code = main(argv)\n"
             "    assert code == 0, (argv, code)\n"
             "    assert 'litellm' not in sys.modules, f'{argv[0]} imported litellm'\n"
             "print('ok')")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=cli_env(),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.slow
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

"""``run.workers`` as real processes: SIGTERM, kill -9 and Ctrl-C of a sweep in worker processes.

The parent owns the signals: SIGTERM to it, or Ctrl-C to the whole process group, ends every
worker like a one-process sweep (exit 130, what finished on disk); ``kill -9`` of the parent
takes its workers with it (no orphan goes on writing while a rerun starts). A final rerun then
records every cell exactly once, paying again for no more than the replies in flight at each
stop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.testing.testserver import TestServer
from tests.chaos.cli_runs import CONCURRENCY, FAKE_KEY, add_model_and_prompts, command, lines_of
from tests.conftest import cli_env

SCENARIOS = 48
WORKERS = 2


def members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def records(run_dir: Path) -> list[dict[str, object]]:
    return [row for path in sorted(run_dir.glob("transcripts*.jsonl")) for row in lines_of(path)]


def stop_after(args: list[str], env: dict[str, str], run_dir: Path, how: str, cwd: Path) -> int:
    """Start the sweep in its own process group; once a few more cells are on disk, stop it
    ``how`` (``term``: SIGTERM to the parent; ``kill``: SIGKILL to the parent; ``int``: SIGINT
    to the whole group, as Ctrl-C does); return its exit code once the group is empty."""
    before = len(records(run_dir))
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240  # a hang guard, not a timing check
    while time.monotonic() < deadline and process.poll() is None:
        if len(records(run_dir)) >= before + 6:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep ended before it could be stopped"
    if how == "int":
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGTERM if how == "term" else signal.SIGKILL)
    code = process.wait(timeout=120)
    while time.monotonic() < deadline and members(process.pid):
        time.sleep(0.05)
    assert not members(process.pid), f"worker processes outlived the parent ({how})"
    return code


@pytest.mark.slow
def test_stopping_a_sweep_in_workers_then_resuming_records_each_cell_once(
        project: Path, tmp_path: Path) -> None:
    add_model_and_prompts(project, scenarios=SCENARIOS)
    env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
    run_dir = tmp_path / "r"
    with TestServer(latency_s=0.3) as server:
        args = [*command(server.url, tmp_path, scenarios=SCENARIOS), f"run.workers={WORKERS}"]
        assert stop_after(args, env, run_dir, "term", tmp_path) == 130
        assert stop_after(args, env, run_dir, "kill", tmp_path) == -signal.SIGKILL
        assert stop_after(args, env, run_dir, "int", tmp_path) == 130
        assert len(records(run_dir)) < SCENARIOS, "the last stop came after the last cell"
        final = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=300, check=False)
        requests = server.requests
    assert final.returncode == 0, final.stderr
    rows = records(run_dir)
    assert len(rows) == SCENARIOS == len({row["cell_id"] for row in rows})
    assert {row["status"] for row in rows} == {"ok"}
    answered = Counter(r.fingerprint for r in requests if r.status == 200)
    assert len(answered) == SCENARIOS
    # At each stop the replies in flight may be lost: at most the model's concurrency (which
    # the workers divide between them) per stop.
    assert sum(n - 1 for n in answered.values()) <= 3 * CONCURRENCY, answered
    assert "already done" in final.stderr


def worker_pids(parent: int) -> list[int]:
    """The parent's spawned sweep workers (not the resource tracker)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields.get("PPid", "0")) == parent and b"spawn_main" in cmdline:
            found.append(int(status.parent.name))
    return found


@pytest.mark.slow
def test_a_killed_worker_leaves_a_manifest_that_counts_what_is_on_disk(
        project: Path, tmp_path: Path) -> None:
    """kill -9 of one worker breaks the pool (the others stop too): the parent reports it,
    and the manifest's counts and cost are those of the cells on disk, not of the workers
    that could still answer (none)."""
    add_model_and_prompts(project, scenarios=SCENARIOS)
    (project / "configs" / "models" / "chaos.yaml").write_text(  # priced: costs to add up
        "name: chaos\nlitellm_model: openai/gpt-4o-mini\nfamily: local\n"
        "api_key_env: XSTRESS_TEST_KEY\nparams: {temperature: 0.0, max_tokens: 64}\n"
        f"limits: {{max_concurrency: {CONCURRENCY}}}\n")
    env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
    run_dir = tmp_path / "r"
    with TestServer(latency_s=0.3) as server:
        args = [*command(server.url, tmp_path, scenarios=SCENARIOS), f"run.workers={WORKERS}"]
        process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.monotonic() + 240  # a hang guard, not a timing check
        while time.monotonic() < deadline and len(records(run_dir)) < 6:
            assert process.poll() is None, "the sweep ended before a worker could be killed"
            time.sleep(0.02)
        os.kill(worker_pids(process.pid)[0], signal.SIGKILL)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2, err
    assert "died before it finished" in err and "rerun the same command" in err
    rows = records(run_dir)
    latest = {row["cell_id"]: row for row in rows}
    assert 6 <= len(latest) < SCENARIOS
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["counts"]["ok"] == len(latest)
    on_disk = sum(float(row["cost_usd"]) for row in latest.values())  # type: ignore[arg-type]
    assert on_disk > 0
    # The manifest rounds to 6 decimals; one cell costs more than that rounding, so a cell
    # left out would show.
    assert min(float(row["cost_usd"]) for row in latest.values()) > 1e-6  # type: ignore[arg-type]
    assert abs(manifest["cost_usd"] - on_disk) <= 0.5e-6 + 1e-12

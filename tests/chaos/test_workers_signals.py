"""``run.workers`` as real processes: SIGTERM, kill -9 and Ctrl-C of a sweep in worker processes.

The parent owns the signals: SIGTERM to it, or Ctrl-C to the whole process group, ends every
worker like a one-process sweep (exit 130, what finished on disk); ``kill -9`` of the parent
takes its workers with it (no orphan goes on writing while a rerun starts). A final rerun then
records every cell exactly once, paying again for no more than the replies in flight at each
stop.
"""

from __future__ import annotations

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

"""The fault suite, as real processes: ``kill -9`` at random moments, a torn write, resume.

A run is killed twice at moments drawn from a seeded generator (after a random number of
records, plus a random delay, so some kills land while a record or a cached reply is being
written), a write torn mid-line is left at the end of the transcripts and of the cache (what a
kill inside ``write`` leaves), and the run is resumed to its end. Every cell must then be
recorded exactly once, and no request answered in full more than once, beyond those in flight
at a kill (at most the model's concurrency per kill).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.testing.testserver import TestServer
from tests.chaos.cli_runs import (
    CONCURRENCY,
    FAKE_KEY,
    add_model_and_prompts,
    command,
    lines_of,
)
from tests.conftest import cli_env

SCENARIOS = 60


def kill_after(args: list[str], env: dict[str, str], transcripts: Path, records: int,
               delay_s: float, cwd: Path) -> None:
    """Start the run; SIGKILL it ``delay_s`` after ``records`` records are on disk."""
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(lines_of(transcripts)) >= records:
            break
        time.sleep(0.01)
    time.sleep(delay_s)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def tear(path: Path) -> None:
    """Append the first half of the file's last line, without its newline (a torn write)."""
    last = path.read_bytes().splitlines()[-1]
    with path.open("ab") as handle:
        handle.write(last[: len(last) // 2])


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_records_each_cell_once(
        project: Path, tmp_path: Path) -> None:
    add_model_and_prompts(project, scenarios=SCENARIOS)
    env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
    rng = random.Random(13)
    run_dir = tmp_path / "r"
    transcripts = run_dir / "transcripts.jsonl"
    cache = run_dir / "cache" / "responses.jsonl"
    with TestServer(latency_s=0.15) as server:
        args = command(server.url, tmp_path, scenarios=SCENARIOS)
        kills = 0
        for _ in range(2):
            before = len(lines_of(transcripts))
            kill_after(args, env, transcripts, before + rng.randint(1, 20), rng.uniform(0, 0.1),
                       tmp_path)
            kills += 1
            assert len(lines_of(transcripts)) < SCENARIOS, "the kill came after the last cell"
        tear(transcripts)
        tear(cache)
        final = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=300, check=False)
        requests = server.requests
    assert final.returncode == 0, final.stderr
    assert "torn last line" in final.stderr
    rows = lines_of(transcripts)
    assert transcripts.read_bytes().endswith(b"\n") and cache.read_bytes().endswith(b"\n")
    assert len(rows) == SCENARIOS == len({row["cell_id"] for row in rows})
    assert {row["status"] for row in rows} == {"ok"}
    answered = Counter(r.fingerprint for r in requests if r.status == 200)
    assert len(answered) == SCENARIOS
    paid_again = sum(n - 1 for n in answered.values())
    assert paid_again <= kills * CONCURRENCY, answered
    # Every attempt the final records carry was a request the server saw; the requests they
    # do not carry were made by killed processes (their replies cached, or lost in flight).
    calls = [call for row in rows for call in row["calls"]]  # type: ignore[attr-defined]
    recorded = sum(len(call["attempts"]) for call in calls if not call["from_cache"])
    cached = sum(1 for call in calls if call["from_cache"])
    assert recorded <= len(requests) <= recorded + cached + kills * CONCURRENCY

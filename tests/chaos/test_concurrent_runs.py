"""The fault suite: two runs started on the same run directory at once.

The run lock makes the second exit 2 with one line saying the run is in use, and the first
records every cell exactly once (without the lock the two runs interleave and pay twice).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.testing.testserver import TestServer
from tests.chaos.cli_runs import FAKE_KEY, add_model_and_prompts, command, lines_of
from tests.conftest import cli_env

SCENARIOS = 30


@pytest.mark.slow
def test_a_second_run_on_the_same_directory_is_refused(project: Path, tmp_path: Path) -> None:
    add_model_and_prompts(project, scenarios=SCENARIOS)
    env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
    with TestServer(latency_s=0.1) as server:
        args = command(server.url, tmp_path, scenarios=SCENARIOS)
        runs = [subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outcomes = [(run.wait(timeout=300), run.communicate()[1]) for run in runs]
        answered = server.count(status=200)
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    refused = next(err for code, err in outcomes if code == 2)
    assert len([line for line in refused.splitlines() if line.strip()]) == 1
    rows = lines_of(tmp_path / "r" / "transcripts.jsonl")
    assert len(rows) == SCENARIOS == len({row["cell_id"] for row in rows})
    assert answered == SCENARIOS  # the refused run paid for nothing

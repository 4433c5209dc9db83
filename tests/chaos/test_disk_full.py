"""The fault suite: the disk fills up mid-run (a file-size limit makes writes fail).

No root is needed: the run's process gets ``RLIMIT_FSIZE``, so a write past the limit fails
with EFBIG, part-way through a line, as it would on a full disk (ENOSPC). The run must stop
with one line naming the file and the fix (exit 2, no traceback), keep every record it had
written intact, and a rerun without the limit must finish with each cell recorded once.
"""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest

from harness.testing.testserver import TestServer
from tests.chaos.cli_runs import FAKE_KEY, add_model_and_prompts, command, lines_of
from tests.conftest import cli_env

SCENARIOS = 40
LIMIT_BYTES = 52_000  # past the manifest (~43 kB), short of the 40 records (~62 kB)


def small_disk() -> None:
    """In the child, before exec: no file may grow past LIMIT_BYTES."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))


@pytest.mark.slow
def test_a_full_disk_stops_the_run_cleanly_and_the_rerun_completes(
        project: Path, tmp_path: Path) -> None:
    add_model_and_prompts(project, scenarios=SCENARIOS)
    env = cli_env(project, XSTRESS_TEST_KEY=FAKE_KEY)
    transcripts = tmp_path / "r" / "transcripts.jsonl"
    with TestServer(latency_s=0.02) as server:
        args = command(server.url, tmp_path, scenarios=SCENARIOS)
        full = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300, check=False, preexec_fn=small_disk)
        written = transcripts.read_bytes()
        again = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=300, check=False)
    assert full.returncode == 2, full.stderr
    assert "Traceback" not in full.stderr
    errors = [line for line in full.stderr.splitlines() if "File too large" in line]
    assert len(errors) == 1 and "free disk space" in errors[0], full.stderr
    before = written[: written.rfind(b"\n") + 1]
    assert 0 < before.count(b"\n") < SCENARIOS, "the limit did not cut the run short"
    assert again.returncode == 0, again.stderr
    final = transcripts.read_bytes()
    assert final.startswith(before)  # nothing written before the failure was lost or changed
    rows = lines_of(transcripts)
    assert len(rows) == SCENARIOS == len({row["cell_id"] for row in rows})
    assert {row["status"] for row in rows} == {"ok"}

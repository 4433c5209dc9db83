"""Shards through Hydra's submitit launcher (``hydra/launcher=submitit_local``), as a cluster
runs them: each shard a job in its own process, one run directory, every cell exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.rundir import RunDir, iter_transcripts, read_manifests
from harness.sweep import enumerate_cells
from tests.conftest import cli_env, run_cli

SCENARIO = "health-glucose-test-reading"


@pytest.mark.slow
def test_four_shards_through_submitit_local_make_one_run(project: Path, tmp_path: Path) -> None:
    args = ["run", "-m", "preset=offline", "run.shard=0,1,2,3", "run.num_shards=4",
            "hydra/launcher=submitit_local", f"run.out_dir={tmp_path}", "run.name=s",
            "pipeline.stages=[sweep]", f"prompts.only=[{SCENARIO}]"]
    # First every call fails at once (a 400): the jobs' exit code 1 reaches the command's.
    failed = run_cli([*args, "provider=mock", "provider.mock_errors=[BadRequestError]"],
                     cwd=tmp_path, env=cli_env(project))
    assert failed.returncode == 1, failed.stderr
    assert not list(tmp_path.glob(".xstress-codes-*"))  # the jobs' codes were cleaned up
    done = run_cli(args, cwd=tmp_path, env=cli_env(project))
    assert done.returncode == 0, done.stderr
    layout = RunDir(tmp_path / "s")
    manifests = read_manifests(layout)
    assert sorted((m.shard, m.num_shards) for m in manifests) == [(k, 4) for k in range(4)]
    config = manifests[0].config
    wanted = {cell.cell_id for cell in enumerate_cells(
        config.models, config.scaffolds, config.prompts, only=[SCENARIO])}
    records = list({r.cell_id: r for r in iter_transcripts(layout)}.values())  # latest per cell
    assert len(records) == len(wanted)
    assert {r.cell_id for r in records} == wanted and {r.status for r in records} == {"ok"}
    # Each shard wrote its own slice: the cells whose id gives its index.
    for path in layout.transcript_files():
        shard = int(path.name.split("shard-")[1].split("-of-")[0])
        ids = [json.loads(line)["cell_id"] for line in path.read_text().splitlines()]
        assert len(ids) == 2 * len(set(ids))  # each cell: its error, then its retry
        assert all(int(cell_id, 16) % 4 == shard for cell_id in ids)
    assert all(m.cells == m.counts.ok for m in manifests)
    assert sum(m.cells for m in manifests) == len(wanted)

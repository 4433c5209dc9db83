"""``run.workers``: one sweep in several processes, against the local test server.

Each worker is a real process (spawn) calling litellm -> HTTP -> 127.0.0.1; the checks are
what a user relies on: every cell exactly once over the workers' files, one manifest, one
merged result, the same cells and replies as one process, a resume with another number of
workers paying for nothing, and limits divided so that together they stay within the config.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.rundir import RunDir, iter_transcripts, read_manifests
from harness.sweep import enumerate_cells, run_sweep_stage
from harness.sweep.workers import slice_config
from harness.testing.testserver import TestServer
from tests.sweep.small_runs import FAKE_KEY, KEY_ENV, config, model

CELLS = 12  # 6 scenarios x 2 scaffolds


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


def test_slices_partition_the_cells_and_divide_the_limits(tmp_path: Path) -> None:
    base = config("http://127.0.0.1:9", [model("a", rpm=100), model("b")], tmp_path, n=20,
                  turns=1, shard=1, num_shards=2, max_cost_usd=3.0, concurrency=9)
    def ids(cfg: object) -> list[str]:
        run = cfg.run  # type: ignore[attr-defined]
        return [c.cell_id for c in enumerate_cells(
            cfg.models, cfg.scaffolds, cfg.prompts,  # type: ignore[attr-defined]
            shard=run.shard, num_shards=run.num_shards)]
    slices = [slice_config(base, k, 3) for k in range(3)]
    found = [cell for part in slices for cell in ids(part)]
    assert sorted(found) == sorted(ids(base)) and len(set(found)) == len(found)
    assert all(len(ids(part)) for part in slices)  # 80 cells over 3 slices: none empty
    first = slices[0]
    assert (first.run.shard, first.run.num_shards) == (1, 6)
    assert first.run.concurrency == 3 and first.run.max_cost_usd == pytest.approx(1.0)
    assert first.models[0].limits.rpm == 33 and first.models[0].limits.max_concurrency == 1
    assert first.models[1].limits.rpm is None
    assert first.run.workers == 1 and first.run.progress is False


def test_two_workers_record_each_cell_once_and_a_resume_pays_nothing(
        tmp_path: Path, keyed: None) -> None:
    said: list[str] = []
    with TestServer(latency_s=0.05) as server:
        cfg = config(server.url, [model("w")], tmp_path, n=CELLS // 2, turns=1, workers=2)
        result = run_sweep_stage(cfg, tmp_path / "r", announce=said.append)
        first_requests = len(server.requests)
        again = run_sweep_stage(config(server.url, [model("w")], tmp_path, n=CELLS // 2,
                                       turns=1, workers=3),
                                tmp_path / "r", announce=said.append)
        second_requests = len(server.requests) - first_requests
    layout = RunDir(tmp_path / "r")
    written = [p.name for p in layout.transcript_files() if p.stat().st_size]
    assert sorted(written) == ["transcripts.shard-0-of-2.jsonl",
                               "transcripts.shard-1-of-2.jsonl"]
    records = list(iter_transcripts(layout))
    assert len(records) == CELLS == len({r.cell_id for r in records})
    assert {r.status for r in records} == {"ok"}
    assert first_requests == CELLS and second_requests == 0
    assert result.exit_code == 0 and result.counts["ok"] == CELLS and result.calls_made == CELLS
    assert again.skipped == CELLS and again.calls_made == 0
    [manifest] = read_manifests(layout)  # the parent's, for the whole run
    assert (manifest.shard, manifest.num_shards, manifest.cells) == (0, 1, CELLS)
    assert manifest.counts.ok == CELLS and manifest.finished_at is not None
    assert manifest.config.run.workers == 3  # the latest invocation's setting, as given
    assert manifest.model_versions  # what the workers saw reached the parent's manifest
    assert any("2 worker processes" in line for line in said)


def test_workers_write_what_one_process_writes(tmp_path: Path, keyed: None) -> None:
    for name, workers in (("one", 1), ("two", 2)):
        with TestServer() as server:  # a server each: it numbers the replies it has sent
            cfg = config(server.url, [model("w")], tmp_path / name, n=CELLS // 2, turns=2,
                         workers=workers)
            run_sweep_stage(cfg, tmp_path / name / "r", announce=lambda line: None)

    def replies(root: Path) -> dict[str, list[str | None]]:
        return {r.cell_id: [c.reply for c in r.calls] for r in iter_transcripts(RunDir(root))}

    assert replies(tmp_path / "one" / "r") == replies(tmp_path / "two" / "r")
    caches = sorted((tmp_path / "two" / "r" / "cache").glob("responses*.jsonl"))
    lines = [json.loads(line) for path in caches for line in path.read_text().splitlines()]
    assert len(caches) == 2 and len(lines) == CELLS * 2  # two turns per cell, each cached once
    assert Counter(line["request_fingerprint"] for line in lines).most_common(1)[0][1] == 1


def test_a_smoke_test_limit_runs_in_one_process(tmp_path: Path, keyed: None) -> None:
    said: list[str] = []
    with TestServer() as server:
        cfg = config(server.url, [model("w")], tmp_path, n=CELLS // 2, turns=1, workers=2,
                     limit=3)
        result = run_sweep_stage(cfg, tmp_path / "r", announce=said.append)
    assert result.counts["ok"] == 3
    assert [p.name for p in RunDir(tmp_path / "r").transcript_files()] == ["transcripts.jsonl"]
    assert any("run.limit=3" in line and "one process" in line for line in said)

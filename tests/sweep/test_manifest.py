"""The sweep's manifest (harness/sweep/manifest.py): a ``Manifest`` record, written sorted and
indented at the start and the end of every invocation, read back typed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from harness.config import RunConfig
from harness.rundir import Manifest, RunDir, read_manifests
from harness.schema import ModelSpec, ScaffoldSpec
from harness.sweep import SweepResult
from harness.sweep.manifest import ManifestWriter
from tests.sweep.small_runs import config, sweep

SIMULATED = ModelSpec(name="sim-cautious", litellm_model="xstress-sim/cautious", family="sim")


def offline_config(tmp_path: Path, **run: object) -> RunConfig:
    return config("http://127.0.0.1:9", [SIMULATED], tmp_path,
                  scaffolds=[ScaffoldSpec(name="bare")], n=2, turns=1, **run)


def test_manifest_file_is_the_record_sorted_and_indented(tmp_path: Path) -> None:
    cfg = offline_config(tmp_path)
    sweep(cfg, tmp_path / "r")
    path = RunDir(tmp_path / "r").manifest()
    text = path.read_text(encoding="utf-8")
    manifest = Manifest.model_validate_json(text)
    expected = json.dumps(manifest.model_dump(mode="json", by_alias=True), indent=2,
                          sort_keys=True, ensure_ascii=False) + "\n"
    assert text == expected
    assert text.startswith('{\n  "calls_made_this_invocation": 2,\n')
    assert manifest.schema_ == "xstress.manifest/1" and manifest.run_id == "r"
    assert manifest.simulated and manifest.simulated_models == ["sim-cautious"]
    assert manifest.config.models == [SIMULATED]
    assert manifest.hashes.model_dump() == cfg.hashes()
    assert manifest.counts.ok == 2 and manifest.cells == 2 and manifest.finished_at is not None
    assert manifest.model_versions == {"sim-cautious": ["xstress-sim/cautious-sim1"]}


def test_a_resumed_run_keeps_its_first_start_time_and_model_versions(tmp_path: Path) -> None:
    cfg = offline_config(tmp_path)
    sweep(cfg, tmp_path / "r")
    (first,) = read_manifests(RunDir(tmp_path / "r"))
    result = sweep(cfg, tmp_path / "r")
    (again,) = read_manifests(RunDir(tmp_path / "r"))
    assert result.skipped == 2
    assert again.started_at == first.started_at
    assert again.calls_made_this_invocation == 0 and again.counts.ok == 2
    assert first.finished_at is not None and again.finished_at is not None
    assert again.finished_at > first.finished_at
    # the resume called nothing, yet the versions the first invocation saw are still there
    assert again.model_versions == first.model_versions == {
        "sim-cautious": ["xstress-sim/cautious-sim1"]}


def test_shards_write_their_own_manifest(tmp_path: Path) -> None:
    for shard in (0, 1):
        sweep(offline_config(tmp_path, num_shards=2, shard=shard), tmp_path / "r")
    manifests = read_manifests(RunDir(tmp_path / "r"))
    assert [(m.shard, m.num_shards) for m in manifests] == [(0, 2), (1, 2)]
    assert sum(m.cells for m in manifests) == 2


def test_writer_counts_status_and_stop_reason(tmp_path: Path) -> None:
    cfg = offline_config(tmp_path)
    writer = ManifestWriter(cfg, tmp_path / "manifest.json", run_id="r", cells=9,
                            started_at="2026-01-01T00:00:00+00:00")
    writer.note_versions("m", ["v2", None, "v1", "v2"])
    result = SweepResult(run_dir=tmp_path, total_cells=9, skipped=0,
                         counts=Counter(ok=3, blocked=1), not_started=5, stopped_by="budget",
                         calls_made=4)
    writer.write(result, cost_usd=0.123456789, finished=False)
    written = Manifest.model_validate_json((tmp_path / "manifest.json").read_bytes())
    assert written.counts.model_dump() == {"ok": 3, "error": 0, "blocked": 1}
    assert (written.not_started, written.stopped_by) == (5, "budget")
    assert written.cost_usd == 0.123457 and written.finished_at is None
    assert written.model_versions == {"m": ["v1", "v2"]}

"""Tests for harness/report/context.py: the run's facts merged from the manifests of every
shard (order, versions, hashes, the prompt set), with disagreements as warnings."""

from __future__ import annotations

from pathlib import Path

from harness.report.context import run_facts
from harness.report.inputs import read_inputs
from harness.rundir import ManifestHashes, RunDir, write_record_atomic
from harness.testing.rundirs import scored_run, write_manifest


def test_one_manifest_gives_the_facts(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path, simulated=False))
    inputs = read_inputs(run_dir)
    facts = run_facts(inputs)
    assert facts.run_id == "run" and not facts.simulated
    assert facts.model_order == ("alpha", "beta")
    assert facts.scaffold_order == ("bare", "verify")
    assert facts.model_versions == {"alpha": ["alpha-2026-01-01"], "beta": ["beta-2026-01-01"]}
    assert facts.git_commit == "abc123" and facts.replicates_config == 2
    assert facts.prompt_set is not None and len(facts.prompt_set.scenarios) == 6
    assert inputs.warnings == []


def test_shards_are_merged_and_their_disagreements_warned(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path, simulated=False))
    first = write_manifest(run_dir.root, models=["alpha"], scaffolds=["bare", "verify"],
                           prompt_ids=["p1"], simulated=False)
    second = first.model_copy(update={
        "shard": 1, "num_shards": 2, "config": first.config.model_copy(update={
            "models": [spec.model_copy(update={"name": "beta"}) for spec in first.config.models]
        }),
        "hashes": ManifestHashes(models={"alpha": "changed", "beta": "b" * 64},
                                 scaffolds=first.hashes.scaffolds, prompts="other"),
        "model_versions": {"alpha": ["alpha-2026-01-01", "alpha-2026-02-01"]},
        "started_at": "2026-11-26T09:00:00+00:00",
    })
    run_dir.manifest().unlink()
    write_record_atomic(run_dir.manifest(0, 2), first)
    write_record_atomic(run_dir.manifest(1, 2), second)
    inputs = read_inputs(run_dir)
    facts = run_facts(inputs)
    assert facts.model_order == ("alpha", "beta")
    assert facts.model_hashes == {"alpha": "changed", "beta": "b" * 64}
    assert facts.model_versions == {"alpha": ["alpha-2026-01-01", "alpha-2026-02-01"]}
    assert len(facts.prompts_hashes) == 2
    assert facts.started_at == "2026-11-26T09:00:00+00:00"
    assert inputs.warnings == [
        "manifests disagree on the hash of 'alpha'",
        "manifests disagree on the prompt set hash",
    ]


def test_a_simulated_model_in_the_config_marks_the_run_simulated(tmp_path: Path) -> None:
    run_dir = RunDir(scored_run(tmp_path, simulated=False))
    manifest = write_manifest(run_dir.root, models=["alpha"], scaffolds=["bare"],
                              prompt_ids=["p1"], simulated=True)
    write_record_atomic(run_dir.manifest(), manifest.model_copy(update={"simulated": False}))
    assert run_facts(read_inputs(run_dir)).simulated

"""RunDir (harness/rundir/layout.py): every path of a run, spelled once."""

from __future__ import annotations

from pathlib import Path

from harness.rundir import RunDir, shard_suffix


def test_paths_of_an_unsharded_run(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "pilot")
    assert run.name == "pilot"
    assert run.transcripts() == tmp_path / "pilot" / "transcripts.jsonl"
    assert run.manifest() == tmp_path / "pilot" / "manifest.json"
    assert run.cache(".judges") == tmp_path / "pilot" / "cache" / "responses.judges.jsonl"
    assert run.items == tmp_path / "pilot" / "blind" / "items.jsonl"
    assert run.key == tmp_path / "pilot" / "blind" / "key.jsonl"
    assert run.scores("alice") == tmp_path / "pilot" / "scores" / "alice.jsonl"
    assert run.rubric("ab12") == tmp_path / "pilot" / "scores" / "rubrics" / "ab12.json"
    assert run.agreement == tmp_path / "pilot" / "report" / "agreement.csv"


def test_shards_write_their_own_files_and_readers_see_all(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert shard_suffix(0, 1) == "" and shard_suffix(1, 4) == ".shard-1-of-4"
    for shard in range(2):
        run.transcripts(shard, 2).write_text("")
        run.manifest(shard, 2).write_text("{}")
    assert [p.name for p in run.transcript_files()] == [
        "transcripts.shard-0-of-2.jsonl", "transcripts.shard-1-of-2.jsonl"]
    assert [p.name for p in run.manifests()] == [
        "manifest.shard-0-of-2.json", "manifest.shard-1-of-2.json"]


def test_score_files_skip_the_stored_rubrics(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.score_files() == [] and run.cache_files() == []
    run.rubric("ab12").parent.mkdir(parents=True)
    run.rubric("ab12").write_text("{}")
    run.scores("bob").write_text("")
    run.scores("alice").write_text("")
    assert [p.stem for p in run.score_files()] == ["alice", "bob"]

"""Inspect eval logs: Inspect's own reader reads every exported log, one per model x scaffold,
with one sample per ok cell carrying the conversation, usage and every coder's levels."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log

from harness.testing.rundirs import scored_run
from tests.conftest import ROOT, Ran
from tests.export.conftest import json_lines, last_per_cell, score_files


def _read_all(out: Path) -> list[EvalLog]:
    return [read_eval_log(str(path)) for path in sorted(out.glob("*.json"))]


@pytest.fixture(scope="module")
def offline_logs(offline_run: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Path, list[EvalLog]]:
    from harness.cli import main

    out = tmp_path_factory.mktemp("inspect")
    assert main(["export", "inspect", str(offline_run), f"out={out}"]) == 0
    return out, _read_all(out)


def test_every_log_reads_back_and_samples_are_the_ok_cells(
        offline_run: Path, offline_logs: tuple[Path, list[EvalLog]]) -> None:
    out, logs = offline_logs
    cells = last_per_cell(offline_run)
    ok = Counter((c["model"], c["scaffold"]) for c in cells.values() if c["status"] == "ok")
    pairs = {(c["model"], c["scaffold"]) for c in cells.values()}
    assert len(logs) == len(pairs)
    found = {}
    for log in logs:
        assert log.status == "success" and log.version == 2
        pair = (log.eval.metadata["model"], log.eval.metadata["scaffold"])
        assert log.samples is not None
        found[pair] = len(log.samples)
        assert log.results is not None and log.results.total_samples == len(log.samples)
    assert found == {pair: ok[pair] for pair in pairs}
    # inspect view lists a folder by file name: every exported log must be listed
    assert len(list_eval_logs(str(out), recursive=False)) == len(logs)


def test_samples_carry_the_conversation_usage_and_cell(
        offline_run: Path, offline_logs: tuple[Path, list[EvalLog]]) -> None:
    cells = last_per_cell(offline_run)
    items = {i["blind_id"]: i for i in json_lines(offline_run / "blind" / "items.jsonl")}
    for log in offline_logs[1]:
        for sample in log.samples or []:
            cell = cells[sample.metadata["cell_id"]]
            assert (sample.id, sample.epoch) == (cell["prompt_id"], cell["replicate"] + 1)
            item = items[sample.metadata["blind_id"]]
            assert sample.target == item["reference_notes"] and item["reference_notes"]
            assert sample.input == cell["messages"][0]["content"]
            assert [(m.role, m.text) for m in sample.messages] == [
                (m["role"], m["content"]) for m in cell["messages"]]
            assert sample.output.completion == cell["messages"][-1]["content"]
            usage = sample.model_usage[cell["litellm_model"]]
            assert (usage.input_tokens, usage.output_tokens) == (
                cell["usage"]["prompt_tokens"], cell["usage"]["completion_tokens"])
            assert sample.metadata["simulated"] is True


def test_scores_are_every_coders_levels_through_the_key(
        offline_run: Path, offline_logs: tuple[Path, list[EvalLog]]) -> None:
    key = {e["cell_id"]: e["blind_id"] for e in json_lines(offline_run / "blind" / "key.jsonl")}
    coders = score_files(offline_run)
    expected = {(coder, r["blind_id"], r["dimension"]): r["level"]
                for coder, records in coders.items() for r in records}
    checked = 0
    for log in offline_logs[1]:
        for sample in log.samples or []:
            blind_id = key[sample.metadata["cell_id"]]
            assert sample.metadata["blind_id"] == blind_id
            assert sample.scores is not None
            assert set(sample.scores) == set(coders)
            for coder, score in sample.scores.items():
                assert isinstance(score.value, dict)
                for dimension, level in score.value.items():
                    assert level == expected[(coder, blind_id, dimension)]
                    checked += 1
    assert checked == len(expected)


def test_results_hold_each_coders_mean_per_dimension(
        offline_logs: tuple[Path, list[EvalLog]]) -> None:
    for log in offline_logs[1]:
        assert log.results is not None
        for score in log.results.scores:
            coder, dimension = score.name.split("/")
            levels = [s.scores[coder].value[dimension] for s in log.samples or []
                      if s.scores and isinstance(s.scores[coder].value, dict)
                      and s.scores[coder].value[dimension] is not None]
            assert score.scored_samples == len(levels)
            if levels:
                assert score.metrics["mean"].value == pytest.approx(sum(levels) / len(levels))
            else:
                assert "mean" not in score.metrics


def test_simulated_runs_say_so(offline_logs: tuple[Path, list[EvalLog]]) -> None:
    for log in offline_logs[1]:
        assert "simulated" in log.eval.tags
        assert (log.eval.task_display_name or "").startswith("[SIMULATED]")
        assert "SIMULATED" in str(log.eval.metadata.get("note"))


def test_error_and_blocked_cells_are_counted_not_sampled(tmp_path: Path) -> None:
    from harness.export import export_inspect

    run_dir = scored_run(tmp_path, failed_cells={("alpha", "bare", 0, 0): "error",
                                                 ("alpha", "bare", 1, 1): "blocked"},
                         coders=(("heuristic", "heuristic"), ("alice", "human")))
    summary = export_inspect(run_dir, tmp_path / "logs")
    logs = {(log.eval.metadata["model"], log.eval.metadata["scaffold"]): log
            for log in _read_all(tmp_path / "logs")}
    assert len(logs) == len(summary.logs) == 4
    bare = logs[("alpha", "bare")]
    assert bare.samples is not None and len(bare.samples) == 6 * 2 - 2
    assert (bare.eval.metadata["cells_error"], bare.eval.metadata["cells_blocked"]) == (1, 1)
    assert all(len(log.samples or []) == 12 for pair, log in logs.items()
               if pair != ("alpha", "bare"))
    assert all(set(s.scores or {}) == {"alice", "heuristic"} for s in bare.samples)


def test_a_coder_without_a_record_gives_none_never_zero(tmp_path: Path) -> None:
    from harness.export import export_inspect
    from harness.testing.rundirs import write_scores

    run_dir = scored_run(tmp_path, levels=lambda *args: 0)
    records = json_lines(run_dir / "scores" / "heuristic.jsonl")
    from harness.rundir import ScoreRecord

    kept = [ScoreRecord.model_validate(r) for r in records
            if not (r["blind_id"] == "b00000" and r["dimension"] == "D2")]
    write_scores(run_dir, "heuristic", kept)
    export_inspect(run_dir, tmp_path / "logs")
    samples = [s for log in _read_all(tmp_path / "logs") for s in log.samples or []
               if s.metadata["blind_id"] == "b00000"]
    assert len(samples) == 1
    score = (samples[0].scores or {})["heuristic"]
    assert score.value == {"D1": 0, "D2": None, "D3": 0}
    assert score.metadata is not None and score.metadata["D2"]["status"] == "missing"


def test_a_run_not_yet_blinded_exports_samples_without_scores(
        tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    run_dir = scored_run(tmp_path)
    (run_dir / "blind" / "key.jsonl").unlink()
    ran = xstress("export", "inspect", str(run_dir))
    assert ran.code == 0, ran.err
    assert "not blinded and scored yet" in ran.err
    logs = _read_all(run_dir / "export" / "inspect")
    assert sum(len(log.samples or []) for log in logs) == 2 * 2 * 6 * 2
    assert all(not s.scores and "blind_id" not in s.metadata
               for log in logs for s in log.samples or [])


def test_exporting_again_replaces_the_same_files(tmp_path: Path,
                                                 xstress: Callable[..., Ran]) -> None:
    run_dir = scored_run(tmp_path)
    assert xstress("export", "inspect", str(run_dir)).code == 0
    first = sorted(p.name for p in (run_dir / "export" / "inspect").iterdir())
    assert xstress("export", "inspect", str(run_dir)).code == 0
    assert sorted(p.name for p in (run_dir / "export" / "inspect").iterdir()) == first


def test_the_export_never_imports_inspect_ai() -> None:
    """inspect-ai is a test-only dependency: no module of the package may import it."""
    offenders = []
    for path in (ROOT / "harness").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] == "inspect_ai"]
    assert not offenders

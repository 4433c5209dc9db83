"""``xstress compare`` on two small real-model run directories (written by
``harness.testing.rundirs``, coded by a human): the side-by-side's numbers against hand-computed
means and prompt-cluster t intervals, and the evidence statement of runs under one protocol."""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from harness.testing.rundirs import scored_run
from tests.conftest import Ran

HUMAN = (("alice", "human"),)


def _gamma_levels(model: str, scaffold: str, prompt: int, replicate: int, dimension: str,
                  coder: str) -> int:
    """bare: 1 on prompts 0-2; on prompts 3-5, 1 then 2 over the replicates. verify: 2."""
    del model, dimension, coder
    if scaffold == "verify":
        return 2
    return 2 if prompt >= 3 and replicate == 1 else 1


def _runs(tmp_path: Path) -> tuple[Path, Path]:
    study = tmp_path / "study"
    shutil.move(scored_run(tmp_path / "a", simulated=False, coders=HUMAN), study)
    mine = tmp_path / "mine"
    shutil.move(scored_run(tmp_path / "b", models=("gamma",), simulated=False, coders=HUMAN,
                           levels=_gamma_levels), mine)
    return study, mine


def _t_interval(prompt_means: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t interval over prompts (the clusters), computed by hand."""
    n = len(prompt_means)
    mean = sum(prompt_means) / n
    sd = math.sqrt(sum((m - mean) ** 2 for m in prompt_means) / (n - 1))
    half = float(scipy_stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def test_numbers_match_hand_computed_values(tmp_path: Path,
                                            xstress: Callable[..., Ran]) -> None:
    study, mine = _runs(tmp_path)
    out = tmp_path / "cmp"
    ran = xstress("compare", str(study), str(mine), f"out={out}")
    assert ran.code == 0, ran.err
    with (out / "profiles.csv").open(newline="", encoding="utf-8") as handle:
        profiles = {(r["run"], r["model"], r["scaffold"], r["dimension"]): r
                    for r in csv.DictReader(handle)}
    # gamma under bare: per-prompt means 1, 1, 1, 1.5, 1.5, 1.5 (two replicates each).
    mean, low, high = _t_interval([1, 1, 1, 1.5, 1.5, 1.5])
    row = profiles[("mine", "gamma", "bare", "D2")]
    assert (row["n"], row["n_prompts"], row["coder"], row["simulated"]) == (
        "12", "6", "alice", "false")
    for column, expected in (("mean", mean), ("ci_low", low), ("ci_high", high)):
        assert math.isclose(float(row[column]), expected, abs_tol=1e-6), column
    with (out / "effects.csv").open(newline="", encoding="utf-8") as handle:
        effects = {(r["run"], r["model"], r["scaffold"], r["dimension"]): r
                   for r in csv.DictReader(handle)}
    # verify - bare, paired by prompt and replicate: per-prompt mean differences.
    mean, low, high = _t_interval([1, 1, 1, 0.5, 0.5, 0.5])
    effect = effects[("mine", "gamma", "verify", "D1")]
    for column, expected in (("effect", mean), ("ci_low", low), ("ci_high", high)):
        assert math.isclose(float(effect[column]), expected, abs_tol=1e-6), column
    assert {key[:2] for key in profiles} == {("study", "alpha"), ("study", "beta"),
                                             ("mine", "gamma")}
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    assert "interaction level under one fixed protocol" in markdown
    assert "SIMULATED" not in markdown and "[simulated]" not in markdown
    bare_table = markdown.split("### Scaffold bare")[1].split("###")[0]
    assert "| dimension | alpha | beta | gamma |" in bare_table
    mean, low, high = _t_interval([1, 1, 1, 1.5, 1.5, 1.5])
    d2 = next(line for line in bare_table.splitlines() if line.startswith("| D2"))
    assert d2.split("|")[-2].strip() == f"{mean:.2f} [{low:.2f}, {high:.2f}] n=12"


def test_default_folder_and_a_coder_missing_from_one_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xstress: Callable[..., Ran]) -> None:
    study, mine = _runs(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert xstress("compare", str(study), str(mine)).code == 0
    assert (tmp_path / "comparisons/study-vs-mine/compare.html").is_file()
    ran = xstress("compare", str(study), str(mine), "coder=bob", "out=elsewhere")
    assert ran.code == 2
    assert "run study: no scores for coder 'bob'" in ran.err
    assert not (tmp_path / "elsewhere").exists()


def test_a_run_without_a_single_protocol_or_manifest_is_refused(
        tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    study, mine = _runs(tmp_path)
    manifest, out = mine / "manifest.json", tmp_path / "cmp"
    data = json.loads(manifest.read_bytes())
    data["config"]["models"].append(
        {**data["config"]["models"][0], "name": "delta",
         "params": {**data["config"]["models"][0]["params"], "temperature": 0.1}})
    manifest.write_text(json.dumps(data), encoding="utf-8")
    ran = xstress("compare", str(study), str(mine), f"out={out}")
    assert ran.code == 2 and "Traceback" not in ran.err
    assert len(ran.err.strip().splitlines()) == 1, ran.err
    assert "sampling" in ran.err
    manifest.unlink()
    ran = xstress("compare", str(study), str(mine), f"out={out}")
    assert ran.code == 2 and "no manifest.json" in ran.err
    assert not out.exists()

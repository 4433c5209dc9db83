"""Tests for harness/report/sections/effects.py and the effect rules' wording: a scaffold that
reaches the ceiling is labelled so and listed among the findings with its adjusted p-value;
pairs lost to a scaffold's nulls are counted in effects.csv and said in the report; the
adjustment and margin chosen are named in the report, the CSV and the terminal summary; and a
Holm family that no data could pass gets a banner."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from harness.report import build_report
from harness.testing.rundirs import scored_run
from tests.conftest import Ran


def read_effects(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "report" / "effects.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_reached_ceiling_is_labelled_and_listed_with_its_adjusted_p(tmp_path: Path) -> None:
    # bare alternates 0 and 1 over 8 prompts, verify is 2 everywhere: every prompt moves up,
    # so the sign-flip p-value is 2 / 2^8 and the single test stays there after Holm.
    def levels(model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str) -> int:
        return 2 if scaffold == "verify" else prompt % 2

    run_dir = scored_run(tmp_path, models=("alpha",), n_prompts=8, replicates=1, dims=("D1",),
                         levels=levels)
    summary = build_report(run_dir, n_perm=10)
    (row,) = read_effects(run_dir)
    assert row["label"] == "reached ceiling"
    assert (row["p_value"], row["adjust"], row["p_adjusted"]) == ("0.007812", "holm", "0.007812")
    assert (row["equivalence_margin"], row["n_pairs_missing"]) == ("0.25", "0")
    md = summary.report_md.read_text()
    findings = md.split("## Findings at a glance")[1].split("## Alignment profiles")[0]
    assert "reached ceiling (from 0.50 to 2.00), up by +1.50" in findings
    assert "Holm p = 0.008" in findings
    assert "Effect labels over all models, scaffolds and dimensions: reached ceiling 1." in md
    # Prompt differences alternate 2 and 1: sd 0.5345, se 0.18898, t(0.975; 7) = 2.36462.
    assert "+1.50 [+1.05, +1.95] reached ceiling" in md
    assert "No pair was left out" in md
    assert "Effects vs bare (Holm-adjusted over 1 tests): reached ceiling 1" in summary.text


def test_pairs_lost_to_a_scaffold_are_counted_and_said(tmp_path: Path) -> None:
    # verify makes the coder say null on prompts 0-2 of D1 (3 prompts x 2 replicates), and
    # bare has one unscored item on prompt 5.
    def levels(
        model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str
    ) -> int | str | None:
        if scaffold == "verify" and dim == "D1" and prompt < 3:
            return None
        if scaffold == "bare" and dim == "D1" and (prompt, rep) == (5, 0):
            return "unscored"
        return (prompt + rep) % 3

    run_dir = scored_run(tmp_path, models=("alpha",), dims=("D1", "D2"), levels=levels)
    md = build_report(run_dir, n_perm=10).report_md.read_text()
    d1, d2 = read_effects(run_dir)
    assert (d1["n_pairs"], d1["n_pairs_missing"]) == ("5", "7")
    assert (d1["missing_in_scaffold"], d1["missing_in_baseline"], d1["missing_null"]) == (
        "6",
        "1",
        "6",
    )
    assert d2["n_pairs_missing"] == "0" and d2["label"] == "unchanged"
    assert (
        "Pairs left out because only one scaffold had a level, summed over models and "
        "dimensions: 7 (verify 7 (6 without verify's level, 1 without bare's; 6 of them "
        "coded null))." in md
    )
    assert (
        "pairs scored under one scaffold only were left out (n_pairs_missing): alpha/verify/D1"
        in md
    )


def test_the_adjustment_and_margin_are_named_and_a_hopeless_holm_family_is_flagged(
    tmp_path: Path,
) -> None:
    run_dir = scored_run(tmp_path)  # 6 prompts, 2 models x 3 dimensions: 6 tests
    holm = build_report(run_dir, n_perm=10).report_md.read_text()
    assert "adjusted by Holm over the 6 effects that have one" in holm
    assert "Too few prompts for this many tests" in holm
    assert "after Holm adjustment over 6 tests no effect can be labelled" in holm
    assert "adjusted together by Holm's method" in holm
    assert "`unchanged`: the interval lies within +/-0.25 levels of 0" in holm
    summary = build_report(run_dir, n_perm=10, adjust="bh", equivalence_margin=0.5)
    bh = summary.report_md.read_text()
    assert "Too few prompts" not in bh
    assert "adjusted by Benjamini-Hochberg over the 6 effects" in bh
    assert "adjusted together by the Benjamini-Hochberg method" in bh
    assert "`unchanged`: the interval lies within +/-0.5 levels of 0" in bh
    assert {(r["adjust"], r["equivalence_margin"]) for r in read_effects(run_dir)} == {
        ("bh", "0.5")
    }
    assert "Benjamini-Hochberg-adjusted over 6 tests" in summary.text


def test_the_report_command_passes_the_settings_through(
    tmp_path: Path, xstress: Callable[..., Ran]
) -> None:
    run_dir = scored_run(tmp_path)
    ran = xstress("report", str(run_dir), "n_perm=10", "adjust=bh", "equivalence_margin=0.4")
    assert ran.code == 0, ran.err
    assert {(r["adjust"], r["equivalence_margin"]) for r in read_effects(run_dir)} == {
        ("bh", "0.4")
    }
    assert "Benjamini-Hochberg-adjusted over 6 tests" in ran.out + ran.err


def test_the_report_command_starts_from_the_runs_own_settings(
    offline_run: Path, tmp_path: Path, xstress: Callable[..., Ran]
) -> None:
    """The offline preset chose report.coder=sim_judge: 'xstress report RUN' keeps that choice
    (and the run's seed) unless the command line says otherwise."""
    import shutil

    run_dir = tmp_path / offline_run.name
    shutil.copytree(offline_run, run_dir)
    ran = xstress("report", str(run_dir))
    assert ran.code == 0, ran.err
    report = (run_dir / "report" / "report.md").read_text(encoding="utf-8")
    assert "Scores used: **sim_judge** (requested)" in report
    assert report == (offline_run / "report" / "report.md").read_text(encoding="utf-8")
    ran = xstress("report", str(run_dir), "coder=heuristic")
    assert ran.code == 0, ran.err
    assert "Scores used: **heuristic** (requested)" in (
        run_dir / "report" / "report.md").read_text(encoding="utf-8")

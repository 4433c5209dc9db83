"""Tests for the agreement part of the report's coders section (harness/report/sections/audit.py):
intervals beside every agreement value, and each judge against the human coder per dimension
when a person coded too, all read back from ``report/agreement.csv`` as ``xstress agree``
wrote it."""

from __future__ import annotations

from pathlib import Path

from harness.report import build_report
from harness.rundir import AgreementRow
from harness.stats import compute_agreement, write_agreement
from harness.testing.rundirs import default_levels, scored_run

HUMAN_AND_JUDGE = (("heuristic", "heuristic"), ("alice", "human"))


def levels(model: str, scaffold: str, prompt: int, replicate: int, dimension: str,
           coder: str) -> int | None:
    """The default pattern; alice moves one level on every third prompt of D1 and D3."""
    level = default_levels(model, scaffold, prompt, replicate, dimension, coder)
    assert isinstance(level, int)
    if coder == "alice" and dimension != "D2" and prompt % 3 == 0:
        return (level + 1) % 3
    return level


def cell(row: AgreementRow) -> str:
    assert row.value is not None and row.ci_low is not None and row.ci_high is not None
    return f"{row.value:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def agreed_run(tmp_path: Path) -> tuple[Path, dict[tuple[str, str], AgreementRow]]:
    run_dir = scored_run(tmp_path, simulated=False, coders=HUMAN_AND_JUDGE, levels=levels,
                         agreement=False)
    result = compute_agreement(run_dir, n_boot=300, seed=1)
    write_agreement(result, run_dir)
    rows = {(row.dimension, row.statistic): row for row in result.estimates}
    return run_dir, rows


def section(markdown: str) -> str:
    return markdown.split("## Coders and agreement")[1].split("\n## ")[0]


def test_the_report_shows_each_judge_against_the_human_per_dimension(tmp_path: Path) -> None:
    run_dir, rows = agreed_run(tmp_path)
    text = section(build_report(run_dir, n_perm=20).report_md.read_text())
    assert "Each judge against the human coder(s), per dimension" in text
    assert ("| dimension | judge | human | n items | kappa (quadratic) | % agreement | note |"
            in text)
    for dimension in ("D1", "D2", "D3"):
        kappa = rows[(dimension, "cohen_kappa_quadratic")]
        agree = rows[(dimension, "percent_agreement")]
        line = (f"| {dimension} | heuristic | alice | {kappa.n_items} | {cell(kappa)} | "
                f"{cell(agree)} | {kappa.note} |")
        assert line in text, line
    # D2: the two coders agree everywhere, so the interval is a point.
    assert rows[("D2", "cohen_kappa_quadratic")].ci_low == 1.0


def test_every_agreement_value_in_the_report_carries_its_interval(tmp_path: Path) -> None:
    run_dir, rows = agreed_run(tmp_path)
    text = section(build_report(run_dir, n_perm=20).report_md.read_text())
    assert "In brackets: 95% bootstrap intervals over items." in text
    d1 = [rows[("D1", statistic)] for statistic in
          ("percent_agreement", "cohen_kappa", "cohen_kappa_quadratic")]
    assert f"| D1 | alice / heuristic | 48 | {' | '.join(cell(r) for r in d1)} |  |" in text
    alpha = rows[("D1", "krippendorff_alpha_ordinal")]
    assert f"| D1 | all | 48 |  |  |  | {cell(alpha)} | {alpha.note} |" in text


def test_no_judge_against_human_table_without_a_human_coder(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, coders=(("heuristic", "heuristic"), ("judge", "llm_judge")),
                         agreement=False)
    write_agreement(compute_agreement(run_dir, n_boot=50), run_dir)
    text = section(build_report(run_dir, n_perm=20).report_md.read_text())
    assert "heuristic / judge" in text
    assert "Each judge against the human" not in text
    assert "Judge against human" not in text


def test_stale_agreement_without_the_pair_says_to_rerun_agree(tmp_path: Path) -> None:
    # scored_run's stored agreement rows hold only unweighted kappa for heuristic / alice.
    run_dir = scored_run(tmp_path, coders=HUMAN_AND_JUDGE)
    text = section(build_report(run_dir, n_perm=20).report_md.read_text())
    assert ("Judge against human agreement: report/agreement.csv has no row for a judge paired "
            f"with a human coder; rerun xstress agree {run_dir}.") in text

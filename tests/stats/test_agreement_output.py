"""Tests for harness/stats/agreement_output.py: the three files ``xstress agree`` writes under
``report/`` (tidy, every digit kept, readable back as the run directory's records) and its
terminal table."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

from harness.rundir import AGREEMENT_COLUMNS, AgreementConfusion, AgreementRow, RunDir, read_json
from harness.stats import compute_agreement, format_agreement_table, write_agreement
from tests.conftest import Ran
from tests.stats.codes import CONFUSION, column, pairs_from_confusion, write_codes

Xstress = Callable[..., Ran]


def read_agreement_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == AGREEMENT_COLUMNS
        return list(reader)


def test_written_files_are_tidy(tmp_path: Path) -> None:
    alice, bob = pairs_from_confusion(CONFUSION)
    write_codes(tmp_path, "alice", column(list(alice)))
    write_codes(tmp_path, "bob", column(list(bob)))
    judge = list(bob)
    judge[0] = 2  # two levels from alice's 0 on itm-00
    write_codes(tmp_path, "judge", column(judge), kind="llm_judge")
    result = compute_agreement(tmp_path)
    path = write_agreement(result, tmp_path)
    assert path == tmp_path / "report" / "agreement.csv"

    rows = read_agreement_csv(path)
    assert len(rows) == 3 * 3 + 1  # three pairs x three statistics, plus alpha
    assert {row["statistic"] for row in rows} == {
        "percent_agreement",
        "cohen_kappa",
        "cohen_kappa_quadratic",
        "krippendorff_alpha_ordinal",
    }
    for row, estimate in zip(rows, result.estimates, strict=True):
        assert row["dimension"] == estimate.dimension
        assert int(row["n_items"]) == estimate.n_items
        assert estimate.value is not None
        assert math.isclose(float(row["value"]), estimate.value, rel_tol=0, abs_tol=1e-12)
    kappa = next(r for r in rows if (r["statistic"], r["coder_b"]) == ("cohen_kappa", "bob"))
    assert kappa["coder_a"] == "alice"
    assert abs(float(kappa["value"]) - 7 / 13) < 1e-9
    alpha = next(r for r in rows if r["statistic"] == "krippendorff_alpha_ordinal")
    assert (alpha["coder_a"], alpha["coder_b"]) == ("all", "")

    confusion = json.loads((tmp_path / "report" / "agreement_confusion.json").read_text())
    assert confusion["labels"] == [0, 1, 2]
    assert confusion["schema"] == "xstress.agreement_confusion/1"
    first = confusion["matrices"][0]
    assert (first["coder_a"], first["coder_b"], first["n_items"]) == ("alice", "bob", 10)
    assert first["pair_kind"] == "human-human"
    assert first["counts"] == [list(row) for row in CONFUSION]

    with (tmp_path / "report" / "adjudication.csv").open(newline="") as handle:
        adjudication = list(csv.reader(handle))
    assert adjudication == [
        ["blind_id", "dimension", "alice", "bob", "judge"],
        ["itm-00", "D1", "0", "0", "2"],
    ]
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "adjudication.csv",
        "agreement.csv",
        "agreement_confusion.json",
    ]


def test_table_is_readable(tmp_path: Path) -> None:
    alice, bob = pairs_from_confusion(CONFUSION)
    write_codes(tmp_path, "alice", column(list(alice)))
    write_codes(tmp_path, "bob", column(list(bob)))
    result = compute_agreement(tmp_path, n_boot=300, seed=9)
    table = format_agreement_table(result)
    lines = table.splitlines()
    assert lines[0] == "Agreement between 2 coders: alice (human), bob (human)"
    assert lines[1] == "[95% bootstrap intervals over items: 300 resamples, seed 9]"
    by_statistic = {row.statistic: row for row in result.estimates}

    def interval(statistic: str, percent: bool = False) -> list[str]:
        row = by_statistic[statistic]
        assert row.ci_low is not None and row.ci_high is not None
        scale, digits = (100, 1) if percent else (1, 3)
        return [f"[{scale * row.ci_low:.{digits}f},", f"{scale * row.ci_high:.{digits}f}]"]

    row = next(line for line in lines if "alice ~ bob" in line)
    assert row.split() == [
        "D1", "alice", "~", "bob", "human-human", "10",
        "70.0%", *interval("percent_agreement", percent=True),
        "0.538", *interval("cohen_kappa"),
        "0.727", *interval("cohen_kappa_quadratic"),
    ]
    header = lines[lines.index("Krippendorff's alpha (ordinal, all coders):") + 1]
    assert header.split() == ["dimension", "n", "alpha", "[95%", "CI]", "note"]
    alpha_row = lines[lines.index("Krippendorff's alpha (ordinal, all coders):") + 3]
    assert alpha_row.split() == ["D1", "10", "0.734", *interval("krippendorff_alpha_ordinal")]
    assert "No item where two coders are 2 levels apart." in table


def test_table_notes_say_why_an_interval_is_missing(tmp_path: Path) -> None:
    write_codes(tmp_path, "alice", column([0, 1, 2, 1, 0]))
    write_codes(tmp_path, "bob", column([0, 1, 1, 1, 0]))
    table = format_agreement_table(compute_agreement(tmp_path, n_boot=50))
    row = next(line for line in table.splitlines() if "alice ~ bob" in line)
    assert row.endswith("no CI: fewer than 10 items (5)")  # once for the pair's three rows
    assert "[" not in row and row.split()[6] == "80.0%"


def test_xstress_agree_prints_and_writes_the_intervals(tmp_path: Path, xstress: Xstress) -> None:
    alice, bob = pairs_from_confusion(((12, 3, 1), (2, 10, 3), (0, 2, 9)))
    write_codes(tmp_path, "alice", column(list(alice)))
    write_codes(tmp_path, "judge", column(list(bob)), kind="llm_judge")
    ran = xstress("agree", str(tmp_path))
    assert ran.code == 0, ran.err
    # The command names the rubric's other dimensions too (no codes there): D1 has them all.
    rows = [r for r in read_agreement_csv(tmp_path / "report" / "agreement.csv")
            if r["dimension"] == "D1"]
    expected = compute_agreement(tmp_path)  # the command's defaults: 2000 resamples, seed 0
    assert (expected.n_boot, expected.seed) == (2000, 0)
    for row, estimate in zip(rows, expected.estimates, strict=True):
        assert (row["statistic"], row["coder_b"]) == (estimate.statistic, estimate.coder_b)
        assert estimate.ci_low is not None and estimate.ci_high is not None
        assert float(row["ci_low"]) == estimate.ci_low
        assert float(row["ci_high"]) == estimate.ci_high
        assert float(row["ci_low"]) < float(row["value"]) < float(row["ci_high"])
    kappa = next(r for r in rows if r["statistic"] == "cohen_kappa_quadratic")
    shown = f"{float(kappa['value']):.3f} [{float(kappa['ci_low']):.3f}, " \
            f"{float(kappa['ci_high']):.3f}]"
    assert shown in ran.out
    assert "[95% bootstrap intervals over items: 2000 resamples, seed 0]" in ran.out
    assert "human-judge" in ran.out


def test_written_files_read_back_as_records_with_every_digit(tmp_path: Path) -> None:
    alice, bob = pairs_from_confusion(CONFUSION)
    write_codes(tmp_path, "alice", column(list(alice)))
    write_codes(tmp_path, "bob", column(list(bob)))
    result = compute_agreement(tmp_path)
    layout = RunDir(tmp_path)
    assert write_agreement(result, tmp_path) == layout.agreement
    with layout.agreement.open(encoding="utf-8", newline="") as handle:
        rows = [AgreementRow.model_validate(row) for row in csv.DictReader(handle)]
    assert rows == list(result.estimates)  # repr(float) loses no digit
    kappa = next(row for row in rows if row.statistic == "cohen_kappa")
    assert kappa.value == 7 / 13
    confusion = read_json(layout.agreement_confusion, AgreementConfusion, fix="")
    assert confusion.matrices == list(result.confusions)
    assert layout.adjudication.read_text() == "blind_id,dimension,alice,bob\n"

"""The audit's agreement (harness/audit/agreement.py): kappa and alpha from synthetic coder
sheets, checked against values worked out by hand below and against scikit-learn and
``krippendorff``."""

from __future__ import annotations

import csv
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from harness.audit import EVIDENCE_LEVELS, run_audit
from harness.rundir import AgreementRow
from harness.schema import RubricSpec

# Six benchmarks; a two-dimension rubric so that the pooled rows can be worked out by hand.
BENCHMARKS = ("b1", "b2", "b3", "b4", "b5", "b6")
ALICE = (0, 1, 2, 2, 1, 0)
BOB = (0, 2, 2, 1, 1, 0)
CAROL = (0, 1, 2, 1, 1, 0)


def rubric(dimensions: tuple[str, ...] = ("D1", "D2")) -> RubricSpec:
    return RubricSpec.model_validate({
        "name": "tiny",
        "dimensions": [{"id": d, "name": f"dimension {d}", "definition": "what it measures",
                        "levels": {0: "none", 1: "some", 2: "full"}} for d in dimensions],
    })


def write_sheet(path: Path, coder: str, levels: tuple[int, ...],
                dimensions: tuple[str, ...] = ("D1", "D2")) -> Path:
    """A coder's sheet: every dimension gets the same levels (D2 repeats D1)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["benchmark", "source", "evidence_level", "coder", *dimensions, "note"])
        for benchmark, level in zip(BENCHMARKS, levels, strict=True):
            writer.writerow([benchmark, "", "response", coder, *([level] * len(dimensions)), ""])
    return path


def estimate(rows: tuple[AgreementRow, ...], dimension: str, statistic: str,
             pair: tuple[str, str] = ("all", "")) -> AgreementRow:
    if statistic != "krippendorff_alpha_ordinal" and pair == ("all", ""):
        pair = ("alice", "bob")
    (row,) = [r for r in rows if r.dimension == dimension and r.statistic == statistic
              and (r.coder_a, r.coder_b) == pair]
    return row


def test_two_coders_kappa_and_alpha_equal_hand_computed_values(tmp_path: Path) -> None:
    sheets = [write_sheet(tmp_path / "alice.csv", "alice", ALICE),
              write_sheet(tmp_path / "bob.csv", "bob", BOB)]
    summary = run_audit(sheets, rubric=rubric(), out_dir=tmp_path / "out", n_boot=50)
    rows = summary.agreement
    # Confusion matrix (rows alice, columns bob) on D1:
    #   [[2, 0, 0],
    #    [0, 1, 1],
    #    [0, 1, 1]]      N = 6
    # observed agreement p_o = (2 + 1 + 1) / 6 = 2/3
    # marginals are 2, 2, 2 for both coders: p_e = 3 * (2 * 2) / 36 = 1/3
    # kappa = (2/3 - 1/3) / (1 - 1/3) = 1/2
    assert estimate(rows, "D1", "percent_agreement").value == pytest.approx(2 / 3)
    assert estimate(rows, "D1", "cohen_kappa").value == pytest.approx(1 / 2)
    # Quadratic weights (i - j)^2: observed disagreement = (1 + 1) / 6 = 1/3 (the two
    # one-apart cells); expected counts are 2 * 2 / 6 = 2/3 in every cell, weights sum to
    # 0+1+4 + 1+0+1 + 4+1+0 = 12, so expected disagreement = 12 * (2/3) / 6 = 4/3;
    # kappa_q = 1 - (1/3) / (4/3) = 3/4
    assert estimate(rows, "D1", "cohen_kappa_quadratic").value == pytest.approx(3 / 4)
    # Krippendorff's alpha (ordinal). Coincidences (each unit's pair counted both ways):
    #   o = [[4, 0, 0], [0, 2, 2], [0, 2, 2]], value totals n_c = 4, 4, 4, n = 12.
    # Ordinal distances: d(0,1) = (n0 + n1 - (n0 + n1)/2)^2 = 4^2 = 16, d(1,2) = 16,
    #   d(0,2) = (12 - (4 + 4)/2)^2 = 64.
    # observed: sum o*d = 2*16 + 2*16 = 64; expected: sum n_c n_k d = 2*(16*16 + 16*16 +
    #   16*64) = 3072; alpha = 1 - (n - 1) * 64 / 3072 = 1 - 11/48 = 37/48
    assert estimate(rows, "D1", "krippendorff_alpha_ordinal").value == pytest.approx(37 / 48)
    # Pooled over D1 and D2 (identical codes): the confusion matrix doubles, so both kappas
    # stay 1/2 and 3/4; alpha's n becomes 24, the distances 4x, observed 2*4*64 = 512,
    # expected 16*3072 = 49152: alpha = 1 - 23 * 512 / 49152 = 1 - 23/96 = 73/96
    assert estimate(rows, "all", "cohen_kappa").value == pytest.approx(1 / 2)
    assert estimate(rows, "all", "cohen_kappa_quadratic").value == pytest.approx(3 / 4)
    assert estimate(rows, "all", "krippendorff_alpha_ordinal").value == pytest.approx(73 / 96)
    assert estimate(rows, "all", "cohen_kappa").n_items == 12


def test_three_coders_alpha_equals_hand_computed_value_and_the_libraries(tmp_path: Path) -> None:
    sheets = [write_sheet(tmp_path / f"{name}.csv", name, levels)
              for name, levels in (("alice", ALICE), ("bob", BOB), ("carol", CAROL))]
    summary = run_audit(sheets, rubric=rubric(), out_dir=tmp_path / "out", n_boot=50)
    rows = summary.agreement
    # Units (alice, bob, carol): (0,0,0) (1,2,1) (2,2,2) (2,1,1) (1,1,1) (0,0,0). With three
    # codes a unit adds each ordered pair of codes with weight 1/(3 - 1):
    #   o00 = 3 + 3, o22 = 3, o11 = 1 + 1 + 3, o12 = o21 = 1 + 1
    #   o = [[6, 0, 0], [0, 5, 2], [0, 2, 3]], n_c = 6, 7, 5, n = 18
    # d(0,1) = (13 - 13/2)^2 = 42.25, d(1,2) = (12 - 6)^2 = 36, d(0,2) = (18 - 11/2)^2 = 156.25
    # observed: 2 * 2 * 36 = 144; expected: 2 * (6*7*42.25 + 7*5*36 + 6*5*156.25) = 15444
    # alpha = 1 - 17 * 144 / 15444 = 1 - 68/429 = 361/429
    alpha = estimate(rows, "D1", "krippendorff_alpha_ordinal")
    assert alpha.value == pytest.approx(361 / 429)
    reference = krippendorff.alpha(reliability_data=np.array([ALICE, BOB, CAROL], dtype=float),
                                   level_of_measurement="ordinal", value_domain=[0, 1, 2])
    assert alpha.value == pytest.approx(reference)
    assert alpha.n_items == 6 and "3 coders" in alpha.note
    for (name_a, levels_a), (name_b, levels_b) in (
            (("alice", ALICE), ("bob", BOB)), (("alice", ALICE), ("carol", CAROL)),
            (("bob", BOB), ("carol", CAROL))):
        for statistic, weights in (("cohen_kappa", None), ("cohen_kappa_quadratic", "quadratic")):
            expected = cohen_kappa_score(levels_a, levels_b, labels=[0, 1, 2], weights=weights)
            row = estimate(rows, "D2", statistic, (name_a, name_b))
            assert row.value == pytest.approx(expected)


def test_evidence_level_agreement_equals_hand_computed_kappas(tmp_path: Path) -> None:
    evidence = {"alice": ("model", "response", "interaction", "deployment", "model", "response"),
                "bob": ("model", "response", "interaction", "interaction", "response",
                        "response")}
    paths = []
    for name, levels in evidence.items():
        path = tmp_path / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["benchmark", "evidence_level", "coder", "D1"])
            writer.writerows([b, level, name, 1] for b, level in zip(BENCHMARKS, levels,
                                                                     strict=True))
        paths.append(path)
    summary = run_audit(paths, rubric=rubric(("D1",)), out_dir=tmp_path / "out", n_boot=50)
    # Codes 0..3 (model < response < interaction < deployment): alice 0 1 2 3 0 1, bob
    # 0 1 2 2 1 1. Agreement on 4 of 6: p_o = 2/3. Marginals alice (2, 2, 1, 1), bob
    # (1, 3, 2, 0): p_e = (2*1 + 2*3 + 1*2 + 1*0) / 36 = 5/18;
    # kappa = (2/3 - 5/18) / (1 - 5/18) = (7/18) / (13/18) = 7/13
    # Quadratic: observed (1 + 1) / 6 = 1/3 (3 vs 2, 0 vs 1); expected
    #   sum (i - j)^2 a_i b_j / 36 = (22 + 6 + 7 + 23) / 36 = 29/18 (rows i = 0..3);
    # kappa_q = 1 - (1/3) / (29/18) = 1 - 6/29 = 23/29
    rows = summary.agreement
    assert estimate(rows, "evidence_level", "percent_agreement").value == pytest.approx(2 / 3)
    kappa = estimate(rows, "evidence_level", "cohen_kappa")
    assert kappa.value == pytest.approx(7 / 13)
    assert "model < response < interaction < deployment" in kappa.note
    assert estimate(rows, "evidence_level", "cohen_kappa_quadratic").value == pytest.approx(
        23 / 29)
    codes = [[EVIDENCE_LEVELS.index(level) for level in evidence[name]] for name in evidence]
    assert estimate(rows, "evidence_level", "krippendorff_alpha_ordinal").value == (
        pytest.approx(krippendorff.alpha(reliability_data=np.array(codes, dtype=float),
                                         level_of_measurement="ordinal",
                                         value_domain=[0, 1, 2, 3])))
    # The pooled rows are the rubric's dimensions only.
    assert estimate(rows, "all", "cohen_kappa").n_items == 6


def test_a_dimension_without_variation_is_not_estimable_rather_than_a_number(
        tmp_path: Path) -> None:
    sheets = [write_sheet(tmp_path / "alice.csv", "alice", (2,) * 6, ("D1",)),
              write_sheet(tmp_path / "bob.csv", "bob", (2,) * 6, ("D1",))]
    summary = run_audit(sheets, rubric=rubric(("D1",)), out_dir=tmp_path / "out", n_boot=50)
    kappa = estimate(summary.agreement, "D1", "cohen_kappa")
    alpha = estimate(summary.agreement, "D1", "krippendorff_alpha_ordinal")
    assert kappa.value is None and "no variation" in kappa.note
    assert alpha.value is None and "no variation" in alpha.note
    assert estimate(summary.agreement, "D1", "percent_agreement").value == 1.0


def twelve_benchmark_sheets(tmp_path: Path) -> tuple[list[Path], dict[str, np.ndarray]]:
    """Two coders, twelve benchmarks (at least the ten an interval needs), D1 and D2."""
    levels = {"alice": np.array([[*ALICE, *BOB], [*BOB, *ALICE]]).T,
              "bob": np.array([[*BOB, *CAROL], [*CAROL, *CAROL]]).T}
    paths = []
    for name, table in levels.items():
        path = tmp_path / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["benchmark", "evidence_level", "coder", "D1", "D2"])
            for index, (d1, d2) in enumerate(table):
                writer.writerow([f"b{index:02d}", "model", name, d1, d2])
        paths.append(path)
    return paths, levels


def test_intervals_come_from_the_agreement_bootstrap_over_benchmarks(tmp_path: Path) -> None:
    from harness.stats import pair_intervals

    paths, levels = twelve_benchmark_sheets(tmp_path)
    summary = run_audit(paths, rubric=rubric(), out_dir=tmp_path / "out", n_boot=200, seed=7)
    expected = pair_intervals(levels["alice"][:, 0].tolist(), levels["bob"][:, 0].tolist(),
                              n_boot=200, seed=7)["cohen_kappa"]
    kappa = estimate(summary.agreement, "D1", "cohen_kappa")
    assert (kappa.ci_low, kappa.ci_high) == (expected.low, expected.high)
    assert kappa.value is not None and kappa.ci_low is not None and kappa.ci_high is not None
    assert kappa.ci_low <= kappa.value <= kappa.ci_high


def test_pooled_intervals_resample_benchmarks_with_all_their_cells(tmp_path: Path) -> None:
    # Redo the pooled bootstrap with the libraries, resample by resample: draw benchmarks
    # with numpy's generator as harness.stats does (default_rng(seed).integers(0, n, (B, n))),
    # take both dimensions' cells of every drawn benchmark, and compute kappa and alpha.
    n_boot, seed = 100, 3
    paths, levels = twelve_benchmark_sheets(tmp_path)
    summary = run_audit(paths, rubric=rubric(), out_dir=tmp_path / "out", n_boot=n_boot,
                        seed=seed)
    draws = np.random.default_rng(seed).integers(0, 12, size=(n_boot, 12))
    kappas, alphas = [], []
    for draw in draws:
        cells_a = levels["alice"][draw].ravel()
        cells_b = levels["bob"][draw].ravel()
        kappas.append(cohen_kappa_score(cells_a, cells_b, labels=[0, 1, 2]))
        alphas.append(krippendorff.alpha(reliability_data=np.array([cells_a, cells_b], float),
                                         level_of_measurement="ordinal",
                                         value_domain=[0, 1, 2]))
    for statistic, replicates in (("cohen_kappa", kappas),
                                  ("krippendorff_alpha_ordinal", alphas)):
        finite = [value for value in replicates if np.isfinite(value)]
        low, high = np.percentile(finite, [2.5, 97.5])
        row = estimate(summary.agreement, "all", statistic)
        assert (row.ci_low, row.ci_high) == (pytest.approx(low), pytest.approx(high))
        assert "benchmarks resampled" in row.note

"""Tests for harness/stats/agreement_intervals.py and the intervals and prevalence warnings
``compute_agreement`` puts on its rows.

The reference is a direct bootstrap written out here: item indices from
``numpy.random.default_rng(seed).integers(0, n, size=(n_boot, n))``, the library statistic
(scikit-learn's kappa, ``krippendorff.alpha``) computed on each resample, resamples where it is
undefined dropped, and the 2.5 and 97.5 percentiles of the rest.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from harness.errors import InputError
from harness.stats import compute_agreement, format_agreement_table, pair_intervals
from harness.stats.agreement_intervals import (
    alpha_replicates,
    kappa_replicates,
    resample_weights,
)
from tests.stats.codes import Code, column, get, write_codes

# Forty items, two coders: mostly agreeing, some one level apart, two items two apart.
ALICE = [0, 1, 2, 1, 0, 2, 2, 1, 0, 1] * 4
BOB = [0, 1, 2, 2, 0, 1, 2, 1, 1, 1] * 3 + [2, 1, 2, 1, 0, 2, 0, 1, 0, 1]


def direct_bootstrap(
    n_items: int, n_boot: int, seed: int, statistic: Callable[[np.ndarray], float]
) -> tuple[float, float, int]:
    """(2.5th percentile, 97.5th percentile, usable resamples), one library call a resample."""
    indices = np.random.default_rng(seed).integers(0, n_items, size=(n_boot, n_items))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an undefined resample warns, then gives NaN
        values = np.array([statistic(row) for row in indices])
    usable = values[np.isfinite(values)]
    low, high = np.percentile(usable, [2.5, 97.5])
    return float(low), float(high), len(usable)


def sklearn_kappa(a: Sequence[int], b: Sequence[int], weights: str | None
                  ) -> Callable[[np.ndarray], float]:
    from sklearn.metrics import cohen_kappa_score

    first, second = np.asarray(a), np.asarray(b)
    return lambda rows: float(
        cohen_kappa_score(first[rows], second[rows], labels=[0, 1, 2], weights=weights))


def near(value: float | None, expected: float) -> bool:
    return value is not None and math.isclose(value, expected, rel_tol=0, abs_tol=1e-12)


def two_coders(tmp_path: Path, alice: Sequence[Code], bob: Sequence[Code]) -> None:
    write_codes(tmp_path, "alice", column(alice))
    write_codes(tmp_path, "bob", column(bob), kind="llm_judge")


# ------------------------------------------------------------- against a direct bootstrap


@pytest.mark.parametrize(("statistic", "weights"),
                         [("cohen_kappa", None), ("cohen_kappa_quadratic", "quadratic")])
def test_kappa_interval_equals_a_direct_bootstrap(tmp_path: Path, statistic: str,
                                                  weights: str | None) -> None:
    two_coders(tmp_path, ALICE, BOB)
    result = compute_agreement(tmp_path, n_boot=250, seed=11)
    row = get(result, statistic, "alice", "bob")
    low, high, usable = direct_bootstrap(40, 250, 11, sklearn_kappa(ALICE, BOB, weights))
    assert usable == 250
    assert near(row.ci_low, low) and near(row.ci_high, high)
    assert row.ci_low is not None and row.ci_high is not None and row.value is not None
    assert row.ci_low < row.value < row.ci_high
    assert row.note == ""
    assert (result.n_boot, result.seed) == (250, 11)


def test_percent_agreement_interval_equals_a_direct_bootstrap(tmp_path: Path) -> None:
    two_coders(tmp_path, ALICE, BOB)
    row = get(compute_agreement(tmp_path, n_boot=300, seed=2), "percent_agreement", "alice", "bob")
    same = np.asarray(ALICE) == np.asarray(BOB)
    low, high, _ = direct_bootstrap(40, 300, 2, lambda rows: float(same[rows].mean()))
    assert near(row.ci_low, low) and near(row.ci_high, high)


def test_resamples_without_variation_are_dropped_and_counted(tmp_path: Path) -> None:
    # Nine items both coders put at 0 and one at 1 and 2: a resample that misses the tenth
    # item has no variation, kappa is 0/0 there (about a third of resamples).
    alice, bob = [0] * 9 + [1], [0] * 9 + [2]
    two_coders(tmp_path, alice, bob)
    row = get(compute_agreement(tmp_path, n_boot=250, seed=5), "cohen_kappa", "alice", "bob")
    low, high, usable = direct_bootstrap(10, 250, 5, sklearn_kappa(alice, bob, None))
    assert 125 < usable < 250
    assert near(row.ci_low, low) and near(row.ci_high, high)
    assert f"interval from {usable} of 250 resamples ({250 - usable} without variation " \
           "dropped)" in row.note


def test_no_interval_when_no_resample_varies(tmp_path: Path) -> None:
    alice, bob = [0] * 9 + [1], [0] * 9 + [2]
    # A seed whose single resample misses the one item with variation.
    seed = next(s for s in range(100)
                if 9 not in np.random.default_rng(s).integers(0, 10, size=(1, 10)))
    two_coders(tmp_path, alice, bob)
    row = get(compute_agreement(tmp_path, n_boot=1, seed=seed), "cohen_kappa", "alice", "bob")
    assert row.value is not None
    assert (row.ci_low, row.ci_high) == (None, None)
    assert "no interval: none of the 1 resamples had variation" in row.note


def test_alpha_interval_equals_a_direct_bootstrap_over_pairable_items(tmp_path: Path) -> None:
    import krippendorff

    judge: list[Code] = [level if i % 7 else (level + 1) % 3 for i, level in enumerate(ALICE)]
    judge[3] = "null"
    write_codes(tmp_path, "alice", column(ALICE))
    write_codes(tmp_path, "bob", column([*BOB[:-1], None]))  # the last item: alice's only
    write_codes(tmp_path, "judge", column(judge), kind="llm_judge")
    row = get(compute_agreement(tmp_path, n_boot=400, seed=3), "krippendorff_alpha_ordinal",
              "all", "")
    # Units are the items with two or more levels, in blind_id order; coders alphabetical.
    data = np.array([ALICE, [*BOB[:-1], np.nan],
                     [np.nan if v == "null" else v for v in judge]], dtype=float)
    assert row.n_items == 40

    def alpha(rows: np.ndarray) -> float:
        return float(krippendorff.alpha(reliability_data=data[:, rows],
                                        level_of_measurement="ordinal", value_domain=[0, 1, 2]))

    low, high, usable = direct_bootstrap(40, 400, 3, alpha)
    assert usable == 400
    assert row.value is not None and row.ci_low is not None and row.ci_high is not None
    assert near(row.ci_low, low) and near(row.ci_high, high)
    assert row.ci_low < row.value < row.ci_high


def test_replicates_match_the_libraries_on_random_tables() -> None:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    confusions = rng.integers(0, 6, size=(50, 3, 3)).astype(float)
    confusions[0] = [[7, 0, 0], [0, 0, 0], [0, 0, 0]]  # one level only: undefined
    for quadratic in (False, True):
        ours = kappa_replicates(confusions, quadratic)
        for table, value in zip(confusions, ours, strict=True):
            a = np.repeat(np.repeat(np.arange(3), 3), table.astype(int).ravel())
            b = np.repeat(np.tile(np.arange(3), 3), table.astype(int).ravel())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = cohen_kappa_score(a, b, labels=[0, 1, 2],
                                             weights="quadratic" if quadratic else None)
            assert (math.isnan(value) and math.isnan(expected)) or near(value, expected)
    # Alpha from a coincidence matrix: compare with the package on the items it came from.
    units = rng.integers(0, 3, size=(30, 4)).astype(float)
    units[rng.random(units.shape) < 0.2] = np.nan
    units = units[np.sum(~np.isnan(units), axis=1) >= 2]
    counts = np.stack([(units == level).sum(axis=1) for level in range(3)], axis=1)
    per_unit = (counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(3))
    coincidences = (per_unit / (counts.sum(axis=1) - 1)[:, None, None]).sum(axis=0)
    [ours_alpha] = alpha_replicates(coincidences[None].astype(float))
    expected_alpha = krippendorff.alpha(reliability_data=units.T, level_of_measurement="ordinal",
                                        value_domain=[0, 1, 2])
    assert near(float(ours_alpha), float(expected_alpha))


# --------------------------------------------------------------------------- rules


def test_fewer_than_ten_items_get_no_interval(tmp_path: Path) -> None:
    two_coders(tmp_path, ALICE[:9], BOB[:9])
    result = compute_agreement(tmp_path, n_boot=100)
    for statistic in ("percent_agreement", "cohen_kappa", "cohen_kappa_quadratic"):
        row = get(result, statistic, "alice", "bob")
        assert row.value is not None and (row.ci_low, row.ci_high) == (None, None)
        assert "no interval: fewer than 10 items (9)" in row.note
    two_coders(tmp_path, ALICE[:10], BOB[:10])
    assert get(compute_agreement(tmp_path, n_boot=100), "cohen_kappa", "alice", "bob").ci_low \
        is not None


def test_an_estimate_without_value_has_no_interval(tmp_path: Path) -> None:
    two_coders(tmp_path, [1] * 12, [1] * 12)
    result = compute_agreement(tmp_path, n_boot=50)
    kappa = get(result, "cohen_kappa", "alice", "bob")
    assert kappa.value is None and (kappa.ci_low, kappa.ci_high) == (None, None)
    assert "interval" not in kappa.note
    agree = get(result, "percent_agreement", "alice", "bob")
    assert (agree.value, agree.ci_low, agree.ci_high) == (1.0, 1.0, 1.0)


def test_a_pairs_interval_does_not_depend_on_the_other_coders(tmp_path: Path) -> None:
    two_coders(tmp_path, ALICE, BOB)
    alone = get(compute_agreement(tmp_path, n_boot=200, seed=4), "cohen_kappa", "alice", "bob")
    write_codes(tmp_path, "carol", column(list(reversed(ALICE))))
    joined = get(compute_agreement(tmp_path, n_boot=200, seed=4), "cohen_kappa", "alice", "bob")
    assert (joined.ci_low, joined.ci_high) == (alone.ci_low, alone.ci_high)
    other = get(compute_agreement(tmp_path, n_boot=200, seed=5), "cohen_kappa", "alice", "bob")
    assert (other.ci_low, other.ci_high) != (alone.ci_low, alone.ci_high)


def test_pair_intervals_work_on_plain_columns() -> None:
    intervals = pair_intervals(ALICE, BOB, n_boot=150, seed=1)
    low, high, _ = direct_bootstrap(40, 150, 1, sklearn_kappa(ALICE, BOB, "quadratic"))
    quadratic = intervals["cohen_kappa_quadratic"]
    assert near(quadratic.low, low) and near(quadratic.high, high)


@pytest.mark.parametrize(("n_items", "n_boot"), [(40, 30), (3000, 1000)])
def test_resampling_in_blocks_draws_the_same_resamples(n_items: int, n_boot: int) -> None:
    """Many items are resampled in blocks of rows (3000 x 1000 exceeds one block); the
    resamples are still those of one ``integers(0, n, size=(n_boot, n))`` draw."""
    blocks = list(resample_weights(n_items, n_boot, 8))
    assert len(blocks) == (1 if n_items == 40 else 2)
    indices = np.random.default_rng(8).integers(0, n_items, size=(n_boot, n_items))
    expected = np.stack([np.bincount(row, minlength=n_items) for row in indices])
    assert np.array_equal(np.concatenate(blocks), expected)


def test_n_boot_below_one_is_an_input_error(tmp_path: Path) -> None:
    two_coders(tmp_path, ALICE, BOB)
    with pytest.raises(InputError, match="n_boot=0"):
        compute_agreement(tmp_path, n_boot=0)


# --------------------------------------------------------------------------- prevalence


def prevalence_codes(zeros: int) -> tuple[list[Code], list[Code]]:
    """Fifty items, a hundred codes, ``zeros`` of them level 0; kappa is defined."""
    alice: list[Code] = [0] * 41 + [1] * 9
    bob: list[Code] = [0] * (zeros - 41) + [2] * (91 - zeros)
    return alice, bob


@pytest.mark.parametrize(("zeros", "fires"), [(81, True), (80, False), (79, False)])
def test_prevalence_warning_fires_above_eighty_percent(tmp_path: Path, zeros: int,
                                                       fires: bool) -> None:
    alice, bob = prevalence_codes(zeros)
    two_coders(tmp_path, alice, bob)
    result = compute_agreement(tmp_path, n_boot=100)
    warning = (f"prevalence: level 0 holds {zeros}% of the codes ({zeros} of 100), so kappa is "
               "unstable here (high agreement can come with a low kappa)")
    for statistic in ("cohen_kappa", "cohen_kappa_quadratic"):
        row = get(result, statistic, "alice", "bob")
        assert row.value is not None
        assert (warning in row.note) is fires
        assert ("prevalence" in row.note) is fires
    assert "prevalence" not in get(result, "percent_agreement", "alice", "bob").note
    alpha = get(result, "krippendorff_alpha_ordinal", "all", "")
    assert ("prevalence: level 0 holds 81% of the codes (81 of 100), so alpha is unstable"
            in alpha.note) is fires
    assert ("prevalence" in alpha.note) is fires
    table = format_agreement_table(result)
    assert ("kappa unstable: level 0 holds 81% of codes" in table) is fires
    assert ("alpha unstable: level 0 holds 81% of codes" in table) is fires


def test_prevalence_names_the_dominant_level(tmp_path: Path) -> None:
    two_coders(tmp_path, [2] * 45 + [0] * 5, [2] * 44 + [1] * 6)
    row = get(compute_agreement(tmp_path, n_boot=50), "cohen_kappa", "alice", "bob")
    assert "prevalence: level 2 holds 89% of the codes (89 of 100)" in row.note

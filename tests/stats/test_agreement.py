"""Tests for harness/stats/agreement.py against values computed by hand from the definitions.

Cohen's kappa: po = observed agreement, pe = sum_k (row_k * col_k) / n^2, kappa = (po - pe) /
(1 - pe); quadratic-weighted kappa = 1 - sum w_ij O_ij / sum w_ij E_ij with w_ij = (i - j)^2
and E_ij = row_i col_j / n. Krippendorff's alpha from the coincidence matrix: o_ck sums, over
units with m_u >= 2 values, (pairs of values c, k in the unit) / (m_u - 1); n_c = sum_k o_ck;
alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck with the ordinal distance
d_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 (nominal: d_ck = 1 if c != k).
All arithmetic below is exact (fractions).
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

from harness.schema import RubricDimension, RubricSpec, content_hash
from harness.stats import compute_agreement, format_agreement_table, write_agreement
from tests.stats.codes import (
    CONFUSION,
    Code,
    as_lists,
    close,
    column,
    get,
    pairs_from_confusion,
    write_codes,
)

# --------------------------------------------------------------------------- hand formulas


def kappa_by_hand(confusion: tuple[tuple[int, ...], ...], quadratic: bool) -> Fraction:
    size = len(confusion)
    n = sum(map(sum, confusion))
    rows = [sum(confusion[i]) for i in range(size)]
    cols = [sum(confusion[i][j] for i in range(size)) for j in range(size)]
    if not quadratic:
        po = Fraction(sum(confusion[k][k] for k in range(size)), n)
        pe = Fraction(sum(rows[k] * cols[k] for k in range(size)), n * n)
        return (po - pe) / (1 - pe)
    observed = sum((i - j) ** 2 * confusion[i][j] for i in range(size) for j in range(size))
    expected = sum(
        (i - j) ** 2 * Fraction(rows[i] * cols[j], n) for i in range(size) for j in range(size)
    )
    return 1 - Fraction(observed) / Fraction(expected)


def alpha_by_hand(units: list[list[int | None]], metric: str, values: int = 3) -> Fraction:
    """Krippendorff's alpha; ``units[u]`` lists every coder's level (None = missing)."""
    o = [[Fraction(0)] * values for _ in range(values)]
    for unit in units:
        given = [v for v in unit if v is not None]
        m = len(given)
        if m < 2:
            continue
        for x in range(m):
            for y in range(m):
                if x != y:
                    o[given[x]][given[y]] += Fraction(1, m - 1)
    n_c = [sum(o[c]) for c in range(values)]
    n = sum(n_c)

    def distance(c: int, k: int) -> Fraction:
        if metric == "nominal":
            return Fraction(int(c != k))
        low, high = min(c, k), max(c, k)
        return Fraction(sum(n_c[low : high + 1]) - (n_c[c] + n_c[k]) / 2) ** 2

    observed = sum(o[c][k] * distance(c, k) for c in range(values) for k in range(values))
    expected = sum(n_c[c] * n_c[k] * distance(c, k) for c in range(values) for k in range(values))
    return 1 - Fraction(n - 1) * Fraction(observed) / Fraction(expected)


def test_hand_formulas_on_the_worked_example() -> None:
    """The reference values of the ten-item example, worked out on paper."""
    # po = 7/10; marginals (3, 5, 2) and (3, 4, 3): pe = 35/100; kappa = 0.35 / 0.65.
    assert kappa_by_hand(CONFUSION, quadratic=False) == Fraction(7, 13)
    # Weighted observed = 3 (three cells one level apart); weighted expected = 110 / 10.
    assert kappa_by_hand(CONFUSION, quadratic=True) == Fraction(8, 11)
    alice, bob = pairs_from_confusion(CONFUSION)
    units: list[list[int | None]] = [[a, b] for a, b in zip(alice, bob, strict=True)]
    # o = C + C^T, n_c = (6, 9, 5): d01 = 7.5^2, d12 = 7^2, d02 = 14.5^2;
    # observed 2*(2*56.25) + 2*(1*49) = 323; expected 23100; alpha = 1 - 19 * 323 / 23100.
    assert alpha_by_hand(units, "ordinal") == Fraction(16963, 23100)
    # Nominal: 6 disagreeing pairs of 20 values; expected 20^2 - (36 + 81 + 25) = 258.
    assert alpha_by_hand(units, "nominal") == Fraction(24, 43)


def test_hand_alpha_agrees_with_the_library_including_missing() -> None:
    """A second check of the coincidence-matrix helper, nominal and ordinal, with gaps."""
    import krippendorff
    import numpy as np

    units: list[list[int | None]] = [
        [0, 0, 1],
        [1, 1, None],
        [2, None, 2],
        [2, 0, 1],
        [None, 1, None],
        [1, 2, 2],
        [0, 1, 0],
    ]
    matrix = np.array([[np.nan if v is None else v for v in unit] for unit in units]).T
    for metric in ("nominal", "ordinal"):
        library = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement=metric, value_domain=[0, 1, 2]
        )
        assert close(library, alpha_by_hand(units, metric))


# --------------------------------------------------------------------------- agreement


def test_two_coders_match_hand_computed_values(tmp_path: Path) -> None:
    alice, bob = pairs_from_confusion(CONFUSION)
    write_codes(tmp_path, "alice", column(list(alice)))
    write_codes(tmp_path, "bob", column(list(bob)))
    result = compute_agreement(tmp_path)

    assert result.coders == ("alice", "bob")
    assert result.dimensions == ("D1",)
    agree = get(result, "percent_agreement", "alice", "bob")
    kappa = get(result, "cohen_kappa", "alice", "bob")
    weighted = get(result, "cohen_kappa_quadratic", "alice", "bob")
    assert close(agree.value, Fraction(7, 10))
    assert close(kappa.value, kappa_by_hand(CONFUSION, quadratic=False))
    assert close(kappa.value, Fraction(7, 13))
    assert close(weighted.value, Fraction(8, 11))
    assert (agree.n_items, kappa.n_items, weighted.n_items) == (10, 10, 10)
    assert kappa.note == "" and result.pair_kind("alice", "bob") == "human-human"
    [confusion] = result.confusions
    assert confusion.counts == as_lists(CONFUSION)
    assert (confusion.n_items, confusion.pair_kind) == (10, "human-human")
    alpha = get(result, "krippendorff_alpha_ordinal", "all", "")
    assert close(alpha.value, Fraction(16963, 23100))
    assert alpha.n_items == 10
    assert result.adjudication == ()


def test_three_coders_with_nulls(tmp_path: Path) -> None:
    table: list[tuple[Code, Code, Code]] = [
        (0, 0, 1),
        (1, 1, 1),
        (2, "null", 2),
        (2, 0, 1),
        ("null", 1, "unscored"),
        (1, 2, 2),
    ]
    write_codes(tmp_path, "alice", column([row[0] for row in table]))
    write_codes(tmp_path, "bob", column([row[1] for row in table]))
    write_codes(tmp_path, "judge", column([row[2] for row in table]), kind="llm_judge")
    result = compute_agreement(tmp_path)

    # alice ~ bob over the 4 items both scored: pairs (0,0) (1,1) (2,0) (1,2).
    pair_confusion = ((1, 0, 0), (0, 1, 1), (1, 0, 0))
    kappa = get(result, "cohen_kappa", "alice", "bob")
    assert kappa.n_items == 4
    assert close(kappa.value, kappa_by_hand(pair_confusion, quadratic=False))
    assert close(kappa.value, Fraction(3, 11))
    assert close(
        get(result, "cohen_kappa_quadratic", "alice", "bob").value,
        kappa_by_hand(pair_confusion, quadratic=True),
    )
    assert close(get(result, "percent_agreement", "alice", "bob").value, Fraction(1, 2))
    assert "2 items null or unscored by either coder excluded" in kappa.note
    assert result.pair_kind("alice", "judge") == "human-judge"
    assert get(result, "cohen_kappa", "alice", "judge").n_items == 5
    confusions = {(c.coder_a, c.coder_b): c.counts for c in result.confusions}
    assert confusions[("alice", "bob")] == as_lists(pair_confusion)

    alpha = get(result, "krippendorff_alpha_ordinal", "all", "")
    units = [[v if isinstance(v, int) else None for v in row] for row in table]
    assert close(alpha.value, alpha_by_hand(units, "ordinal"))
    assert alpha.n_items == 5
    assert "3 null or unscored codes treated as missing" in alpha.note
    assert "1 item with fewer than two levels not pairable" in alpha.note

    [item] = result.adjudication
    assert (item.blind_id, item.dimension) == ("itm-03", "D1")
    assert dict(item.levels) == {"alice": 2, "bob": 0, "judge": 1}


def test_a_coder_who_always_gives_the_same_level(tmp_path: Path) -> None:
    bob = [0, 1, 2, 1, 1, 2, 0]
    write_codes(tmp_path, "alice", column([1] * len(bob)))
    write_codes(tmp_path, "bob", column(list(bob)))
    result = compute_agreement(tmp_path)
    # Rows of the confusion matrix: all of alice's items in row 1, so po == pe == 3/7.
    confusion = ((0, 0, 0), (2, 3, 2), (0, 0, 0))
    assert result.confusions[0].counts == as_lists(confusion)
    for statistic, quadratic in (("cohen_kappa", False), ("cohen_kappa_quadratic", True)):
        estimate = get(result, statistic, "alice", "bob")
        assert kappa_by_hand(confusion, quadratic) == 0
        assert close(estimate.value, 0)
    assert close(get(result, "percent_agreement", "alice", "bob").value, Fraction(3, 7))
    units: list[list[int | None]] = [[1, b] for b in bob]
    assert close(
        get(result, "krippendorff_alpha_ordinal", "all", "").value,
        alpha_by_hand(units, "ordinal"),
    )


def test_both_coders_constant_is_not_estimable(tmp_path: Path) -> None:
    write_codes(tmp_path, "alice", column([1, 1, 1, 1]))
    write_codes(tmp_path, "bob", column([1, 1, 1, "null"]))
    result = compute_agreement(tmp_path)
    assert close(get(result, "percent_agreement", "alice", "bob").value, 1)
    for statistic in ("cohen_kappa", "cohen_kappa_quadratic"):
        estimate = get(result, statistic, "alice", "bob")
        assert estimate.value is None
        assert estimate.note.startswith("not estimable: no variation")
        assert estimate.n_items == 3
    alpha = get(result, "krippendorff_alpha_ordinal", "all", "")
    assert alpha.value is None
    assert alpha.note.startswith("not estimable: no variation (every level given is 1)")

    with write_agreement(result, tmp_path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["value"] != "nan" for row in rows)
    kappa_row = next(r for r in rows if r["statistic"] == "cohen_kappa")
    assert kappa_row["value"] == ""
    assert "no variation" in kappa_row["note"]


def test_a_single_coder_has_no_pairs_and_no_alpha(tmp_path: Path) -> None:
    write_codes(tmp_path, "alice", column([0, 1, 2]))
    result = compute_agreement(tmp_path)
    assert result.confusions == ()
    [alpha] = result.estimates
    assert (alpha.statistic, alpha.coder_a, alpha.coder_b) == (
        "krippendorff_alpha_ordinal",
        "all",
        "",
    )
    assert alpha.value is None and alpha.note == "not estimable: only one coder"
    assert "No pairs of coders" in format_agreement_table(result)


def test_coders_without_shared_items(tmp_path: Path) -> None:
    write_codes(tmp_path, "alice", column([0, 1, 2, None, None, None]))
    write_codes(tmp_path, "bob", column([None, None, None, 2, 1, 0]))
    result = compute_agreement(tmp_path)
    for statistic in ("percent_agreement", "cohen_kappa", "cohen_kappa_quadratic"):
        estimate = get(result, statistic, "alice", "bob")
        assert estimate.value is None and estimate.n_items == 0
        assert estimate.note.startswith("not estimable: no items scored by both coders")
        assert "6 items coded by only one of the two" in estimate.note
    assert result.confusions[0].counts == [[0, 0, 0]] * 3
    alpha = get(result, "krippendorff_alpha_ordinal", "all", "")
    assert alpha.value is None and alpha.note.startswith("not estimable: no item scored by two")


def test_several_dimensions_are_kept_apart(tmp_path: Path) -> None:
    alice, bob = pairs_from_confusion(CONFUSION)
    write_codes(tmp_path, "alice", {**column(list(alice), "D10"), **column([1, 1, 0, 2], "D2")})
    write_codes(tmp_path, "bob", {**column(list(bob), "D10"), **column([1, 1, 2, 2], "D2")})
    result = compute_agreement(tmp_path)
    assert result.dimensions == ("D2", "D10")  # numeric order, not string order
    assert close(get(result, "cohen_kappa", "alice", "bob", "D10").value, Fraction(7, 13))
    assert get(result, "cohen_kappa", "alice", "bob", "D2").n_items == 4
    assert [(a.blind_id, a.dimension) for a in result.adjudication] == [("itm-02", "D2")]


def small_rubric() -> RubricSpec:
    return RubricSpec(
        name="mini2",
        dimensions=[
            RubricDimension(id=d, name=name, definition="x", levels={0: "a", 1: "b", 2: "c"})
            for d, name in (("D2", "Clarification"), ("D1", "Coherence"))
        ],
    )


def test_rubric_orders_dimensions_and_checks_its_hash(tmp_path: Path) -> None:
    rubric = small_rubric()
    codes = {**column([0, 1, 2]), **column([2, 1, 0], "D2")}
    write_codes(tmp_path, "alice", codes, rubric_hash=content_hash(rubric))
    write_codes(tmp_path, "bob", codes, kind="heuristic", rubric_hash="0" * 64)
    result = compute_agreement(tmp_path, rubric)
    assert result.dimensions == ("D2", "D1")
    assert result.dimension_names == {"D2": "Clarification", "D1": "Coherence"}
    assert result.coder_kinds == {"alice": "human", "bob": "heuristic"}
    assert any(
        "'bob' scored with a different version of rubric mini2" in w for w in result.warnings
    )
    assert not any("'alice'" in w for w in result.warnings)
    table = format_agreement_table(result)
    assert "D2 Clarification" in table and "human-judge" in table

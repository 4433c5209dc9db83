"""Tests for harness/agreement.py against values computed by hand from the definitions.

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
import json
import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir.records import ScoreRecord
from harness.schema import RubricDimension, RubricSpec, content_hash
from harness.stats.agreement import (
    AGREEMENT_COLUMNS,
    AgreementEstimate,
    AgreementResult,
    compute_agreement,
    format_agreement_table,
    load_scores,
    write_agreement,
)

Code = int | str | None
"""A level, "null" or "unscored"; None means the coder has no record."""

# Two coders, ten items: rows alice's level, columns bob's level.
CONFUSION = ((2, 1, 0), (1, 3, 1), (0, 0, 2))


def write_scores(
    run_dir: Path,
    coder: str,
    codes: dict[tuple[str, str], Code],
    kind: str = "human",
    rubric_hash: str | None = None,
) -> None:
    lines = []
    for (blind_id, dimension), code in codes.items():
        if code is None:
            continue
        record = ScoreRecord(
            blind_id=blind_id,
            dimension=dimension,
            coder=coder,
            coder_kind=kind,
            status="scored" if isinstance(code, int) else code,
            level=code if isinstance(code, int) else None,
            reason=None if isinstance(code, int) else "not applicable",
            rubric_hash=rubric_hash,
            scored_at="2026-01-01T00:00:00+00:00",
        )
        lines.append(record.model_dump_json(by_alias=True) + "\n")
    (run_dir / "scores").mkdir(parents=True, exist_ok=True)
    (run_dir / "scores" / f"{coder}.jsonl").write_text("".join(lines), encoding="utf-8")


def column(values: Sequence[Code], dimension: str = "D1") -> dict[tuple[str, str], Code]:
    return {(f"itm-{index:02d}", dimension): value for index, value in enumerate(values)}


def pairs_from_confusion(confusion: tuple[tuple[int, ...], ...]) -> tuple[list[int], list[int]]:
    first: list[int] = []
    second: list[int] = []
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            first += [i] * count
            second += [j] * count
    return first, second


def get(
    result: AgreementResult, statistic: str, a: str, b: str, dim: str = "D1"
) -> AgreementEstimate:
    found = [
        e
        for e in result.estimates
        if (e.statistic, e.coder_a, e.coder_b, e.dimension) == (statistic, a, b, dim)
    ]
    assert len(found) == 1
    return found[0]


def close(value: float | None, expected: Fraction | float) -> bool:
    return value is not None and abs(value - float(expected)) < 1e-9


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
    write_scores(tmp_path, "alice", column(list(alice)))
    write_scores(tmp_path, "bob", column(list(bob)))
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
    assert kappa.note == "" and kappa.pair_kind == "human-human"
    [confusion] = result.confusions
    assert confusion.counts == CONFUSION
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
    write_scores(tmp_path, "alice", column([row[0] for row in table]))
    write_scores(tmp_path, "bob", column([row[1] for row in table]))
    write_scores(tmp_path, "judge", column([row[2] for row in table]), kind="llm_judge")
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
    assert get(result, "cohen_kappa", "alice", "judge").pair_kind == "human-judge"
    assert get(result, "cohen_kappa", "alice", "judge").n_items == 5
    confusions = {(c.coder_a, c.coder_b): c.counts for c in result.confusions}
    assert confusions[("alice", "bob")] == pair_confusion

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
    write_scores(tmp_path, "alice", column([1] * len(bob)))
    write_scores(tmp_path, "bob", column(list(bob)))
    result = compute_agreement(tmp_path)
    # Rows of the confusion matrix: all of alice's items in row 1, so po == pe == 3/7.
    confusion = ((0, 0, 0), (2, 3, 2), (0, 0, 0))
    assert result.confusions[0].counts == confusion
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
    write_scores(tmp_path, "alice", column([1, 1, 1, 1]))
    write_scores(tmp_path, "bob", column([1, 1, 1, "null"]))
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

    rows = read_agreement_csv(write_agreement(result, tmp_path))
    assert all(row["value"] != "nan" for row in rows)
    kappa_row = next(r for r in rows if r["statistic"] == "cohen_kappa")
    assert kappa_row["value"] == ""
    assert "no variation" in kappa_row["note"]


def test_a_single_coder_has_no_pairs_and_no_alpha(tmp_path: Path) -> None:
    write_scores(tmp_path, "alice", column([0, 1, 2]))
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
    write_scores(tmp_path, "alice", column([0, 1, 2, None, None, None]))
    write_scores(tmp_path, "bob", column([None, None, None, 2, 1, 0]))
    result = compute_agreement(tmp_path)
    for statistic in ("percent_agreement", "cohen_kappa", "cohen_kappa_quadratic"):
        estimate = get(result, statistic, "alice", "bob")
        assert estimate.value is None and estimate.n_items == 0
        assert estimate.note.startswith("not estimable: no items scored by both coders")
        assert "6 items coded by only one of the two" in estimate.note
    assert result.confusions[0].counts == ((0, 0, 0),) * 3
    alpha = get(result, "krippendorff_alpha_ordinal", "all", "")
    assert alpha.value is None and alpha.note.startswith("not estimable: no item scored by two")


def test_several_dimensions_are_kept_apart(tmp_path: Path) -> None:
    alice, bob = pairs_from_confusion(CONFUSION)
    write_scores(tmp_path, "alice", {**column(list(alice), "D10"), **column([1, 1, 0, 2], "D2")})
    write_scores(tmp_path, "bob", {**column(list(bob), "D10"), **column([1, 1, 2, 2], "D2")})
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
    write_scores(tmp_path, "alice", codes, rubric_hash=content_hash(rubric))
    write_scores(tmp_path, "bob", codes, kind="heuristic", rubric_hash="0" * 64)
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


# --------------------------------------------------------------------------- files


def read_agreement_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == AGREEMENT_COLUMNS
        return list(reader)


def test_written_files_are_tidy(tmp_path: Path) -> None:
    alice, bob = pairs_from_confusion(CONFUSION)
    write_scores(tmp_path, "alice", column(list(alice)))
    write_scores(tmp_path, "bob", column(list(bob)))
    judge = list(bob)
    judge[0] = 2  # two levels from alice's 0 on itm-00
    write_scores(tmp_path, "judge", column(judge), kind="llm_judge")
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
    first = confusion["matrices"][0]
    assert (first["coder_a"], first["coder_b"], first["n_items"]) == ("alice", "bob", 10)
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
    write_scores(tmp_path, "alice", column(list(alice)))
    write_scores(tmp_path, "bob", column(list(bob)))
    table = format_agreement_table(compute_agreement(tmp_path))
    lines = table.splitlines()
    assert lines[0] == "Agreement between 2 coders: alice (human), bob (human)"
    row = next(line for line in lines if "alice ~ bob" in line)
    assert row.split() == [
        "D1",
        "alice",
        "~",
        "bob",
        "human-human",
        "10",
        "70.0%",
        "0.538",
        "0.727",
    ]
    alpha_row = lines[lines.index("Krippendorff's alpha (ordinal, all coders):") + 3]
    assert alpha_row.split() == ["D1", "10", "0.734"]
    assert "No item where two coders are 2 levels apart." in table


# --------------------------------------------------------------------------- reading


def test_reading_scores(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no scores to compare"):
        compute_agreement(tmp_path)
    write_scores(tmp_path, "alice", column([0, 1]))
    path = tmp_path / "scores" / "alice.jsonl"
    lines = path.read_text().splitlines()
    # A later line for the same item wins (a rescored item is appended); a torn tail is skipped.
    rescored = lines[0].replace('"level":0', '"level":2')
    path.write_text("\n".join([*lines, rescored, '{"blind_id": "itm-0']) + "\n")
    # A temp file left by an interrupted import is not a coder.
    (tmp_path / "scores" / ".bob.jsonl.abc.tmp").write_text("garbage")
    coders, warnings = load_scores(tmp_path)
    assert list(coders) == ["alice"]
    assert dict(coders["alice"].levels) == {("itm-00", "D1"): 2, ("itm-01", "D1"): 1}
    assert warnings == [f"{path}: skipped a torn last line 4"]

    path.write_text("\n".join([lines[0], "not json", lines[1]]) + "\n")
    with pytest.raises(InputError, match=r"alice\.jsonl: line 2: not a score record"):
        load_scores(tmp_path)


def test_file_name_is_the_coder(tmp_path: Path) -> None:
    write_scores(tmp_path, "alice", column([0, 1]))
    (tmp_path / "scores" / "alice.jsonl").rename(tmp_path / "scores" / "alice2.jsonl")
    coders, warnings = load_scores(tmp_path)
    assert list(coders) == ["alice2"]
    assert any("agreement calls this coder 'alice2'" in w for w in warnings)

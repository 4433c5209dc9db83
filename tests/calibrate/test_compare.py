"""Comparing codes with intended levels (harness/calibrate/compare.py): counts, accuracy and
confusion checked by hand, kappa against scikit-learn, and the interval against a direct
bootstrap over items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from harness.calibrate.compare import (
    ALL_DIMENSIONS,
    Pair,
    figures_for,
    kappa_interval,
    kappa_quadratic,
    misses,
    pairs_from,
)
from harness.rundir import ScoreRecord
from tests.calibrate.sets import calibration_set

Given = int | Literal["null", "unscored"] | None
"""A level, null, unscored, or None for no record at all."""
ORDER = [f"D{i}" for i in range(1, 9)]


def records_for(given: Sequence[Mapping[str, Given]]) -> dict[tuple[str, str], ScoreRecord]:
    """Score records of item ``i<k>`` (blind id ``b<k>``) from the k-th mapping."""
    records = {}
    for k, codes in enumerate(given):
        for dimension, code in codes.items():
            if code is None:
                continue
            status: Literal["scored", "null", "unscored"] = (
                "scored" if isinstance(code, int) else code)
            records[(f"b{k}", dimension)] = ScoreRecord(
                blind_id=f"b{k}", dimension=dimension, coder="j", coder_kind="heuristic",
                status=status, level=code if isinstance(code, int) else None,
                reason=None if status == "scored" else f"{status} by hand",
                scored_at="2026-01-01T00:00:00+00:00")
    return records


def make_pairs(intended: Sequence[Mapping[str, int]],
               given: Sequence[Mapping[str, Given]]) -> list[Pair]:
    return pairs_from(calibration_set(intended), records_for(given),
                      [f"b{k}" for k in range(len(intended))], ORDER)


INTENDED = [{"D2": 2, "D1": 0}, {"D1": 1, "D2": 1}, {"D1": 2, "D2": 0}, {"D1": 1, "D2": 2}]
GIVEN: list[dict[str, Given]] = [{"D1": 0, "D2": 1}, {"D1": "null", "D2": 1},
                                 {"D1": 2, "D2": "unscored"}, {"D1": 2, "D2": 2}]


def test_counts_accuracy_and_confusion_by_hand() -> None:
    pairs = make_pairs(INTENDED, GIVEN)
    assert [(p.item_id, p.dimension) for p in pairs][:2] == [("i0", "D1"), ("i0", "D2")]
    d1 = figures_for([p for p in pairs if p.dimension == "D1"], "D1", n_boot=50, seed=0)
    # D1: i0 0->0 right, i1 1->null, i2 2->2 right, i3 1->2
    assert (d1.n_pairs, d1.n_coded, d1.n_null, d1.n_unscored, d1.n_correct) == (4, 3, 1, 0, 2)
    assert d1.accuracy == 0.5 and d1.accuracy_coded == pytest.approx(2 / 3)
    assert d1.confusion == [[1, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 0, 0]]
    # intended (0, 2, 1) given (0, 2, 2): observed weighted disagreement 1, expected 15/3
    assert d1.kappa_quadratic == pytest.approx(1 - 1 / 5)
    d2 = figures_for([p for p in pairs if p.dimension == "D2"], "D2", n_boot=50, seed=0)
    assert (d2.n_pairs, d2.n_coded, d2.n_null, d2.n_unscored, d2.n_correct) == (4, 3, 0, 1, 2)
    assert d2.confusion == [[0, 0, 0, 0, 1], [0, 1, 0, 0, 0], [0, 1, 1, 0, 0]]
    overall = figures_for(pairs, ALL_DIMENSIONS, n_boot=50, seed=0)
    assert (overall.n_pairs, overall.n_coded, overall.n_correct) == (8, 6, 4)
    assert overall.accuracy == 0.5 and overall.accuracy_coded == pytest.approx(4 / 6)
    wrong = [(m.item_id, m.dimension, m.intended, m.status, m.given, m.case)
             for m in misses(pairs)]
    assert wrong == [("i0", "D2", 2, "scored", 1, "case 0"),
                     ("i1", "D1", 1, "null", None, "case 1"),
                     ("i2", "D2", 0, "unscored", None, "case 2"),
                     ("i3", "D1", 1, "scored", 2, "case 3")]


def test_a_pair_with_no_record_is_unscored() -> None:
    pairs = make_pairs([{"D3": 1}], [{"D3": None}])
    assert pairs[0].status == "unscored" and pairs[0].reason == "no score record for this pair"
    figures = figures_for(pairs, "D3", n_boot=10, seed=0)
    assert figures.n_unscored == 1 and figures.accuracy == 0.0 and figures.accuracy_coded is None
    assert figures.kappa_quadratic is None and figures.kappa_note == "no pair was given a level"


def test_kappa_is_scikit_learns_and_undefined_on_one_level() -> None:
    intended, given = [0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 1, 1, 0, 0]
    assert kappa_quadratic(intended, given) == pytest.approx(
        cohen_kappa_score(intended, given, weights="quadratic"))
    assert kappa_quadratic([1, 1], [1, 1]) is None
    assert kappa_quadratic([], []) is None
    # one level each, but different ones: defined, and no better than chance
    assert kappa_quadratic([1, 1], [2, 2]) == 0.0
    pairs = make_pairs([{"D1": 2}, {"D1": 2}], [{"D1": 2}, {"D1": 2}])
    kappa, low, high, note = kappa_interval(pairs, n_boot=20, seed=0)
    assert (kappa, low, high) == (None, None, None) and note.startswith("undefined")


def direct_bootstrap(pairs: Sequence[Pair], n_boot: int, seed: int) -> tuple[float, float, int]:
    """The interval computed the plain way: draw items, pool their coded pairs, sklearn."""
    coded = [p for p in pairs if p.status == "scored"]
    units = sorted({p.item for p in coded})
    draws = np.random.default_rng(seed).integers(0, len(units), size=(n_boot, len(units)))
    kappas = []
    for row in draws:
        chosen = [p for unit in row for p in coded if p.item == units[unit]]
        intended = [p.intended for p in chosen]
        given = [p.given for p in chosen]
        if len(set(intended) | set(given)) > 1:
            kappas.append(cohen_kappa_score(intended, given, labels=[0, 1, 2],
                                            weights="quadratic"))
    low, high = np.percentile(kappas, [2.5, 97.5])
    return float(low), float(high), n_boot - len(kappas)


@pytest.mark.parametrize("seed", [0, 7])
def test_the_interval_is_a_bootstrap_over_items(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    intended = [{d: int(rng.integers(0, 3)) for d in ("D1", "D2", "D3")
                 if rng.random() < 0.8} or {"D1": 1} for _ in range(25)]
    given: list[dict[str, Given]] = [
        {d: (min(2, max(0, level + int(rng.integers(-1, 2)))) if rng.random() < 0.85
             else "null") for d, level in item.items()} for item in intended]
    pairs = make_pairs(intended, given)
    for group in ("D1", ALL_DIMENSIONS):
        chosen = [p for p in pairs if group == ALL_DIMENSIONS or p.dimension == group]
        figures = figures_for(chosen, group, n_boot=200, seed=seed)
        low, high, left_out = direct_bootstrap(chosen, 200, seed)
        assert figures.kappa_ci_low == pytest.approx(low, abs=1e-12)
        assert figures.kappa_ci_high == pytest.approx(high, abs=1e-12)
        assert (f"{left_out} of 200" in figures.kappa_note) == bool(left_out)

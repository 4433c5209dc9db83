"""Comparing a judge's codes with the levels a calibration set intended: the figures.

Each (item, dimension) pair with an intended level is one ``Pair``: what was intended and what
the judge did (a level, null, or a failure). For a group of pairs (one dimension, or all) this
module computes the counts, accuracy over every pair (a null or unscored pair is a miss) and
over the coded pairs, the confusion of intended level against what was given, and the
quadratic-weighted Cohen's kappa of the coded pairs (scikit-learn's ``cohen_kappa_score``)
with a 95% percentile bootstrap interval.

The bootstrap resamples *items*, not pairs: the units are the items with at least one coded
pair in the group, in set order; each of ``n_boot`` resamples draws as many units with
replacement (``numpy.random.default_rng(seed).integers(0, n, size=(n_boot, n))``, a fresh
generator per group, so a dimension's interval does not depend on the others) and pools their
pairs. A resample whose pairs all sit at one level, intended and given alike, has no kappa and
is left out (the note counts them). Each resample's kappa is computed from its pooled 3x3
table with the formula scikit-learn uses, vectorised over resamples. This module reads and
writes no file (``run.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

import numpy as np

from harness.rundir import CONFUSION_COLUMNS, CalibrationFigures, CalibrationMiss, ScoreRecord
from harness.schema import CalibrationSet

__all__ = [
    "ALL_DIMENSIONS",
    "Pair",
    "figures_for",
    "kappa_interval",
    "kappa_quadratic",
    "misses",
    "pairs_from",
]

ALL_DIMENSIONS = "all"
"""The ``dimension`` of the figures over every pair pooled."""
LEVELS = (0, 1, 2)
_WEIGHTS = np.array([[(i - j) ** 2 for j in LEVELS] for i in LEVELS], dtype=float)
"""Quadratic disagreement weights, as scikit-learn's ``weights="quadratic"``."""
_NO_RECORD = "no score record for this pair"


Status = Literal["scored", "null", "unscored"]


class _Outcome(TypedDict):
    status: Status
    given: int | None
    reason: str | None


@dataclass(frozen=True)
class Pair:
    """One (item, dimension) pair: the intended level and what the judge did."""

    item: int
    """The item's position in the set (the bootstrap's unit)."""
    item_id: str
    case: str
    dimension: str
    intended: int
    status: Status
    given: int | None
    """The level given, for ``scored``."""
    reason: str | None

    @property
    def correct(self) -> bool:
        """Given exactly the intended level."""
        return self.status == "scored" and self.given == self.intended


def pairs_from(calibration: CalibrationSet, records: Mapping[tuple[str, str], ScoreRecord],
               blind_ids: Sequence[str], dimension_order: Sequence[str]) -> list[Pair]:
    """Every pair of the set, items in set order and dimensions in ``dimension_order``.

    Args:
        calibration: the set.
        records: the judge's records by (blind_id, dimension).
        blind_ids: each item's blind id, in set order.
        dimension_order: the rubric's dimension ids, in order.
    """
    rank = {dimension: index for index, dimension in enumerate(dimension_order)}
    pairs = []
    for index, (item, blind_id) in enumerate(zip(calibration.items, blind_ids, strict=True)):
        for dimension in sorted(item.intended, key=lambda d: (rank.get(d, len(rank)), d)):
            record = records.get((blind_id, dimension))
            pairs.append(Pair(item=index, item_id=item.id, case=item.case, dimension=dimension,
                              intended=item.intended[dimension].level, **_outcome(record)))
    return pairs


def _outcome(record: ScoreRecord | None) -> _Outcome:
    if record is None:  # the score stage writes every pair; a missing one is a failure
        return {"status": "unscored", "given": None, "reason": _NO_RECORD}
    reason = None if record.status == "scored" else record.reason
    return {"status": record.status, "given": record.level, "reason": reason}


def figures_for(pairs: Sequence[Pair], dimension: str, *, n_boot: int, seed: int
                ) -> CalibrationFigures:
    """The figures of one group of pairs (``dimension`` labels it: ``D1`` ... or ``all``)."""
    column = {"null": CONFUSION_COLUMNS.index("null"),
              "unscored": CONFUSION_COLUMNS.index("unscored")}
    confusion = [[0] * len(CONFUSION_COLUMNS) for _ in LEVELS]
    for pair in pairs:
        given = pair.given if pair.status == "scored" and pair.given is not None else None
        confusion[pair.intended][given if given is not None else column[pair.status]] += 1
    coded = [pair for pair in pairs if pair.status == "scored"]
    n_correct = sum(pair.correct for pair in pairs)
    kappa, low, high, note = kappa_interval(coded, n_boot=n_boot, seed=seed)
    return CalibrationFigures(
        dimension=dimension,
        n_pairs=len(pairs),
        n_coded=len(coded),
        n_null=sum(pair.status == "null" for pair in pairs),
        n_unscored=sum(pair.status == "unscored" for pair in pairs),
        n_correct=n_correct,
        accuracy=n_correct / len(pairs) if pairs else None,
        accuracy_coded=n_correct / len(coded) if coded else None,
        kappa_quadratic=kappa,
        kappa_ci_low=low,
        kappa_ci_high=high,
        kappa_note=note,
        confusion=confusion,
    )


def kappa_quadratic(intended: Sequence[int], given: Sequence[int]) -> float | None:
    """Quadratic-weighted Cohen's kappa (scikit-learn), or None where it is undefined (no
    pair, or every level intended and given the same single level)."""
    if not intended or len(set(intended) | set(given)) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(list(intended), list(given), labels=list(LEVELS),
                                   weights="quadratic"))


def kappa_interval(coded: Sequence[Pair], *, n_boot: int, seed: int
                   ) -> tuple[float | None, float | None, float | None, str]:
    """Kappa of the coded pairs, its 95% bootstrap interval over items, and a note.

    Returns:
        (kappa, ci_low, ci_high, note); the note says why a value is missing, or how many
        resamples had no kappa.
    """
    if not coded:
        return None, None, None, "no pair was given a level"
    kappa = kappa_quadratic([p.intended for p in coded], [p.given or 0 for p in coded])
    if kappa is None:
        return None, None, None, "undefined: every coded pair is at one level, intended and given"
    tables = _unit_tables(coded)
    n_units = len(tables)
    draws = np.random.default_rng(seed).integers(0, n_units, size=(n_boot, n_units))
    counts = np.zeros((n_boot, n_units))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    resampled = (counts @ tables.reshape(n_units, -1)).reshape(n_boot, len(LEVELS), len(LEVELS))
    kappas = _kappa_of_tables(resampled)
    defined = kappas[np.isfinite(kappas)]
    left_out = n_boot - len(defined)
    note = (f"{left_out} of {n_boot} resamples had one level only and were left out"
            if left_out else "")
    if not len(defined):
        return kappa, None, None, "interval undefined: every resample had one level only"
    low, high = np.percentile(defined, [2.5, 97.5])
    return kappa, float(low), float(high), note


def _unit_tables(coded: Sequence[Pair]) -> np.ndarray:
    """Per item with a coded pair (set order): its 3x3 table of intended x given."""
    tables: dict[int, np.ndarray] = {}
    for pair in coded:
        table = tables.setdefault(pair.item, np.zeros((len(LEVELS), len(LEVELS))))
        table[pair.intended, pair.given or 0] += 1
    return np.stack([tables[item] for item in sorted(tables)])


def _kappa_of_tables(tables: np.ndarray) -> np.ndarray:
    """Quadratic kappa of each 3x3 table (NaN where undefined), as scikit-learn computes it:
    ``1 - sum(w * observed) / sum(w * expected)``, expected from the margins."""
    n = tables.sum(axis=(1, 2))
    expected = tables.sum(axis=2)[:, :, None] * tables.sum(axis=1)[:, None, :] / n[:, None, None]
    observed_weighted = (_WEIGHTS * tables).sum(axis=(1, 2))
    expected_weighted = (_WEIGHTS * expected).sum(axis=(1, 2))
    result = np.full(len(tables), np.nan)
    defined = expected_weighted > 0
    result[defined] = 1.0 - observed_weighted[defined] / expected_weighted[defined]
    return result


def misses(pairs: Sequence[Pair]) -> list[CalibrationMiss]:
    """The pairs not given their intended level, in order."""
    return [
        CalibrationMiss(item_id=p.item_id, dimension=p.dimension, case=p.case,
                        intended=p.intended, status=p.status, given=p.given, reason=p.reason)
        for p in pairs if not p.correct
    ]

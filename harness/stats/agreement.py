"""Inter-coder agreement on the rubric, per dimension, for every coder a run has.

This module owns the statistics of ``xstress agree``: for every pair of coders and every
dimension, percentage agreement, Cohen's kappa (unweighted and quadratic-weighted) and the
confusion matrix over the items both coders scored; across all coders, Krippendorff's alpha
(ordinal), where null and unscored codes are missing values; and the items on which two coders
are two levels apart, for adjudication. Statistics come from scikit-learn and the
``krippendorff`` package; each estimate carries a 95% bootstrap interval over items
(``agreement_intervals.py``) and, where one level holds more than 80% of the codes, a
prevalence warning (kappa and alpha are unstable there: high agreement can come with a low
kappa). A value that cannot be estimated (no shared items, no variation) is reported as empty
with a note, never as NaN; so is an interval. Percentage agreement is a proportion between 0
and 1. Reading the score files is ``coder_scores.py``'s; writing ``report/agreement.csv`` and
the other files, and the terminal table, ``agreement_output.py``'s. This module does not
unblind anything and does not aggregate scores into profiles (``profiles.py``).
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.rundir import AgreementRow, AgreementStatistic, ConfusionMatrix, PairKind
from harness.schema import RubricSpec, content_hash
from harness.stats.agreement_intervals import (
    DEFAULT_N_BOOT,
    DEFAULT_SEED,
    AgreementInterval,
    alpha_interval,
    pair_intervals,
)
from harness.stats.coder_scores import CoderScores, load_scores

__all__ = [
    "LEVELS",
    "PREVALENCE_SHARE",
    "AdjudicationItem",
    "AgreementResult",
    "compute_agreement",
    "prevalence_warning",
]

LEVELS = (0, 1, 2)
"""The rubric levels, in the order of confusion-matrix rows and columns."""
PREVALENCE_SHARE = 0.8
"""A level holding more than this share of the codes makes kappa and alpha unstable."""


@dataclass(frozen=True)
class AdjudicationItem:
    """An item and dimension on which two coders are two levels apart."""

    blind_id: str
    dimension: str
    levels: Mapping[str, int | None]
    """Every coder that coded it: level, or None for null/unscored."""


@dataclass(frozen=True)
class AgreementResult:
    """Everything ``xstress agree`` computed for one run."""

    coders: tuple[str, ...]
    coder_kinds: Mapping[str, str]
    dimensions: tuple[str, ...]
    dimension_names: Mapping[str, str]
    estimates: tuple[AgreementRow, ...]
    """The rows of ``report/agreement.csv``, in order."""
    confusions: tuple[ConfusionMatrix, ...]
    adjudication: tuple[AdjudicationItem, ...]
    warnings: tuple[str, ...]
    n_boot: int = DEFAULT_N_BOOT
    """Bootstrap resamples behind every interval."""
    seed: int = DEFAULT_SEED
    """The seed of every interval's resampling."""

    def pair_kind(self, coder_a: str, coder_b: str) -> PairKind:
        """Which kinds of coder a pair joins (``human-judge`` ...)."""
        return _pair_kind(self.coder_kinds[coder_a], self.coder_kinds[coder_b])


def compute_agreement(run_dir: Path, rubric: RubricSpec | None = None, *,
                      n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> AgreementResult:
    """Compute agreement between every pair of coders and across all coders, per dimension.

    Args:
        run_dir: The run directory (its ``scores/*.jsonl`` are read).
        rubric: The rubric, for dimension order and names and to check that every coder used
            this version of it; without it, dimensions are those found, in id order.
        n_boot: Bootstrap resamples of items per interval.
        seed: Seed of each interval's generator (every estimate starts from it afresh).

    Returns:
        Estimates (as in ``report/agreement.csv``), confusion matrices, the items to
        adjudicate and warnings.

    Raises:
        InputError: No scores, a malformed scores file, or ``n_boot`` below 1.
    """
    if n_boot < 1:
        raise InputError(f"n_boot={n_boot}: agreement intervals need at least one resample",
                         fix="give n_boot=2000 (the default) or another positive number")
    coders, notes = load_scores(run_dir)
    names = tuple(sorted(coders))
    dimensions, dimension_names = _dimensions(coders, rubric, notes)
    estimates: list[AgreementRow] = []
    confusions: list[ConfusionMatrix] = []
    adjudication: list[AdjudicationItem] = []
    for dimension in dimensions:
        for name_a, name_b in itertools.combinations(names, 2):
            pair_estimates, confusion = _pair(dimension, coders[name_a], coders[name_b],
                                              n_boot, seed)
            estimates.extend(pair_estimates)
            confusions.append(confusion)
        estimates.append(_alpha(dimension, [coders[name] for name in names], n_boot, seed))
        adjudication.extend(_to_adjudicate(dimension, [coders[name] for name in names]))
    return AgreementResult(
        coders=names,
        coder_kinds={name: coders[name].kind for name in names},
        dimensions=dimensions,
        dimension_names=dimension_names,
        estimates=tuple(estimates),
        confusions=tuple(confusions),
        adjudication=tuple(adjudication),
        warnings=tuple(notes),
        n_boot=n_boot,
        seed=seed,
    )


def _dimensions(
    coders: Mapping[str, CoderScores], rubric: RubricSpec | None, notes: list[str]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The dimensions in report order and their names; rubric mismatches go to ``notes``."""
    seen_dims = {key[1] for coder in coders.values() for key in (*coder.levels, *coder.not_scored)}
    if rubric is None:
        if len({h for coder in coders.values() for h in coder.rubric_hashes}) > 1:
            notes.append("coders scored with different rubric versions (rubric_hash differs)")
        return tuple(sorted(seen_dims, key=_dimension_order)), {}
    dimension_names = {dimension.id: dimension.name for dimension in rubric.dimensions}
    extra = sorted(seen_dims - set(dimension_names), key=_dimension_order)
    if extra:
        notes.append(f"dimensions not in rubric {rubric.name}: {', '.join(extra)}")
    expected_hash = content_hash(rubric)
    for coder in coders.values():
        if coder.rubric_hashes - {expected_hash}:
            notes.append(
                f"coder {coder.name!r} scored with a different version of rubric "
                f"{rubric.name} (hash differs): agreement mixes rubric versions"
            )
    return (*dimension_names, *extra), dimension_names


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _dimension_order(dimension: str) -> tuple[int, str]:
    match = re.fullmatch(r"D(\d+)", dimension)
    return (int(match.group(1)) if match else 10**9, dimension)


def _pair_kind(kind_a: str, kind_b: str) -> PairKind:
    humans = (kind_a == "human") + (kind_b == "human")
    kinds: tuple[PairKind, PairKind, PairKind] = ("judge-judge", "human-judge", "human-human")
    return kinds[humans]


def _pair(
    dimension: str, coder_a: CoderScores, coder_b: CoderScores, n_boot: int, seed: int
) -> tuple[list[AgreementRow], ConfusionMatrix]:
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    keys_a, keys_b = coder_a.keys(dimension), coder_b.keys(dimension)
    shared = sorted(
        key for key in keys_a & keys_b if key in coder_a.levels and key in coder_b.levels
    )
    excluded = len(keys_a & keys_b) - len(shared)
    one_sided = len(keys_a ^ keys_b)
    remarks = []
    if excluded:
        remarks.append(f"{_items(excluded)} null or unscored by either coder excluded")
    if one_sided:
        remarks.append(f"{_items(one_sided)} coded by only one of the two")
    levels_a = [coder_a.levels[key] for key in shared]
    levels_b = [coder_b.levels[key] for key in shared]
    n_items = len(shared)

    def estimate(statistic: AgreementStatistic, value: float | None, why: str = "",
                 warning: str = "", interval: AgreementInterval | None = None) -> AgreementRow:
        return _row(dimension, coder_a.name, coder_b.name, statistic, n_items, value,
                    [why, warning, *remarks], interval)

    def confusion(counts: list[list[int]]) -> ConfusionMatrix:
        return ConfusionMatrix(dimension=dimension, coder_a=coder_a.name, coder_b=coder_b.name,
                               pair_kind=_pair_kind(coder_a.kind, coder_b.kind),
                               n_items=sum(map(sum, counts)), counts=counts)

    if not shared:
        why = "not estimable: no items scored by both coders"
        statistics: tuple[AgreementStatistic, ...] = (
            "percent_agreement", "cohen_kappa", "cohen_kappa_quadratic")
        return ([estimate(statistic, None, why) for statistic in statistics],
                confusion([[0 for _ in LEVELS] for _ in LEVELS]))

    intervals = pair_intervals(levels_a, levels_b, n_boot=n_boot, seed=seed)
    agreement = sum(a == b for a, b in zip(levels_a, levels_b, strict=True)) / n_items
    results = [estimate("percent_agreement", agreement,
                        interval=intervals["percent_agreement"])]
    prevalence = prevalence_warning([*levels_a, *levels_b], "kappa")
    # Both coders giving one and the same level to every item leaves chance agreement at 1:
    # kappa is 0/0, so it is reported as not estimable rather than as a number.
    given = set(levels_a) | set(levels_b)
    kappas: tuple[tuple[AgreementStatistic, str | None], ...] = (
        ("cohen_kappa", None),
        ("cohen_kappa_quadratic", "quadratic"),
    )
    for statistic, weights in kappas:
        if len(given) == 1:
            why = f"not estimable: no variation (both coders gave level {min(given)} to every item)"
            results.append(estimate(statistic, None, why))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(
                cohen_kappa_score(levels_a, levels_b, labels=list(LEVELS), weights=weights)
            )
        finite = math.isfinite(value)
        results.append(estimate(statistic, value if finite else None,
                                "" if finite else "not estimable", prevalence,
                                interval=intervals[statistic]))
    matrix = confusion_matrix(levels_a, levels_b, labels=list(LEVELS))
    return results, confusion([[int(cell) for cell in row] for row in matrix])


def _row(dimension: str, coder_a: str, coder_b: str, statistic: AgreementStatistic,
         n_items: int, value: float | None, notes: list[str],
         interval: AgreementInterval | None) -> AgreementRow:
    """An estimate; its interval (and the interval's note) only where the value exists.

    ``notes`` is (why no value, prevalence warning, *remarks); the note reads in that order
    with the interval's note after the warning.
    """
    if value is None or interval is None:
        interval = AgreementInterval(None, None, "")
    note = "; ".join(part for part in (*notes[:2], interval.note, *notes[2:]) if part)
    return AgreementRow(dimension=dimension, coder_a=coder_a, coder_b=coder_b,
                        statistic=statistic, n_items=n_items, value=value,
                        ci_low=interval.low, ci_high=interval.high, note=note)


def prevalence_warning(levels: Sequence[int], statistic: str) -> str:
    """The prevalence-paradox warning for these codes, or empty when no level dominates.

    Args:
        levels: every code the statistic is computed from (both coders' for a pair).
        statistic: its name in the warning (``kappa``, ``alpha``).

    Returns:
        ``prevalence: level L holds S% of the codes ...`` when one level holds more than
        ``PREVALENCE_SHARE`` of them; else "".
    """
    if not levels:
        return ""
    counts = Counter(levels)
    level, count = max(counts.items(), key=lambda item: (item[1], -item[0]))
    share = count / len(levels)
    if share <= PREVALENCE_SHARE:
        return ""
    # Rounded to whole percent, a share just above the threshold would read as exactly 80%.
    shown = f"{share:.0%}" if round(100 * share) > 100 * PREVALENCE_SHARE else f"{share:.1%}"
    return (f"prevalence: level {level} holds {shown} of the codes ({count} of {len(levels)}), "
            f"so {statistic} is unstable here (high agreement can come with a low {statistic})")


def _alpha(dimension: str, coders: list[CoderScores], n_boot: int, seed: int) -> AgreementRow:
    import numpy as np

    def result(n_items: int, value: float | None, notes: list[str],
               interval: AgreementInterval | None = None) -> AgreementRow:
        return _row(dimension, "all", "", "krippendorff_alpha_ordinal", n_items, value, notes,
                    interval)

    units = sorted({key[0] for coder in coders for key in coder.keys(dimension)})
    if len(coders) < 2:
        return result(0, None, ["not estimable: only one coder"])
    matrix = np.full((len(coders), len(units)), np.nan)
    for row, coder in enumerate(coders):
        for column, blind_id in enumerate(units):
            level = coder.levels.get((blind_id, dimension))
            if level is not None:
                matrix[row, column] = level
    per_unit = np.sum(~np.isnan(matrix), axis=0)
    pairable = int(np.sum(per_unit >= 2))
    missing = sum(1 for coder in coders for key in coder.not_scored if key[1] == dimension)
    remarks = [f"{len(coders)} coders"]
    if missing:
        remarks.append(
            f"{missing} null or unscored code{'' if missing == 1 else 's'} treated as missing"
        )
    if len(units) - pairable:
        remarks.append(f"{_items(len(units) - pairable)} with fewer than two levels not pairable")
    if pairable == 0:
        return result(0, None, ["not estimable: no item scored by two coders", "", *remarks])
    given = matrix[:, per_unit >= 2]
    values = [int(level) for level in given.T.ravel() if not np.isnan(level)]
    if len(set(values)) == 1:
        why = f"not estimable: no variation (every level given is {values[0]})"
        return result(pairable, None, [why, "", *remarks])
    import krippendorff

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(
            krippendorff.alpha(
                reliability_data=matrix,
                level_of_measurement="ordinal",
                value_domain=list(LEVELS),
            )
        )
    if not math.isfinite(value):
        return result(pairable, None, ["not estimable", "", *remarks])
    value_counts = np.stack([(given == level).sum(axis=0) for level in LEVELS], axis=1)
    interval = alpha_interval(value_counts, n_boot=n_boot, seed=seed)
    return result(pairable, value, ["", prevalence_warning(values, "alpha"), *remarks], interval)


def _to_adjudicate(dimension: str, coders: list[CoderScores]) -> list[AdjudicationItem]:
    units = sorted({key[0] for coder in coders for key in coder.keys(dimension)})
    found = []
    for blind_id in units:
        key = (blind_id, dimension)
        given = [coder.levels[key] for coder in coders if key in coder.levels]
        if len(given) >= 2 and max(given) - min(given) >= 2:
            levels = {
                coder.name: coder.levels.get(key)
                for coder in coders
                if key in coder.levels or key in coder.not_scored
            }
            found.append(AdjudicationItem(blind_id, dimension, levels))
    return found

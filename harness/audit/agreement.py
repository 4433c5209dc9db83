"""Agreement between the audit's coders, per dimension and pooled over dimensions.

The items are benchmarks: for each dimension, every pair of coders gets percentage agreement
and Cohen's kappa (unweighted and quadratic-weighted) over the benchmarks both coded, and all
coders together get Krippendorff's alpha (ordinal; a benchmark a coder did not code is a
missing value). The pooled rows (dimension ``all``) take every benchmark x dimension cell as an
item. Point estimates come from scikit-learn and ``krippendorff``, as in ``xstress agree``;
the per-dimension intervals are ``harness.stats``'s bootstrap over items (benchmarks), the
pooled rows' resample benchmarks with all their cells (``pooled.py``), since the cells of one
benchmark are not independent. Rows are ``harness.rundir.AgreementRow``, the columns of
``agreement.csv`` in both commands. The coders' evidence levels get the same statistics
(dimension ``evidence_level``; the four levels in their order, model < response < interaction
< deployment, so the quadratic kappa and ordinal alpha count model vs deployment as the
widest disagreement).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence

from harness.audit.pooled import pooled_alpha_interval, pooled_pair_intervals
from harness.audit.records import EVIDENCE_LEVELS, SheetRow
from harness.rundir import AgreementRow, AgreementStatistic
from harness.stats import AgreementInterval, alpha_interval, pair_intervals, prevalence_warning

__all__ = ["EVIDENCE", "POOLED", "audit_agreement"]

POOLED = "all"
"""The ``dimension`` of the rows pooled over every dimension."""
EVIDENCE = "evidence_level"
"""The ``dimension`` of the rows on the coders' evidence levels."""
_LEVELS = (0, 1, 2)
_EVIDENCE_CODES = tuple(range(len(EVIDENCE_LEVELS)))
_EVIDENCE_NOTE = "levels in order: " + " < ".join(EVIDENCE_LEVELS)
_PAIR_STATISTICS: tuple[AgreementStatistic, ...] = (
    "percent_agreement", "cohen_kappa", "cohen_kappa_quadratic")

Codes = dict[str, dict[tuple[str, str], int]]
"""coder -> (benchmark key, dimension) -> level."""


def audit_agreement(rows: Sequence[SheetRow], dimensions: Sequence[str], *, n_boot: int,
                    seed: int) -> list[AgreementRow]:
    """Kappa for every pair of coders and alpha across all: per dimension, pooled, and on the
    evidence level.

    Args:
        rows: every coder's rows (checked by ``read_sheets``).
        dimensions: the rubric's dimension ids, in order.
        n_boot: bootstrap resamples per interval.
        seed: the resampling's seed.

    Returns:
        The rows of ``agreement.csv``: per dimension, then ``all``, then ``evidence_level``;
        within each, the pairs in coder-name order, then alpha.
    """
    codes: Codes = {}
    for row in rows:
        coded = codes.setdefault(row.coder, {})
        for dimension, level in row.levels.items():
            coded[(row.benchmark.casefold(), dimension)] = level
        coded[(row.benchmark.casefold(), EVIDENCE)] = EVIDENCE_LEVELS.index(row.evidence_level)
    coders = sorted(codes)
    groups = [*((dimension, {dimension}, _LEVELS) for dimension in dimensions),
              (POOLED, set(dimensions), _LEVELS), (EVIDENCE, {EVIDENCE}, _EVIDENCE_CODES)]
    estimates: list[AgreementRow] = []
    for dimension, wanted, labels in groups:
        for coder_a, coder_b in itertools.combinations(coders, 2):
            estimates.extend(_pair(dimension, wanted, labels, codes, (coder_a, coder_b),
                                   n_boot, seed))
        if len(coders) >= 2:
            estimates.append(_alpha(dimension, wanted, labels, codes, coders, n_boot, seed))
    return estimates


def _row(dimension: str, coder_a: str, coder_b: str, statistic: AgreementStatistic,
         n_items: int, value: float | None, interval: AgreementInterval | None,
         notes: Sequence[str]) -> AgreementRow:
    if value is None or interval is None:
        interval = AgreementInterval(None, None, "")
    note = "; ".join(part for part in (*notes, interval.note) if part)
    return AgreementRow(dimension=dimension, coder_a=coder_a, coder_b=coder_b,
                        statistic=statistic, n_items=n_items, value=value, ci_low=interval.low,
                        ci_high=interval.high, note=note)


def _pair(dimension: str, wanted: set[str], labels: tuple[int, ...], codes: Codes,
          pair: tuple[str, str], n_boot: int, seed: int) -> list[AgreementRow]:
    from sklearn.metrics import cohen_kappa_score

    coder_a, coder_b = pair
    remark = _EVIDENCE_NOTE if dimension == EVIDENCE else ""

    shared = sorted(key for key in codes[coder_a].keys() & codes[coder_b].keys()
                    if key[1] in wanted)
    levels_a = [codes[coder_a][key] for key in shared]
    levels_b = [codes[coder_b][key] for key in shared]
    n_items = len(shared)
    if not shared:
        why = "not estimable: no benchmark coded by both coders"
        return [_row(dimension, coder_a, coder_b, s, 0, None, None, [why, remark])
                for s in _PAIR_STATISTICS]
    intervals = (
        pooled_pair_intervals(levels_a, levels_b, [key[0] for key in shared], n_boot=n_boot,
                              seed=seed, n_levels=len(labels))
        if dimension in (POOLED, EVIDENCE)
        else pair_intervals(levels_a, levels_b, n_boot=n_boot, seed=seed))
    agreement = sum(a == b for a, b in zip(levels_a, levels_b, strict=True)) / n_items
    result = [_row(dimension, coder_a, coder_b, "percent_agreement", n_items, agreement,
                   intervals["percent_agreement"], [remark])]
    given = set(levels_a) | set(levels_b)
    prevalence = prevalence_warning([*levels_a, *levels_b], "kappa")
    kappas: tuple[tuple[AgreementStatistic, str | None], ...] = (
        ("cohen_kappa", None), ("cohen_kappa_quadratic", "quadratic"))
    for statistic, weights in kappas:
        if len(given) == 1:
            why = f"not estimable: no variation (both coders gave level {min(given)} throughout)"
            result.append(_row(dimension, coder_a, coder_b, statistic, n_items, None, None,
                               [why, remark]))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(cohen_kappa_score(levels_a, levels_b, labels=list(labels),
                                            weights=weights))
        finite = math.isfinite(value)
        result.append(_row(dimension, coder_a, coder_b, statistic, n_items,
                           value if finite else None, intervals[statistic],
                           ["" if finite else "not estimable", prevalence, remark]))
    return result


def _alpha(dimension: str, wanted: set[str], labels: tuple[int, ...], codes: Codes,
           coders: Sequence[str], n_boot: int, seed: int) -> AgreementRow:
    import krippendorff
    import numpy as np

    units = sorted({key for coder in coders for key in codes[coder] if key[1] in wanted})
    matrix = np.full((len(coders), len(units)), np.nan)
    for i, coder in enumerate(coders):
        for j, key in enumerate(units):
            if key in codes[coder]:
                matrix[i, j] = codes[coder][key]
    pairable = np.sum(~np.isnan(matrix), axis=0) >= 2
    remarks = [f"{len(coders)} coders", _EVIDENCE_NOTE if dimension == EVIDENCE else ""]
    if int(np.sum(~pairable)):
        remarks.append(f"{int(np.sum(~pairable))} cells coded by one coder only, not pairable")
    n_items = int(np.sum(pairable))
    given = matrix[:, pairable]
    values = [int(v) for v in given.T.ravel() if not np.isnan(v)]

    def result(value: float | None, notes: list[str],
               interval: AgreementInterval | None = None) -> AgreementRow:
        return _row(dimension, "all", "", "krippendorff_alpha_ordinal", n_items, value,
                    interval, [*notes, *remarks])

    if not values:
        return result(None, ["not estimable: no benchmark coded by two coders"])
    if len(set(values)) == 1:
        return result(None, [f"not estimable: no variation (every level given is {values[0]})"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal",
                                         value_domain=list(labels)))
    if not math.isfinite(value):
        return result(None, ["not estimable"])
    value_counts = np.stack([(given == level).sum(axis=0) for level in labels], axis=1)
    if dimension in (POOLED, EVIDENCE):
        clusters = [key[0] for key, kept in zip(units, pairable, strict=True) if kept]
        interval = pooled_alpha_interval(value_counts, clusters, n_boot=n_boot, seed=seed)
    else:
        interval = alpha_interval(value_counts, n_boot=n_boot, seed=seed)
    return result(value, [prevalence_warning(values, "alpha")], interval)

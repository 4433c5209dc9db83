"""Unblinded statistics: the join of scores with the blinding key, alignment profiles and
scaffold effects.

Pure maths on numpy arrays and frozen dataclasses. This module reads no file and draws nothing
(``report.py`` reads the run directory and writes the report, ``plots.py`` draws). The cluster
bootstrap behind every interval is ``cluster_bootstrap.py``'s; whether an effect depends on the
model is ``interaction.py``'s. Every estimate that cannot be computed is returned as ``None``
with a ``note`` saying why, never as NaN, so no table downstream can show one.

Methods, in short (the report states them in full):

* Items are clustered in prompts (replicates nested in prompts), so every confidence interval
  is a percentile interval from a cluster bootstrap that resamples prompts (see
  ``cluster_bootstrap.py``).
* A scaffold's effect for a model and dimension is the mean paired difference (scaffold minus
  baseline) over (prompt, replicate) pairs where both are scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from harness.cluster_bootstrap import bootstrap_ratio, ci_caveats, finite_or_none, percentile_ci
from harness.schema import KeyEntry

__all__ = [
    "LEVEL_MAX",
    "STATUS_MISSING",
    "STATUS_NULL",
    "STATUS_SCORED",
    "STATUS_UNSCORED",
    "Design",
    "EffectLabel",
    "EffectRow",
    "PairedScores",
    "ProfileRow",
    "ScoreMatrix",
    "ScoreMatrixBuilder",
    "compute_effects",
    "compute_profiles",
    "index_key",
    "label_effect",
    "mean_of_coders",
    "natural_dimension_order",
    "paired_scores",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LEVEL_MAX = 2
"""The top rubric level; ``ceiling`` means every paired score sits here."""

STATUS_SCORED, STATUS_NULL, STATUS_UNSCORED, STATUS_MISSING = 0, 1, 2, 3
"""Per item and dimension: a level, a coder's null (not applicable), a coder's failure
(``unscored``), or no record from the coder at all."""

_STATUS_CODES = {"scored": STATUS_SCORED, "null": STATUS_NULL, "unscored": STATUS_UNSCORED}

EffectLabel = Literal["ceiling", "improved", "worsened", "unchanged", "inconclusive", ""]


# --------------------------------------------------------------------------- the join


@dataclass(frozen=True)
class Design:
    """The unblinded design: one row per blinded item, integer-coded factors.

    Attributes:
        models, scaffolds, prompts: labels, in report order.
        replicates: the replicate indices present, sorted.
        model, scaffold, prompt, replicate: per item, the index into the label tuples.
        row_of: blind_id -> item row.
        duplicate_cells: items that share (model, scaffold, prompt, replicate) with another
            item; pairing uses the last of them.
    """

    models: tuple[str, ...]
    scaffolds: tuple[str, ...]
    prompts: tuple[str, ...]
    replicates: tuple[int, ...]
    model: IntArray
    scaffold: IntArray
    prompt: IntArray
    replicate: IntArray
    row_of: Mapping[str, int]
    duplicate_cells: int = 0

    @property
    def n_items(self) -> int:
        """Number of blinded items (key entries)."""
        return int(self.model.shape[0])

    def cell_lookup(self) -> IntArray:
        """Item row per (model, scaffold, prompt, replicate), -1 where there is none."""
        shape = (len(self.models), len(self.scaffolds), len(self.prompts), len(self.replicates))
        lookup = np.full(shape, -1, dtype=np.int64)
        lookup[self.model, self.scaffold, self.prompt, self.replicate] = np.arange(self.n_items)
        return lookup


def index_key(
    entries: Iterable[KeyEntry],
    *,
    model_order: Sequence[str] = (),
    scaffold_order: Sequence[str] = (),
) -> Design:
    """Integer-code the blinding key.

    Args:
        entries: key entries; a repeated blind_id keeps its last entry.
        model_order: preferred order of models (e.g. the run config's); others follow sorted.
        scaffold_order: preferred order of scaffolds; others follow sorted.

    Returns:
        The design, with one row per distinct blind_id.
    """
    by_blind_id: dict[str, KeyEntry] = {}
    for entry in entries:
        by_blind_id[entry.blind_id] = entry
    rows = list(by_blind_id.values())
    models = _ordered({e.model for e in rows}, model_order)
    scaffolds = _ordered({e.scaffold for e in rows}, scaffold_order)
    prompts = tuple(sorted({e.prompt_id for e in rows}))
    replicates = tuple(sorted({e.replicate for e in rows}))
    model_code = {name: i for i, name in enumerate(models)}
    scaffold_code = {name: i for i, name in enumerate(scaffolds)}
    prompt_code = {name: i for i, name in enumerate(prompts)}
    replicate_code = {value: i for i, value in enumerate(replicates)}
    n = len(rows)
    cells = {(e.model, e.scaffold, e.prompt_id, e.replicate) for e in rows}
    return Design(
        models=models,
        scaffolds=scaffolds,
        prompts=prompts,
        replicates=replicates,
        model=np.fromiter((model_code[e.model] for e in rows), np.int64, n),
        scaffold=np.fromiter((scaffold_code[e.scaffold] for e in rows), np.int64, n),
        prompt=np.fromiter((prompt_code[e.prompt_id] for e in rows), np.int64, n),
        replicate=np.fromiter((replicate_code[e.replicate] for e in rows), np.int64, n),
        row_of={e.blind_id: i for i, e in enumerate(rows)},
        duplicate_cells=n - len(cells),
    )


def _ordered(names: set[str], preferred: Sequence[str]) -> tuple[str, ...]:
    first = [name for name in dict.fromkeys(preferred) if name in names]
    return (*first, *sorted(names - set(first)))


def natural_dimension_order(dimensions: Iterable[str]) -> tuple[str, ...]:
    """Dimension ids sorted as people read them (D2 before D10)."""

    def key(dimension: str) -> tuple[str, int, str]:
        head = dimension.rstrip("0123456789")
        tail = dimension[len(head) :]
        return (head, int(tail) if tail else -1, dimension)

    return tuple(sorted(set(dimensions), key=key))


@dataclass(frozen=True)
class ScoreMatrix:
    """One coder's (or a combination's) scores: items x dimensions.

    Attributes:
        dimensions: rubric dimension ids, one per column, in report order.
        values: the level (or a mean of levels), NaN where there is none.
        status: ``STATUS_*`` codes.
    """

    dimensions: tuple[str, ...]
    values: FloatArray
    status: npt.NDArray[np.int8]

    def reindex(self, dimensions: Sequence[str]) -> ScoreMatrix:
        """The same scores with columns ``dimensions`` (absent ones all missing)."""
        n_items = self.values.shape[0]
        values = np.full((n_items, len(dimensions)), np.nan)
        status = np.full((n_items, len(dimensions)), STATUS_MISSING, dtype=np.int8)
        where = {dimension: i for i, dimension in enumerate(self.dimensions)}
        for j, dimension in enumerate(dimensions):
            if dimension in where:
                values[:, j] = self.values[:, where[dimension]]
                status[:, j] = self.status[:, where[dimension]]
        return ScoreMatrix(dimensions=tuple(dimensions), values=values, status=status)


class ScoreMatrixBuilder:
    """Fills a ScoreMatrix from score records streamed one at a time (last record wins).

    With ``dimensions`` given, records on other dimensions are counted, not kept; without,
    every dimension seen becomes a column. Also counts blind_ids absent from the key and
    repeated (blind_id, dimension) records.
    """

    def __init__(self, design: Design, dimensions: Sequence[str] | None = None) -> None:
        self.design = design
        self.fixed = dimensions is not None
        self.unknown_items = 0
        self.unknown_dimensions: set[str] = set()
        self.repeated = 0
        # Per dimension: rows, status codes and levels in arrival order; turned into arrays
        # once in build(), which is far cheaper than 10^6 scalar numpy writes.
        self._columns: dict[str, tuple[list[int], list[int], list[float]]] = {}
        for dimension in dimensions or ():
            self._columns[dimension] = ([], [], [])

    def add(self, blind_id: str, dimension: str, status: str, level: int | None) -> None:
        """Record one score (``status`` is a ScoreRecord status)."""
        row = self.design.row_of.get(blind_id)
        if row is None:
            self.unknown_items += 1
            return
        column = self._columns.get(dimension)
        if column is None:
            if self.fixed:
                self.unknown_dimensions.add(dimension)
                return
            column = self._columns[dimension] = ([], [], [])
        column[0].append(row)
        column[1].append(_STATUS_CODES[status])
        column[2].append(math.nan if level is None else float(level))

    def build(self) -> ScoreMatrix:
        """The filled matrix; columns in the given order, or in natural order if discovered."""
        order = tuple(self._columns) if self.fixed else natural_dimension_order(self._columns)
        n = self.design.n_items
        values = np.full((n, len(order)), np.nan)
        status = np.full((n, len(order)), STATUS_MISSING, dtype=np.int8)
        self.repeated = 0
        for j, dimension in enumerate(order):
            rows_list, codes_list, levels_list = self._columns[dimension]
            rows = np.asarray(rows_list, dtype=np.int64)
            # The last record per row wins: the first occurrence in reversed order.
            unique_rows, first_reversed = np.unique(rows[::-1], return_index=True)
            last = rows.size - 1 - first_reversed
            self.repeated += int(rows.size - unique_rows.size)
            status[unique_rows, j] = np.asarray(codes_list, dtype=np.int8)[last]
            values[unique_rows, j] = np.asarray(levels_list, dtype=np.float64)[last]
        return ScoreMatrix(dimensions=order, values=values, status=status)


def mean_of_coders(
    matrices: Sequence[ScoreMatrix], dimensions: Sequence[str] | None = None
) -> ScoreMatrix:
    """Per item and dimension, the mean level over the coders that gave one.

    The status is ``scored`` if any coder scored, else ``null`` if any coder gave null, else
    ``unscored`` if any coder failed, else ``missing``.

    Args:
        matrices: one per coder, over the same design.
        dimensions: column order; default the union of the coders' dimensions, natural order.
    """
    if not matrices:
        raise ValueError("mean_of_coders needs at least one matrix")
    if dimensions is None:
        dimensions = natural_dimension_order(d for m in matrices for d in m.dimensions)
    aligned = [m.reindex(dimensions) for m in matrices]
    stacked = np.stack([m.values for m in aligned])
    scored = ~np.isnan(stacked)
    count = scored.sum(axis=0)
    total = np.where(scored, stacked, 0.0).sum(axis=0)
    values = np.full(count.shape, np.nan)
    np.divide(total, count, out=values, where=count > 0)
    status = np.stack([m.status for m in aligned]).min(axis=0).astype(np.int8)
    return ScoreMatrix(dimensions=tuple(dimensions), values=values, status=status)


# --------------------------------------------------------------------------- result rows


@dataclass(frozen=True)
class ProfileRow:
    """One model x scaffold x dimension cell of the alignment profile.

    ``mean``/``ci_low``/``ci_high`` are None when not estimable; ``note`` says why or flags
    a caveat. ``count_between`` counts items whose value lies between levels (only when the
    profile uses the mean of several judges).
    """

    model: str
    scaffold: str
    dimension: str
    n_items: int
    n: int
    count_0: int
    count_1: int
    count_2: int
    count_between: int
    count_null: int
    count_unscored: int
    n_prompts: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    note: str


@dataclass(frozen=True)
class EffectRow:
    """A scaffold's paired effect vs the baseline for one model and dimension."""

    model: str
    scaffold: str
    baseline: str
    dimension: str
    n_pairs: int
    n_prompts: int
    baseline_mean: float | None
    scaffold_mean: float | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    same_distribution: bool | None
    label: EffectLabel
    note: str


# --------------------------------------------------------------------------- profiles


def compute_profiles(
    design: Design, scores: ScoreMatrix, *, n_boot: int = 2000, seed: int = 0
) -> list[ProfileRow]:
    """Per model x scaffold x dimension: counts, mean and a 95% cluster-bootstrap CI.

    Args:
        design: the integer-coded key.
        scores: the scores the profile uses.
        n_boot: bootstrap resamples of prompts.
        seed: seed of the resampling RNG.

    Returns:
        One row per model x scaffold x dimension, in design order.
    """
    n_m, n_s, n_p = len(design.models), len(design.scaffolds), len(design.prompts)
    n_d = len(scores.dimensions)
    cell = (design.model * n_s + design.scaffold) * n_p + design.prompt
    size = n_m * n_s * n_p
    sums = np.zeros((n_p, n_m * n_s * n_d))
    counts = np.zeros_like(sums)
    for d in range(n_d):
        values = scores.values[:, d]
        ok = ~np.isnan(values)
        cell_sum = np.bincount(cell[ok], weights=values[ok], minlength=size).reshape(n_m * n_s, n_p)
        cell_count = np.bincount(cell[ok], minlength=size).reshape(n_m * n_s, n_p)
        sums[:, d::n_d] = cell_sum.T
        counts[:, d::n_d] = cell_count.T
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    low, high, empty = percentile_ci(bootstrap_ratio(sums, counts, n_boot, rng))

    pair = design.model * n_s + design.scaffold
    n_items = np.bincount(pair, minlength=n_m * n_s)
    rows: list[ProfileRow] = []
    for m, model in enumerate(design.models):
        for s, scaffold in enumerate(design.scaffolds):
            in_cell = pair == m * n_s + s
            for d, dimension in enumerate(scores.dimensions):
                column = (m * n_s + s) * n_d + d
                rows.append(
                    _profile_row(
                        model,
                        scaffold,
                        dimension,
                        int(n_items[m * n_s + s]),
                        scores.values[in_cell, d],
                        scores.status[in_cell, d],
                        sums[:, column],
                        counts[:, column],
                        float(low[column]),
                        float(high[column]),
                        float(empty[column]),
                    )
                )
    return rows


def _profile_row(
    model: str,
    scaffold: str,
    dimension: str,
    n_items: int,
    values: FloatArray,
    status: npt.NDArray[np.int8],
    prompt_sums: FloatArray,
    prompt_counts: FloatArray,
    low: float,
    high: float,
    empty_fraction: float,
) -> ProfileRow:
    scored = values[~np.isnan(values)]
    n = int(scored.size)
    n_prompts = int((prompt_counts > 0).sum())
    notes: list[str] = []
    mean = ci_low = ci_high = None
    if n_items == 0:
        notes.append("not estimable: no items for this model and scaffold (all error/blocked?)")
    elif n == 0:
        notes.append("not estimable: no scored items (all null or unscored)")
    else:
        mean = float(prompt_sums.sum() / prompt_counts.sum())
        if n_prompts < 2:
            notes.append("CI not estimable: scores from fewer than 2 prompts")
        else:
            ci_low, ci_high = finite_or_none(low), finite_or_none(high)
            if float(scored.min()) == float(scored.max()):
                notes.append("all scores equal: the bootstrap CI has zero width")
            notes.extend(ci_caveats(n_prompts, empty_fraction))
    return ProfileRow(
        model=model,
        scaffold=scaffold,
        dimension=dimension,
        n_items=n_items,
        n=n,
        count_0=int((scored == 0).sum()),
        count_1=int((scored == 1).sum()),
        count_2=int((scored == 2).sum()),
        count_between=int((scored != np.round(scored)).sum()),
        count_null=int((status == STATUS_NULL).sum()),
        count_unscored=int(((status == STATUS_UNSCORED) | (status == STATUS_MISSING)).sum()),
        n_prompts=n_prompts,
        mean=mean,
        ci_low=ci_low,
        ci_high=ci_high,
        note="; ".join(notes),
    )


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class PairedScores:
    """Paired values of one scaffold and the baseline, shaped (models, prompts, replicates,
    dimensions), NaN where the pair is incomplete."""

    baseline: FloatArray
    scaffold: FloatArray

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Where both the baseline and the scaffold value are present."""
        return ~(np.isnan(self.baseline) | np.isnan(self.scaffold))

    def block_totals(self) -> tuple[FloatArray, FloatArray]:
        """Per (model, prompt, dimension): sum of paired differences and number of pairs."""
        valid = self.valid
        diff = np.where(valid, self.scaffold - self.baseline, 0.0)
        return diff.sum(axis=2), valid.sum(axis=2).astype(np.float64)


def paired_scores(
    design: Design, scores: ScoreMatrix, baseline: int, scaffold: int
) -> PairedScores:
    """The values of scaffold index ``scaffold`` paired with those of ``baseline``.

    Args:
        design: the integer-coded key.
        scores: the scores the profile uses.
        baseline, scaffold: scaffold indices into ``design.scaffolds``.
    """
    lookup = design.cell_lookup()
    # An extra all-NaN row lets the -1 of missing cells index "no value".
    padded = np.vstack([scores.values, np.full((1, len(scores.dimensions)), np.nan)])
    return PairedScores(baseline=padded[lookup[:, baseline]], scaffold=padded[lookup[:, scaffold]])


def label_effect(
    *,
    ci_low: float | None,
    ci_high: float | None,
    all_at_max: bool,
    same_distribution: bool,
) -> EffectLabel:
    """The label of one effect (the rule the report states).

    ``ceiling`` when every paired score, baseline and scaffold, is at the top level (nothing
    to improve); else ``improved``/``worsened`` when the 95% CI excludes 0 on that side; else
    ``unchanged`` when the CI covers 0 and the paired level distributions are identical; else
    ``inconclusive`` (the CI covers 0 but the distributions differ: the data neither show an
    effect nor show its absence). Empty when there is no CI.
    """
    if all_at_max:
        return "ceiling"
    if ci_low is None or ci_high is None:
        return ""
    if ci_low > 0:
        return "improved"
    if ci_high < 0:
        return "worsened"
    return "unchanged" if same_distribution else "inconclusive"


def compute_effects(
    design: Design,
    scores: ScoreMatrix,
    *,
    baseline: str,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[EffectRow]:
    """Per model, non-baseline scaffold and dimension: the paired effect vs ``baseline``.

    Args:
        design: the integer-coded key; must contain ``baseline``.
        scores: the scores the profile uses.
        baseline: the reference scaffold.
        n_boot: bootstrap resamples of prompts.
        seed: seed of the resampling RNG.

    Returns:
        Rows ordered by scaffold, model, dimension; empty if there is no other scaffold.
    """
    b = design.scaffolds.index(baseline)
    others = [s for s in range(len(design.scaffolds)) if s != b]
    if not others:
        return []
    n_m, n_p, n_d = len(design.models), len(design.prompts), len(scores.dimensions)
    paired = {s: paired_scores(design, scores, b, s) for s in others}
    sums = np.zeros((n_p, len(others) * n_m * n_d))
    counts = np.zeros_like(sums)
    for k, s in enumerate(others):
        block_sum, block_count = paired[s].block_totals()
        start = k * n_m * n_d
        # (models, prompts, dims) -> (prompts, models * dims)
        sums[:, start : start + n_m * n_d] = block_sum.transpose(1, 0, 2).reshape(n_p, -1)
        counts[:, start : start + n_m * n_d] = block_count.transpose(1, 0, 2).reshape(n_p, -1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    low, high, empty = percentile_ci(bootstrap_ratio(sums, counts, n_boot, rng))

    rows: list[EffectRow] = []
    for k, s in enumerate(others):
        pair = paired[s]
        valid = pair.valid
        for m, model in enumerate(design.models):
            for d, dimension in enumerate(scores.dimensions):
                column = (k * n_m + m) * n_d + d
                ok = valid[m, :, :, d]
                rows.append(
                    _effect_row(
                        model,
                        design.scaffolds[s],
                        baseline,
                        dimension,
                        pair.baseline[m, :, :, d][ok],
                        pair.scaffold[m, :, :, d][ok],
                        int(ok.any(axis=1).sum()),
                        float(low[column]),
                        float(high[column]),
                        float(empty[column]),
                    )
                )
    return rows


def _effect_row(
    model: str,
    scaffold: str,
    baseline: str,
    dimension: str,
    base: FloatArray,
    treated: FloatArray,
    n_prompts: int,
    low: float,
    high: float,
    empty_fraction: float,
) -> EffectRow:
    n_pairs = int(base.size)
    notes: list[str] = []
    if n_pairs == 0:
        return EffectRow(
            model=model,
            scaffold=scaffold,
            baseline=baseline,
            dimension=dimension,
            n_pairs=0,
            n_prompts=0,
            baseline_mean=None,
            scaffold_mean=None,
            effect=None,
            ci_low=None,
            ci_high=None,
            same_distribution=None,
            label="",
            note="not estimable: no (prompt, replicate) pair scored under both scaffolds",
        )
    same = bool(np.array_equal(np.sort(base), np.sort(treated)))
    all_at_max = bool((base == LEVEL_MAX).all() and (treated == LEVEL_MAX).all())
    ci_low = ci_high = None
    if n_prompts < 2:
        notes.append("CI not estimable: pairs from fewer than 2 prompts")
    else:
        ci_low, ci_high = finite_or_none(low), finite_or_none(high)
        if bool((treated - base == (treated - base)[0]).all()):
            notes.append("all paired differences equal: the bootstrap CI has zero width")
        notes.extend(ci_caveats(n_prompts, empty_fraction))
    label = label_effect(
        ci_low=ci_low, ci_high=ci_high, all_at_max=all_at_max, same_distribution=same
    )
    if label == "" and not all_at_max:
        notes.append("no label without a CI")
    return EffectRow(
        model=model,
        scaffold=scaffold,
        baseline=baseline,
        dimension=dimension,
        n_pairs=n_pairs,
        n_prompts=n_prompts,
        baseline_mean=float(base.mean()),
        scaffold_mean=float(treated.mean()),
        effect=float((treated - base).mean()),
        ci_low=ci_low,
        ci_high=ci_high,
        same_distribution=same,
        label=label,
        note="; ".join(notes),
    )

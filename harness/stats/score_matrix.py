"""The join of the blinding key with coders' scores: integer-coded arrays for the statistics.

This module owns turning key entries into a ``Design`` (models, scaffolds, prompts and
replicates coded as integers, one row per blinded item), filling a ``ScoreMatrix`` (items x
rubric dimensions: levels and ``STATUS_*`` codes) from score records streamed one at a time,
and combining several coders' matrices into their mean. It reads no file (the report streams the
records in), computes no profile or effect (``profiles.py``, ``effects.py``), does not test
whether an effect depends on the model (``interaction.py``) and formats nothing; it imports
none of those modules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.rundir import KeyEntry

__all__ = [
    "LEVEL_MAX",
    "STATUS_MISSING",
    "STATUS_NULL",
    "STATUS_SCORED",
    "STATUS_UNSCORED",
    "Design",
    "FloatArray",
    "IntArray",
    "ScoreMatrix",
    "ScoreMatrixBuilder",
    "index_key",
    "mean_of_coders",
    "natural_dimension_order",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LEVEL_MAX = 2
"""The top rubric level (levels run 0 to 2); means and intervals are bounded by it."""

STATUS_SCORED, STATUS_NULL, STATUS_UNSCORED, STATUS_MISSING = 0, 1, 2, 3
"""Per item and dimension: a level, a coder's null (not applicable), a coder's failure
(``unscored``), or no record from the coder at all."""

_STATUS_CODES = {"scored": STATUS_SCORED, "null": STATUS_NULL, "unscored": STATUS_UNSCORED}


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

"""Tests for harness/stats/score_matrix.py: integer-coding the key, filling a score matrix from
streamed records (last record wins, unplaceable records counted), the natural dimension order,
and the mean of several coders."""

from __future__ import annotations

import numpy as np

from harness.rundir import KeyEntry
from harness.stats.score_matrix import (
    STATUS_MISSING,
    STATUS_NULL,
    STATUS_SCORED,
    STATUS_UNSCORED,
    ScoreMatrix,
    ScoreMatrixBuilder,
    index_key,
    mean_of_coders,
    natural_dimension_order,
)
from tests.stats.designs import full_design


def test_index_key_orders_and_dedupes() -> None:
    entries = [
        KeyEntry(
            blind_id="a", cell_id="c1", model="m2", scaffold="verify", prompt_id="x", replicate=0
        ),
        KeyEntry(
            blind_id="b", cell_id="c2", model="m1", scaffold="bare", prompt_id="y", replicate=1
        ),
        KeyEntry(
            blind_id="a", cell_id="c1", model="m2", scaffold="verify", prompt_id="x", replicate=0
        ),
        KeyEntry(
            blind_id="c", cell_id="c3", model="m1", scaffold="bare", prompt_id="y", replicate=1
        ),
    ]
    design = index_key(entries, scaffold_order=["bare"])
    assert design.n_items == 3
    assert design.models == ("m1", "m2")
    assert design.scaffolds == ("bare", "verify")
    assert design.prompts == ("x", "y")
    assert design.replicates == (0, 1)
    assert design.duplicate_cells == 1
    assert design.model[design.row_of["a"]] == 1


def test_builder_counts_what_it_cannot_place_and_orders_dimensions() -> None:
    design = full_design(["m"], ["bare"], 2, 1)
    builder = ScoreMatrixBuilder(design)
    builder.add("m|bare|0|0", "D10", "scored", 2)
    builder.add("m|bare|0|0", "D2", "null", None)
    builder.add("m|bare|1|0", "D2", "scored", 1)
    builder.add("m|bare|1|0", "D2", "scored", 0)  # repeated: last wins
    builder.add("nobody", "D2", "scored", 1)
    built = builder.build()
    assert built.dimensions == ("D2", "D10")
    assert builder.repeated == 1 and builder.unknown_items == 1
    assert np.isnan(built.values[0, 0]) and built.status[0, 0] == STATUS_NULL
    assert built.values[1, 0] == 0.0
    assert built.status[1, 1] == STATUS_MISSING

    fixed = ScoreMatrixBuilder(design, ["D1"])
    fixed.add("m|bare|0|0", "D9", "scored", 1)
    assert fixed.unknown_dimensions == {"D9"}
    assert fixed.build().dimensions == ("D1",)


def test_natural_dimension_order() -> None:
    assert natural_dimension_order(["D10", "D2", "D1"]) == ("D1", "D2", "D10")


def test_mean_of_coders_skips_missing_levels_and_keeps_the_best_status() -> None:
    a = ScoreMatrix(
        dimensions=("D1",),
        values=np.array([[2.0], [np.nan], [np.nan], [np.nan]]),
        status=np.array(
            [[STATUS_SCORED], [STATUS_NULL], [STATUS_UNSCORED], [STATUS_MISSING]], dtype=np.int8
        ),
    )
    b = ScoreMatrix(
        dimensions=("D1", "D2"),
        values=np.array([[1.0, 0.0], [1.0, 0.0], [np.nan, 0.0], [np.nan, 0.0]]),
        status=np.array([[0, 0], [0, 0], [STATUS_MISSING, 0], [STATUS_MISSING, 0]], dtype=np.int8),
    )
    mean = mean_of_coders([a, b])
    assert mean.dimensions == ("D1", "D2")
    assert mean.values[0, 0] == 1.5 and mean.values[1, 0] == 1.0
    assert np.isnan(mean.values[2, 0])
    assert list(mean.status[:, 0]) == [
        STATUS_SCORED,
        STATUS_SCORED,
        STATUS_UNSCORED,
        STATUS_MISSING,
    ]

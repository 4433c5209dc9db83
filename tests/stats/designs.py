"""Small crossed designs and score matrices for the statistics tests, and the level
distributions of the simulation checks (interval coverage, permutation test)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields

import numpy as np

from harness.rundir import KeyEntry
from harness.stats import Design, ScoreMatrix, index_key
from harness.stats.score_matrix import STATUS_NULL, STATUS_SCORED

# Level probabilities (0, 1, 2) per prompt type (easy, hard); prompts are easy or hard with
# probability 1/2, which makes replicates of a prompt correlated.
BASE = np.array([[0.1, 0.4, 0.5], [0.5, 0.3, 0.2]])
TREATED = np.array([[0.05, 0.3, 0.65], [0.3, 0.4, 0.3]])


def full_design(
    models: Sequence[str], scaffolds: Sequence[str], n_prompts: int, replicates: int
) -> Design:
    """A crossed design; item row = ((m * S + s) * P + p) * R + r."""
    entries = [
        KeyEntry(
            blind_id=f"{m}|{s}|{p}|{r}",
            cell_id=f"{m}|{s}|{p}|{r}",
            model=m,
            scaffold=s,
            prompt_id=f"p{p:03d}",
            replicate=r,
        )
        for m in models
        for s in scaffolds
        for p in range(n_prompts)
        for r in range(replicates)
    ]
    return index_key(entries, model_order=models, scaffold_order=scaffolds)


def crossed_design(
    n_models: int, scaffolds: Sequence[str], n_prompts: int, replicates: int
) -> Design:
    """A crossed design of many models built from arrays (no key entries, no blind ids), for
    simulations that treat every model as an independent study; rows ordered as
    ``full_design``'s."""
    shape = (n_models, len(scaffolds), n_prompts, replicates)
    model, scaffold, prompt, replicate = (
        axis.ravel().astype(np.int64) for axis in np.indices(shape)
    )
    return Design(
        models=tuple(f"m{m}" for m in range(n_models)),
        scaffolds=tuple(scaffolds),
        prompts=tuple(f"p{p:03d}" for p in range(n_prompts)),
        replicates=tuple(range(replicates)),
        model=model,
        scaffold=scaffold,
        prompt=prompt,
        replicate=replicate,
        row_of={},
    )


def matrix(
    values: Sequence[float | None] | np.ndarray, dims: tuple[str, ...] = ("D1",)
) -> ScoreMatrix:
    """Scores in item-row order (None is a null)."""
    array = np.array([np.nan if v is None else v for v in values], dtype=float).reshape(
        -1, len(dims)
    )
    status = np.where(np.isnan(array), STATUS_NULL, STATUS_SCORED).astype(np.int8)
    return ScoreMatrix(dimensions=dims, values=array, status=status)


def no_nan_fields(rows: Sequence[object]) -> None:
    """Every float field of every row is finite (None is fine)."""
    for row in rows:
        for f in fields(row):  # type: ignore[arg-type]
            value = getattr(row, f.name)
            if isinstance(value, float):
                assert math.isfinite(value), (row, f.name)


def expected_level(probs: np.ndarray) -> np.ndarray:
    """The mean level of each row of level probabilities."""
    levels: np.ndarray = probs @ np.array([0.0, 1.0, 2.0])
    return levels


def draw_levels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One level per row of ``probs`` (rows: items)."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(size=(probs.shape[0],))
    levels: np.ndarray = (u[:, None] > cumulative[:, :2]).sum(axis=1).astype(float)
    return levels

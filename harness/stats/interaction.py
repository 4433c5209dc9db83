"""The model x scaffold interaction test (does a scaffold's effect depend on the model?), Holm-
adjusted over every such test in a report. This module owns the permutation test, its p-values
and their notes; the join of scores with the key is ``score_matrix.py``'s, the pairing of each
scaffold with the baseline ``pairing.py``'s and the Holm arithmetic
``multiple_comparisons.py``'s. Like them it reads no file and draws nothing, and a test that
cannot be made is ``None`` with a ``note``, never NaN.

Method: under the null hypothesis "the scaffold's paired effect does not depend on the model",
the per-prompt blocks of paired differences are exchangeable between models within a prompt.
We permute model labels of those (model, prompt) blocks within each prompt and compare the
variance of the per-model mean effects with its permutation distribution. Permuting whole
blocks keeps the correlation of replicates of one model on one prompt; permuting model labels
rather than scaffold labels keeps a common (main) effect of the scaffold intact, so a scaffold
that helps every model equally is not mistaken for an interaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from harness.stats.bootstrap import WEIGHT_BLOCK_CELLS
from harness.stats.multiple_comparisons import holm_adjust
from harness.stats.pairing import paired_scores
from harness.stats.score_matrix import Design, ScoreMatrix

__all__ = ["InteractionRow", "interaction_tests"]

FloatArray = npt.NDArray[np.float64]

# Relative tolerance when counting permutation statistics >= the observed one: a permutation
# that reproduces the observed arrangement must count as "at least as extreme" despite
# floating-point summation order.
_TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class InteractionRow:
    """The model x scaffold interaction test for one scaffold (vs baseline) and dimension.

    ``statistic`` is the variance (population, unweighted) of the per-model mean effects;
    ``p_holm`` is Holm-adjusted over every test in the report.
    """

    scaffold: str
    baseline: str
    dimension: str
    n_models: int
    n_prompts: int
    statistic: float | None
    p_value: float | None
    p_holm: float | None
    n_perm: int
    effect_min: float | None
    effect_max: float | None
    model_min: str
    model_max: str
    note: str


def interaction_tests(
    design: Design,
    scores: ScoreMatrix,
    *,
    baseline: str,
    n_perm: int = 2000,
    seed: int = 0,
) -> list[InteractionRow]:
    """Per non-baseline scaffold and dimension: does the paired effect differ between models?

    Statistic: the variance across models of the per-model mean paired effect. Null
    distribution: model labels of the (model, prompt) blocks of paired differences are
    permuted within each prompt (``n_perm`` times, seeded). p-value:
    (1 + #{permuted >= observed}) / (1 + number of permutations). Models with no pair on a
    dimension are left out of that test. ``p_holm`` adjusts over all returned tests.

    Args:
        design: the integer-coded key; must contain ``baseline``.
        scores: the scores the profile uses.
        baseline: the reference scaffold.
        n_perm: permutations per test.
        seed: seed of the permutation RNG.

    Returns:
        Rows ordered by scaffold, dimension; empty if there is no other scaffold.
    """
    b = design.scaffolds.index(baseline)
    others = [s for s in range(len(design.scaffolds)) if s != b]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    rows: list[InteractionRow] = []
    for s in others:
        block_sum, block_count = paired_scores(design, scores, b, s).block_totals()
        rows.extend(
            _interaction_for_scaffold(
                design,
                scores.dimensions,
                design.scaffolds[s],
                baseline,
                block_sum,
                block_count,
                n_perm,
                rng,
            )
        )
    adjusted = holm_adjust([row.p_value for row in rows])
    return [replace(row, p_holm=p) for row, p in zip(rows, adjusted, strict=True)]


def _interaction_for_scaffold(
    design: Design,
    dimensions: tuple[str, ...],
    scaffold: str,
    baseline: str,
    block_sum: FloatArray,
    block_count: FloatArray,
    n_perm: int,
    rng: np.random.Generator,
) -> list[InteractionRow]:
    """Tests for every dimension of one scaffold; dimensions sharing the same set of models
    share permutations (each test is still exact; Holm allows the dependence)."""
    n_d = len(dimensions)
    present = block_count.sum(axis=1) > 0  # (models, dims)
    results: dict[int, InteractionRow] = {}
    groups: dict[tuple[int, ...], list[int]] = {}
    for d in range(n_d):
        groups.setdefault(tuple(np.flatnonzero(present[:, d]).tolist()), []).append(d)
    for models, dims in groups.items():
        idx = list(models)
        sums = block_sum[np.ix_(idx, range(block_sum.shape[1]), dims)]
        counts = block_count[np.ix_(idx, range(block_count.shape[1]), dims)]
        effects = sums.sum(axis=1) / np.maximum(counts.sum(axis=1), 1)  # (models, dims)
        n_prompts = (counts.sum(axis=0) > 0).sum(axis=0)  # per dim
        observed = effects.var(axis=0) if len(idx) >= 2 else np.zeros(len(dims))
        permuted = (
            _permuted_variances(sums, counts, n_perm, rng) if len(idx) >= 2 and n_perm > 0 else None
        )
        for j, d in enumerate(dims):
            results[d] = _interaction_row(
                design,
                scaffold,
                baseline,
                dimensions[d],
                idx,
                effects[:, j],
                int(n_prompts[j]),
                float(observed[j]),
                None if permuted is None else permuted[:, j],
                n_perm,
            )
    return [results[d] for d in range(n_d)]


def _permuted_variances(
    sums: FloatArray, counts: FloatArray, n_perm: int, rng: np.random.Generator
) -> FloatArray:
    """(n_perm, dims) variances of per-model effects after permuting model labels of the
    (model, prompt) blocks within each prompt. ``sums``/``counts``: (models, prompts, dims)."""
    n_models, n_prompts, n_dims = sums.shape
    stacked = np.concatenate([sums, counts], axis=2)  # (models, prompts, 2 * dims)
    out = np.full((n_perm, n_dims), np.nan)
    block = max(1, WEIGHT_BLOCK_CELLS // max(n_prompts * n_models, 1))
    for start in range(0, n_perm, block):
        size = min(block, n_perm - start)
        # source[b, p, j]: which model's block label j receives at prompt p in permutation b.
        source = rng.permuted(
            np.broadcast_to(np.arange(n_models), (size, n_prompts, n_models)), axis=2
        )
        totals = np.zeros((size, n_models, 2 * n_dims))
        for j in range(n_models):
            for i in range(n_models):
                mask = (source[:, :, j] == i).astype(np.float64)  # (size, prompts)
                totals[:, j, :] += mask @ stacked[i]
        permuted_sum, permuted_count = totals[:, :, :n_dims], totals[:, :, n_dims:]
        with np.errstate(invalid="ignore", divide="ignore"):
            effects = permuted_sum / permuted_count
        # A permutation that leaves some model without pairs has no statistic.
        variance = effects.var(axis=1)
        variance[(permuted_count == 0).any(axis=1)] = np.nan
        out[start : start + size] = variance
    return out


def _interaction_row(
    design: Design,
    scaffold: str,
    baseline: str,
    dimension: str,
    model_index: list[int],
    effects: FloatArray,
    n_prompts: int,
    observed: float,
    permuted: FloatArray | None,
    n_perm: int,
) -> InteractionRow:
    n_models = len(model_index)
    untested = InteractionRow(
        scaffold=scaffold,
        baseline=baseline,
        dimension=dimension,
        n_models=n_models,
        n_prompts=n_prompts,
        statistic=None,
        p_value=None,
        p_holm=None,
        n_perm=0,
        effect_min=None,
        effect_max=None,
        model_min="",
        model_max="",
        note="",
    )
    if len(design.models) < 2:
        return replace(untested, note="not estimable: single model in this run")
    if n_models < 2:
        return replace(
            untested,
            note="not estimable: fewer than 2 models have paired scores on this dimension",
        )
    lowest, highest = int(np.argmin(effects)), int(np.argmax(effects))
    notes: list[str] = []
    if n_models < len(design.models):
        notes.append(f"{len(design.models) - n_models} model(s) without paired scores left out")
    p_value: float | None = None
    used = 0
    if permuted is None or n_perm == 0:
        notes.append("not tested: n_perm is 0")
    else:
        valid = permuted[~np.isnan(permuted)]
        used = int(valid.size)
        if used == 0:
            notes.append("not estimable: no permutation left every model with pairs")
        else:
            threshold = observed - _TIE_TOLERANCE * max(1.0, abs(observed))
            p_value = float((1 + (valid >= threshold).sum()) / (1 + used))
            if used < n_perm:
                notes.append(f"{n_perm - used} permutations left a model without pairs")
        if observed == 0.0:
            notes.append("per-model effects identical: no evidence of model-dependence")
        if n_prompts < 5:
            notes.append(f"only {n_prompts} prompts: few distinct permutations, low power")
    return replace(
        untested,
        statistic=observed,
        p_value=p_value,
        n_perm=used,
        effect_min=float(effects[lowest]),
        effect_max=float(effects[highest]),
        model_min=design.models[model_index[lowest]],
        model_max=design.models[model_index[highest]],
        note="; ".join(notes),
    )


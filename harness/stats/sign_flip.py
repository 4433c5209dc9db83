"""The paired sign-flip test over prompts that gives every scaffold effect its p-value.

Why a sign-flip test, and over prompts: under the null hypothesis that a scaffold changes
nothing, the two scaffolds' labels are exchangeable on each prompt, so a prompt's total of
paired differences (scaffold minus baseline, over its replicates) is as likely to carry one
sign as the other. Flipping whole prompts, not single pairs, keeps the dependence between
replicates of a prompt (they share it), which is also why the effect's interval treats prompts
as the units. The statistic is the sum of the prompt totals, i.e. the effect times the number of
pairs, so the test is about the same pooled estimate the report shows; it is two-sided
(|flipped sum| >= |observed sum|). With at most ``MAX_EXACT_PROMPTS`` prompts every sign
pattern is enumerated and the p-value is exact (the share of the 2^G patterns at least as
extreme, the observed one included), which ``tests/stats/test_sign_flip.py`` checks against
``scipy.stats.permutation_test`` (``permutation_type="samples"``); with more prompts, random
patterns (seeded) and p = (1 + at least as extreme) / (1 + patterns). The test needs only that
a prompt's total is symmetric about 0 under the null (Fisher's randomisation argument; see
Canay, Romano and Shaikh (2017), "Randomization tests under an approximate symmetry
assumption", Econometrica 85(3), for its use with few clusters). With G prompts the smallest
possible p-value is 2 / 2^G: 0.0625 at 5 prompts, so no effect on 5 or fewer prompts can pass
0.05, which is stated rather than hidden (``smallest_p_value``).

Why not a bootstrap p-value: the percentile cluster bootstrap is too narrow with few prompts
(see ``intervals.py``), and a p-value read off it inherits that. This module tests only; the
intervals are ``intervals.py``'s and the adjustment over the effect table is
``multiple_comparisons.py``'s.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from harness.stats.bootstrap import WEIGHT_BLOCK_CELLS

__all__ = [
    "MAX_EXACT_PROMPTS",
    "RANDOM_PATTERNS",
    "sign_flip_p_values",
    "smallest_p_value",
]

FloatArray = npt.NDArray[np.float64]

MAX_EXACT_PROMPTS = 16
"""Up to this many prompts every sign pattern is enumerated (2^16 = 65,536)."""

RANDOM_PATTERNS = 2**16
"""Random sign patterns per test beyond ``MAX_EXACT_PROMPTS`` prompts."""

# Relative tolerance when counting flipped sums at least as extreme as the observed one: the
# identity pattern must count despite floating-point summation order.
_TIE_TOLERANCE = 1e-9


def sign_flip_p_values(
    totals: FloatArray,
    rng: np.random.Generator,
    *,
    n_random: int = RANDOM_PATTERNS,
    max_exact_prompts: int = MAX_EXACT_PROMPTS,
) -> FloatArray:
    """Two-sided sign-flip p-values, one per column, flipping prompts.

    Args:
        totals: (prompts, tests) per-prompt sums of paired differences (0 where a prompt has
            no pair).
        rng: seeded generator (used only beyond ``max_exact_prompts`` prompts).
        n_random: random patterns per test beyond ``max_exact_prompts`` prompts.
        max_exact_prompts: enumerate every pattern up to this many prompts.

    Returns:
        (tests,) p-values in (0, 1]; a column of zeros (no difference anywhere) gets 1.
    """
    n_prompts, n_tests = totals.shape
    observed = np.abs(totals.sum(axis=0))
    threshold = observed - _TIE_TOLERANCE * np.maximum(1.0, observed)
    exact = n_prompts <= max_exact_prompts
    n_patterns = 2**n_prompts if exact else n_random
    block = max(1, WEIGHT_BLOCK_CELLS // max(n_tests, n_prompts, 1))
    extreme = np.zeros(n_tests)
    for start in range(0, n_patterns, block):
        size = min(block, n_patterns - start)
        if exact:
            codes = np.arange(start, start + size, dtype=np.int64)[:, None]
            bits = (codes >> np.arange(n_prompts, dtype=np.int64)) & 1
        else:
            bits = rng.integers(0, 2, size=(size, n_prompts))
        signs = (1 - 2 * bits).astype(np.float64)
        extreme += (np.abs(signs @ totals) >= threshold).sum(axis=0)
    if exact:
        return extreme / n_patterns
    return (1.0 + extreme) / (1.0 + n_patterns)


def smallest_p_value(n_prompts: int, *, n_random: int = RANDOM_PATTERNS) -> float:
    """The smallest p-value the test can give with ``n_prompts`` prompts carrying pairs.

    Exact: the observed pattern and its mirror image are always at least as extreme, so
    2 / 2^G; with random patterns, 1 / (1 + patterns).
    """
    if n_prompts <= MAX_EXACT_PROMPTS:
        return min(1.0, 2.0 / 2.0**n_prompts)
    return 1.0 / (1.0 + n_random)

"""Adjusting a family of p-values for multiple comparisons: Holm (family-wise error rate) and
Benjamini-Hochberg (false discovery rate).

The report's effect table is one family (every model x scaffold x dimension effect with a
p-value, ``report.adjust`` chooses the method) and its model-dependence tests another (always
Holm). Holm is written out here (a step-down Bonferroni: sort, multiply the i-th smallest of m
by m - i + 1, carry the running maximum, cap at 1; Holm (1979), Scand. J. Statist. 6(2)); BH is
``scipy.stats.false_discovery_control(method="bh")`` (Benjamini and Hochberg (1995), JRSS B
57(1)). Both are tested on hand-computed values. This module owns only the adjustment: which
tests form a family is the caller's choice, and a missing p-value (None) is no test and stays
None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats

__all__ = ["ADJUST_NAMES", "AdjustMethod", "adjust_p_values", "holm_adjust"]

AdjustMethod = Literal["holm", "bh"]
"""``holm``: Holm-Bonferroni; ``bh``: Benjamini-Hochberg."""

ADJUST_NAMES: dict[str, str] = {"holm": "Holm", "bh": "Benjamini-Hochberg"}
"""The method's name as the report writes it."""


def adjust_p_values(p_values: Sequence[float | None], method: AdjustMethod) -> list[float | None]:
    """Adjusted p-values in the input order (None stays None and does not count as a test).

    Args:
        p_values: the family's raw p-values.
        method: ``holm`` or ``bh``.
    """
    if method == "holm":
        return holm_adjust(p_values)
    present = [i for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    if present:
        raw = np.array([p_values[i] for i in present], dtype=np.float64)
        for i, value in zip(present, stats.false_discovery_control(raw, method="bh"), strict=True):
            adjusted[i] = float(value)
    return adjusted


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None and does not count as a test)."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    total = len(present)
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (total - rank) * p))
        adjusted[i] = running
    return adjusted

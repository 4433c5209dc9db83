"""How numbers become table cells, and the layout of the tidy CSVs (``profiles.csv``,
``effects.csv``, ``interaction.csv``). It owns the no-NaN rule of everything the report writes:
a value that could not be estimated (None, NaN, infinite) becomes an empty cell, never ``nan``;
and the digits and signs of means, intervals and p-values. It builds no section and writes no
file (``build.py`` writes).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

from harness.stats import EffectRow, InteractionRow, ProfileRow

__all__ = [
    "csv_bytes",
    "csv_files",
    "format_interval",
    "format_number",
    "format_p_value",
    "p_value_phrase",
]


def format_number(value: float | None, *, signed: bool = False, digits: int = 2) -> str:
    """A number with ``digits`` decimals (a ``+`` sign if ``signed``, no ``-0``); empty if
    None or not finite."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    zero = f"{0:.{digits}f}"
    return ("+" + zero if signed else zero) if text.lstrip("+-") == zero else text


def format_interval(low: float | None, high: float | None, *, signed: bool = False) -> str:
    """``[low, high]``, or empty when either bound is missing."""
    if low is None or high is None:
        return ""
    return f"[{format_number(low, signed=signed)}, {format_number(high, signed=signed)}]"


def p_value_phrase(value: float | None) -> str:
    """``p = 0.012`` or ``p < 0.001``."""
    text = format_p_value(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def format_p_value(value: float | None) -> str:
    """A p-value with 3 decimals, ``< 0.001`` below that; empty if None."""
    if value is None:
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """A tidy CSV under the no-NaN rule: empty cells for None or non-finite numbers, floats
    with at most 6 decimals, booleans as ``true``/``false``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_csv_value(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


_PROFILE_COLUMNS = (
    "model",
    "scaffold",
    "dimension",
    "coder",
    "n_items",
    "n",
    "count_0",
    "count_1",
    "count_2",
    "count_between",
    "count_null",
    "count_unscored",
    "coders_with_levels",
    "unscored_by_coder",
    "n_prompts",
    "mean",
    "ci_low",
    "ci_high",
    "note",
)
_EFFECT_COLUMNS = (
    "model",
    "scaffold",
    "baseline",
    "dimension",
    "coder",
    "n_pairs",
    "n_prompts",
    "n_pairs_missing",
    "missing_in_scaffold",
    "missing_in_baseline",
    "missing_null",
    "baseline_mean",
    "scaffold_mean",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "adjust",
    "p_adjusted",
    "equivalence_margin",
    "same_distribution",
    "label",
    "note",
)
_INTERACTION_COLUMNS = (
    "scaffold",
    "baseline",
    "dimension",
    "coder",
    "n_models",
    "n_prompts",
    "statistic",
    "p_value",
    "p_holm",
    "n_perm",
    "effect_min",
    "model_min",
    "effect_max",
    "model_max",
    "note",
)


_BY_CODER = ("coders_with_levels", "unscored_by_coder")


def _by_coder(row: object, column: str) -> str:
    """A ``profiles.csv`` cell made of a row's per-coder counts."""
    assert isinstance(row, ProfileRow)
    if column == "coders_with_levels":
        return ";".join(c.coder for c in row.by_coder if c.n)
    return ";".join(f"{c.coder}={c.count_unscored}" for c in row.by_coder)


def csv_files(
    coder: str,
    profiles: Sequence[ProfileRow],
    effects: Sequence[EffectRow],
    interactions: Sequence[InteractionRow],
) -> dict[str, bytes]:
    """The tidy CSVs by file name: one row per profile cell, effect and interaction test.

    ``effects.csv`` carries everything its ``label`` is decided from: the interval
    (``ci_low``, ``ci_high``), the sign-flip ``p_value``, its adjustment ``adjust`` (``holm`` or
    ``bh``) over every effect with a p-value (``p_adjusted``), the ``equivalence_margin``, and
    the pairs left out because only one scaffold had a level (``n_pairs_missing``, split into
    ``missing_in_scaffold``/``missing_in_baseline``, with ``missing_null`` of them coded null).

    ``profiles.csv``'s ``count_null`` and ``count_unscored`` count items that no coder gave a
    level; ``coders_with_levels`` names the coders that gave a level to some item of the cell
    (``;``-separated) and ``unscored_by_coder`` each coder's own unscored (or missing) items
    there (``name=count;...``), so a coder that adds nothing to a judges' mean shows.

    Args:
        coder: the label of the scores used, written in every row's ``coder`` column.
        profiles, effects, interactions: the rows, in report order.
    """

    def table(records: Sequence[object], columns: Sequence[str]) -> bytes:
        rows = [[coder if c == "coder" else _by_coder(r, c) if c in _BY_CODER else getattr(r, c)
                 for c in columns] for r in records]
        return csv_bytes(columns, rows)

    return {
        "profiles.csv": table(profiles, _PROFILE_COLUMNS),
        "effects.csv": table(effects, _EFFECT_COLUMNS),
        "interaction.csv": table(interactions, _INTERACTION_COLUMNS),
    }

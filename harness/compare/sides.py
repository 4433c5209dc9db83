"""The sides of a comparison: each run's report numbers (``harness.report.analyse_run``), the
columns of the side-by-side (one per run and model, labelled ``run:model`` when a model name
occurs in two runs), and the tidy CSVs ``profiles.csv`` and ``effects.csv``.

Columns of ``profiles.csv`` (one row per run x model x scaffold x dimension): ``run``,
``model``, ``model_label`` (the column's name in compare.md), ``scaffold``, ``dimension``,
``coder`` (whose scores: a coder name, ``judges-mean`` or ``adjudicated``), ``simulated``
(``true`` for xstress's simulated models), ``protocol_hash``, ``n_items``, ``n`` (levels
scored), ``count_0``/``count_1``/``count_2``, ``count_between`` (between levels: a judges'
mean), ``count_null``, ``count_unscored``, ``n_prompts``,
``mean``, ``ci_low``, ``ci_high`` (95% prompt-cluster t interval), ``note``.

Columns of ``effects.csv`` (one row per run x model x scaffold x dimension, scaffold vs the
baseline): ``run``, ``model``, ``model_label``, ``scaffold``, ``baseline``, ``dimension``,
``coder``, ``simulated``, ``protocol_hash``, ``n_pairs``, ``n_prompts``, ``n_pairs_missing``,
``baseline_mean``, ``scaffold_mean``, ``effect``, ``ci_low``, ``ci_high``, ``p_value``,
``adjust``, ``p_adjusted`` (adjusted over the effects of that run's own table), ``label``,
``note``. An empty cell is an estimate that could not be made (the note says why).

This module computes no statistic (the report's machinery does) and words no document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from harness.report import ReportContext, csv_bytes
from harness.stats import EffectRow, ProfileRow

__all__ = ["EFFECT_COLUMNS", "PROFILE_COLUMNS", "Column", "Side", "columns", "csv_tables"]

PROFILE_COLUMNS = (
    "run", "model", "model_label", "scaffold", "dimension", "coder", "simulated",
    "protocol_hash", "n_items", "n", "count_0", "count_1", "count_2", "count_between",
    "count_null", "count_unscored", "n_prompts", "mean", "ci_low", "ci_high", "note",
)
EFFECT_COLUMNS = (
    "run", "model", "model_label", "scaffold", "baseline", "dimension", "coder", "simulated",
    "protocol_hash", "n_pairs", "n_prompts", "n_pairs_missing", "baseline_mean",
    "scaffold_mean", "effect", "ci_low", "ci_high", "p_value", "adjust", "p_adjusted",
    "label", "note",
)
_SIDE_FIELDS = {"run", "model_label", "coder", "simulated", "protocol_hash"}


@dataclass(frozen=True)
class Side:
    """One run of the comparison, analysed as its report analyses it."""

    name: str
    """The run's name in the comparison (its folder's name)."""
    protocol_hash: str
    context: ReportContext
    """The run's report numbers: profiles, effects, coder, facts (no interaction tests)."""
    coder_source: str
    """Where the coder choice came from, in words (the command line, the run's settings)."""

    @property
    def simulated(self) -> bool:
        """The run used xstress's simulated models."""
        return self.context.facts.simulated


@dataclass(frozen=True)
class Column:
    """One model of one run: a column of the side-by-side tables."""

    side: Side
    model: str
    label: str
    """``model``, or ``run:model`` when the model name occurs in more than one run."""

    def profiles(self) -> dict[tuple[str, str], ProfileRow]:
        """(scaffold, dimension) -> this model's profile row."""
        return {(r.scaffold, r.dimension): r for r in self.side.context.profiles
                if r.model == self.model}

    def effects(self) -> dict[tuple[str, str], EffectRow]:
        """(scaffold, dimension) -> this model's effect row."""
        return {(e.scaffold, e.dimension): e for e in self.side.context.effects
                if e.model == self.model}


def columns(sides: Sequence[Side]) -> list[Column]:
    """One column per run and model, in the runs' order and each run's model order."""
    runs_of = Counter(model for side in sides for model in dict.fromkeys(
        side.context.design.models))
    return [Column(side, model, f"{side.name}:{model}" if runs_of[model] > 1 else model)
            for side in sides for model in side.context.design.models]


def _row(column: Column, record: object, names: Sequence[str]) -> list[object]:
    side_values: dict[str, object] = {
        "run": column.side.name, "model_label": column.label,
        "coder": column.side.context.coder_label, "simulated": column.side.simulated,
        "protocol_hash": column.side.protocol_hash,
    }
    return [side_values[n] if n in _SIDE_FIELDS else getattr(record, n) for n in names]


def csv_tables(table_columns: Sequence[Column]) -> dict[str, bytes]:
    """``profiles.csv`` and ``effects.csv`` (the module docstring lists their columns)."""
    profiles = [_row(c, r, PROFILE_COLUMNS) for c in table_columns
                for r in c.side.context.profiles if r.model == c.model]
    effects = [_row(c, e, EFFECT_COLUMNS) for c in table_columns
               for e in c.side.context.effects if e.model == c.model]
    return {"profiles.csv": csv_bytes(PROFILE_COLUMNS, profiles),
            "effects.csv": csv_bytes(EFFECT_COLUMNS, effects)}

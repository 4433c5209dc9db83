"""What calibrating a judge writes: how often it gave the level a known-answer set intended.

``xstress calibrate JUDGE`` codes a calibration set (conversations written to deserve a stated
level on some dimensions) with one judge and compares. The result, one
:class:`CalibrationResult`, lands in ``calibration/<judge>.json`` at the project root; the
score stage copies it into a run as ``scores/calibration/<judge>.json`` when the run's scores
were made with the same judge config and rubric (their hashes match), and the report cites it
from there. This module owns the file's shape; computing the figures is
``harness.calibrate``'s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.rundir.records.base import Record, StrictRecord

__all__ = [
    "CONFUSION_COLUMNS",
    "CalibrationFigures",
    "CalibrationMiss",
    "CalibrationResult",
]

CONFUSION_COLUMNS = ("0", "1", "2", "null", "unscored")
"""Columns of a calibration confusion matrix: the level given, or no level (and why)."""


class CalibrationFigures(StrictRecord):
    """How a judge did on one dimension's pairs (or on every pair, ``dimension: all``)."""

    dimension: str
    """The rubric dimension (``D1`` ...), or ``all`` for every pair pooled."""
    n_pairs: int = Field(ge=0)
    """(item, dimension) pairs with an intended level."""
    n_coded: int = Field(ge=0)
    """Pairs the judge gave a level (0, 1 or 2)."""
    n_null: int = Field(ge=0)
    """Pairs the judge called not applicable or not scorable (null with a reason)."""
    n_unscored: int = Field(ge=0)
    """Pairs the judge failed on (an unusable reply, a failed call, no record)."""
    n_correct: int = Field(ge=0)
    """Pairs given exactly the intended level."""
    accuracy: float | None
    """``n_correct / n_pairs``: a null or unscored pair counts as a miss. Null without
    pairs."""
    accuracy_coded: float | None
    """``n_correct / n_coded``: accuracy where the judge gave a level. Null when it gave
    none."""
    kappa_quadratic: float | None
    """Quadratic-weighted Cohen's kappa between intended and given levels over the coded
    pairs; null when it cannot be estimated (``kappa_note`` says why)."""
    kappa_ci_low: float | None
    """Lower end of its 95% percentile bootstrap interval, resampling items."""
    kappa_ci_high: float | None
    """Upper end of that interval."""
    kappa_note: str = ""
    """Why kappa or its interval is missing, if it is."""
    confusion: list[list[int]]
    """``confusion[i][j]``: pairs intended at level ``i`` (rows 0, 1, 2) that got column ``j``
    of ``CONFUSION_COLUMNS`` (level 0, 1, 2, null, unscored)."""

    @model_validator(mode="after")
    def _counts_add_up(self) -> CalibrationFigures:
        if self.n_coded + self.n_null + self.n_unscored != self.n_pairs:
            raise ValueError("n_coded + n_null + n_unscored must equal n_pairs")
        if self.n_correct > self.n_coded:
            raise ValueError("n_correct cannot exceed n_coded")
        shape = [len(row) for row in self.confusion]
        if shape != [len(CONFUSION_COLUMNS)] * 3:
            raise ValueError(f"confusion must be 3 rows of {len(CONFUSION_COLUMNS)} counts")
        if sum(map(sum, self.confusion)) != self.n_pairs:
            raise ValueError("the confusion matrix must hold every pair")
        return self


class CalibrationMiss(StrictRecord):
    """One (item, dimension) pair the judge did not give the intended level."""

    item_id: str
    """The calibration item's id."""
    dimension: str
    """The rubric dimension."""
    case: str
    """What the item is written to test (its ``case``), e.g. ``wrong but well formatted``."""
    intended: int = Field(ge=0, le=2)
    """The level the item was written to deserve."""
    status: Literal["scored", "null", "unscored"]
    """What the judge did: gave a level, gave null, or failed."""
    given: int | None = Field(default=None, ge=0, le=2)
    """The level given, for ``scored``."""
    reason: str | None = None
    """The judge's reason for a null or the failure, when not scored."""


class CalibrationResult(Record):
    """``calibration/<judge>.json`` (schema ``xstress.calibration/1``)."""

    schema_: Literal["xstress.calibration/1"] = Field(
        default="xstress.calibration/1", alias="schema"
    )
    """Record kind and version."""
    judge: str
    """The judge's config name (``configs/judges/<judge>.yaml``)."""
    judge_kind: Literal["llm_judge", "heuristic"]
    """What kind of judge."""
    judge_hash: str
    """Content hash of the judge config as coded (the ``coder_hash`` its scores carry): a
    run's scores are covered by this result only when they carry the same hash."""
    rubric: str
    """The rubric's name."""
    rubric_hash: str
    """Content hash of the rubric coded on (the scores' ``rubric_hash``)."""
    calibration_set: str
    """The calibration set's name (``configs/calibration/<name>/``)."""
    calibration_set_hash: str
    """Content hash of the whole set as loaded (every item, message and intended level)."""
    prompt_set: str
    """The prompt set whose scenarios the set replays."""
    n_items: int = Field(ge=0)
    """Calibration items coded."""
    n_pairs: int = Field(ge=0)
    """(item, dimension) pairs with an intended level."""
    n_boot: int = Field(ge=1)
    """Bootstrap resamples behind each kappa interval."""
    seed: int
    """Seed of the bootstrap's random generator (the figures are reproducible)."""
    confusion_columns: list[str] = Field(default_factory=lambda: list(CONFUSION_COLUMNS))
    """The columns of every ``confusion`` matrix, in order."""
    dimensions: list[CalibrationFigures]
    """One entry per dimension that has pairs, in rubric order."""
    overall: CalibrationFigures
    """Every pair pooled (``dimension: all``)."""
    wrong: list[CalibrationMiss]
    """Every pair not given its intended level, in set order."""
    ran_at: str
    """ISO time the calibration was computed (UTC)."""

    def figures(self, dimension: str) -> CalibrationFigures | None:
        """The figures of one dimension, or None when the set has no pair on it."""
        return next((f for f in self.dimensions if f.dimension == dimension), None)

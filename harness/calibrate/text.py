"""A calibration result in words: the per-dimension table ``xstress calibrate`` prints, and the
one line the score stage prints beside a judge's scores.

This module formats only; the figures are ``compare.py``'s and the report words its own
section from the copy in the run directory.
"""

from __future__ import annotations

from harness.rundir import CalibrationFigures, CalibrationMiss, CalibrationResult

__all__ = ["accuracy_line", "calibration_table"]

SHOWN_MISSES = 15
"""Wrong pairs listed on the terminal; the result file lists them all."""


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _kappa(figures: CalibrationFigures) -> str:
    if figures.kappa_quadratic is None:
        return "n/a"
    if figures.kappa_ci_low is None or figures.kappa_ci_high is None:
        return f"{figures.kappa_quadratic:.2f}"
    return (f"{figures.kappa_quadratic:.2f} [{figures.kappa_ci_low:.2f}, "
            f"{figures.kappa_ci_high:.2f}]")


def accuracy_line(result: CalibrationResult) -> str:
    """``heuristic: calibration accuracy D1 0.62, D2 0.50 ... (stress15, 162 pairs)``."""
    per_dimension = ", ".join(f"{f.dimension} {_number(f.accuracy)}" for f in result.dimensions)
    return (f"{result.judge}: calibration accuracy {per_dimension} ({result.calibration_set}, "
            f"{result.n_pairs} pairs)")


def calibration_table(result: CalibrationResult) -> str:
    """The figures per dimension and overall, then the first wrong pairs."""
    header = ("dimension", "pairs", "coded", "null", "unscored", "accuracy", "acc. coded",
              "kappa (quadratic) [95% CI]")
    rows = [(f.dimension, str(f.n_pairs), str(f.n_coded), str(f.n_null), str(f.n_unscored),
             _number(f.accuracy), _number(f.accuracy_coded), _kappa(f))
            for f in (*result.dimensions, result.overall)]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        f"{result.judge} ({result.judge_kind}) on calibration set {result.calibration_set}: "
        f"{result.n_items} items, {result.n_pairs} pairs; judge config "
        f"{result.judge_hash[:12]}, rubric {result.rubric} {result.rubric_hash[:12]}",
        "accuracy counts a null or unscored pair as a miss; acc. coded only where a level was "
        f"given; kappa interval: {result.n_boot} bootstrap resamples of items",
        "",
        *("  ".join(cell.rjust(w) if i else cell.ljust(w)
                    for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
          for row in (header, *rows)),
    ]
    notes = [f"{f.dimension}: {f.kappa_note}" for f in (*result.dimensions, result.overall)
             if f.kappa_note]
    if notes:
        lines += ["", "kappa notes:", *(f"  {note}" for note in notes)]
    lines += ["", f"wrong: {len(result.wrong)} of {result.n_pairs} pairs (item, dimension: "
                  "intended -> given, case)"]
    lines += [f"  {_miss(miss)}" for miss in result.wrong[:SHOWN_MISSES]]
    if len(result.wrong) > SHOWN_MISSES:
        lines.append(f"  ... and {len(result.wrong) - SHOWN_MISSES} more in the result file")
    return "\n".join(lines)


def _miss(miss: CalibrationMiss) -> str:
    given = str(miss.given) if miss.status == "scored" else miss.status
    case = f" ({miss.case})" if miss.case else ""
    return f"{miss.item_id} {miss.dimension}: {miss.intended} -> {given}{case}"

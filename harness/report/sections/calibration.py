"""The report's section on coder calibration: for every coder whose scores the report uses, how
often it gave the intended level on a known-answer calibration set, or that it is not
calibrated and how to calibrate it.

The figures come from the run directory only: ``scores/calibration/<coder>.json``, a
``CalibrationResult`` the score stage copied in. They are cited only when they cover the
scores, i.e. when every score of the coder carries the result's judge hash and rubric hash
(the same judge config, prompt template included, and rubric); a result measured on another
config is named as such and not cited. This module reads that one kind of file (through
``read_json``) and words it; it computes no figure (``harness.calibrate`` does, and the
report never imports it).
"""

from __future__ import annotations

from harness.errors import InputError
from harness.report.blocks import Block, Heading, Paragraph, Table
from harness.report.coders import CoderFile
from harness.report.context import ReportContext
from harness.report.tables import format_interval, format_number
from harness.rundir import CalibrationFigures, CalibrationResult, read_json

__all__ = ["calibration_section"]


def calibration_section(ctx: ReportContext) -> list[Block]:
    """Per coder (those the profiles use first, then the others that coded the run): its
    calibration figures per dimension, or why there are none."""
    blocks: list[Block] = [
        Heading(2, "Coder calibration"),
        Paragraph(
            "How far each coder of this run can be trusted (the ones behind the profiles first), "
            "measured on a known-answer "
            "calibration set: conversations written to deserve a stated level on a dimension, "
            "coded by the judge as it codes a run (xstress calibrate). Accuracy counts a null or "
            "unscored pair as a miss (the coded column counts only pairs given a level); kappa "
            "is quadratic-weighted against the intended levels, with a 95% bootstrap interval "
            "over items. Figures are cited only when they were measured with the judge config "
            "and rubric (content hashes) the scores were made with."
        ),
    ]
    used = [coder.name for coder in ctx.coders_used]
    for coder in [*ctx.coders_used,
                  *(c for name, c in sorted(ctx.coders.items()) if name not in used)]:
        blocks += _coder_blocks(ctx, coder)
    return blocks


def _coder_blocks(ctx: ReportContext, coder: CoderFile) -> list[Block]:
    run = ctx.run_dir.root
    how = (f"To calibrate it: xstress calibrate {coder.name}, then xstress score {run} (which "
           f"copies the figures into the run when they match its scores) and xstress report "
           f"{run}.")
    if "human" in coder.kinds:
        return [Paragraph(f"{coder.name} (human coder): not calibrated. xstress calibrate "
                          "measures the judges of configs/judges/, not people; this coder's "
                          "agreement with the others is under Coders and agreement.")]
    path = ctx.run_dir.calibration(coder.name)
    if not path.is_file():
        return [Paragraph(f"{coder.name} ({coder.kind}): not calibrated (no "
                          f"scores/calibration/{path.name} in this run). {how}")]
    try:
        result = read_json(path, CalibrationResult, fix=f"rerun xstress score {run}")
    except InputError as exc:
        return [Paragraph(f"{coder.name} ({coder.kind}): not calibrated "
                          f"({exc.message}). {how}")]
    if coder.coder_hashes != {result.judge_hash} or coder.rubric_hashes != {result.rubric_hash}:
        return [Paragraph(
            f"{coder.name} ({coder.kind}): not calibrated for these scores: the calibration in "
            f"scores/calibration/{path.name} measured judge config {result.judge_hash[:12]} on "
            f"rubric {result.rubric_hash[:12]}, the scores were made with "
            f"{_hashes(coder.coder_hashes)} on {_hashes(coder.rubric_hashes)}. {how}")]
    overall = result.overall
    return [
        Paragraph(
            f"{coder.name} ({coder.kind}): calibrated on set {result.calibration_set} "
            f"({result.n_items} items, {result.n_pairs} pairs; judge config "
            f"{result.judge_hash[:12]}, rubric {result.rubric}; measured {result.ran_at}). "
            f"Over every pair: accuracy {_number(overall.accuracy)} "
            f"({_number(overall.accuracy_coded)} where it gave a level), kappa "
            f"{_kappa(overall)}. {len(result.wrong)} pairs got another level, null or no score."
        ),
        Table(
            ("dimension", "name", "pairs", "coded", "null", "unscored", "accuracy",
             "accuracy (coded)", "kappa (quadratic)", "95% CI", "note"),
            tuple(_row(ctx, figures) for figures in (*result.dimensions, overall)),
        ),
    ]


def _row(ctx: ReportContext, figures: CalibrationFigures) -> tuple[str, ...]:
    return (
        figures.dimension,
        ctx.dimension_names.get(figures.dimension,
                                "every pair" if figures.dimension == "all" else ""),
        str(figures.n_pairs),
        str(figures.n_coded),
        str(figures.n_null),
        str(figures.n_unscored),
        format_number(figures.accuracy),
        format_number(figures.accuracy_coded),
        format_number(figures.kappa_quadratic),
        format_interval(figures.kappa_ci_low, figures.kappa_ci_high),
        figures.kappa_note,
    )


def _number(value: float | None) -> str:
    return format_number(value) or "n/a"


def _kappa(figures: CalibrationFigures) -> str:
    interval = format_interval(figures.kappa_ci_low, figures.kappa_ci_high)
    return f"{_number(figures.kappa_quadratic)}" + (f" {interval}" if interval else "")


def _hashes(hashes: set[str]) -> str:
    return ", ".join(sorted(h[:12] for h in hashes)) or "no recorded hash"

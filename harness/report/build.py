"""The report stage: read a run directory, unblind the scores, and write what researchers
publish from: ``report/report.md``, a self-contained ``report/report.html`` (plots embedded
as data URIs), the figures as PNG files, and tidy CSVs (``profiles.csv``, ``effects.csv``,
``interaction.csv``).

This module owns the entry point ``build_report`` (checking its arguments; the analysis is
``analysis.py``'s), the order of the document's sections, and writing the files. Reading the run
directory is ``inputs.py``'s (the only module that reads ``blind/key.jsonl``) and choosing and
reading the coder's scores ``coders.py``'s; the run's facts are ``context.py``'s; the sections
are ``sections/``'s (``results.py``, ``audit.py``, ``calibration.py``, ``methods.py``);
rendering is ``blocks.py``'s (Markdown), ``html.py``'s and ``tables.py``'s (numbers and CSVs,
and the rule that no file shows NaN). The statistics are ``harness.stats``'s, the figures
``plots.py``'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.report.analysis import analyse_run
from harness.report.blocks import Block, Bullets, Heading, render_markdown
from harness.report.context import ReportContext
from harness.report.html import render_html
from harness.report.sections.audit import accounting_section, blinding_section, coding_section
from harness.report.sections.calibration import calibration_section
from harness.report.sections.effects import effects_section
from harness.report.sections.methods import methods_section, reporting_template_section
from harness.report.sections.paper import paper_section
from harness.report.sections.results import (
    findings_section,
    header_section,
    interaction_section,
    profiles_section,
)
from harness.report.tables import csv_files
from harness.rundir import write_bytes_atomic
from harness.schema import RubricSpec
from harness.stats import ADJUST_NAMES, AdjustMethod

__all__ = ["ReportSummary", "build_report"]


@dataclass(frozen=True)
class ReportSummary:
    """What ``build_report`` wrote and the facts a terminal summary needs.

    Attributes:
        report_md, report_html: the report.
        csvs: the tidy CSVs written (profiles, effects, interaction).
        images: the PNG figures written.
        coder: which scores the profile used (a coder name, ``judges-mean``, ``adjudicated``).
        simulated: the run used simulated models.
        heuristic_only: every score the profile used came from the heuristic coder.
        warnings: data problems found while reading (also listed in the report).
        text: a few lines for the terminal.
    """

    report_md: Path
    report_html: Path
    csvs: tuple[Path, ...]
    images: tuple[Path, ...]
    coder: str
    simulated: bool
    heuristic_only: bool
    warnings: tuple[str, ...]
    text: str

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written."""
        return (self.report_md, self.report_html, *self.csvs, *self.images)


# =========================================================================== the public entry


def build_report(
    run_dir: Path,
    *,
    baseline: str = "bare",
    coder: str | None = None,
    n_perm: int = 2000,
    seed: int = 0,
    rubric: RubricSpec | None = None,
    equivalence_margin: float = 0.25,
    adjust: AdjustMethod = "holm",
) -> ReportSummary:
    """Unblind a run's scores and write its report (md, html, PNGs, CSVs) under ``report/``.

    Args:
        run_dir: the run directory (``transcripts/<run_name>``).
        baseline: the scaffold that effects are measured against.
        coder: which scores the profile uses: a coder name (a ``scores/<name>.jsonl`` stem),
            ``"judges-mean"`` or ``"adjudicated"``. Default: the only coder; else the only
            human coder; else the judges' mean; else ``adjudicated`` if present.
        n_perm: permutations per interaction test.
        seed: seed of every resampling RNG (the report is reproducible).
        rubric: the rubric, for dimension names and order; default the one the run
            directory stores for the scores' rubric hash, else the manifest's rubric when the
            scores were made with it, else none (dimension ids only).
        equivalence_margin, adjust: the ``unchanged`` band (+/- levels); ``holm`` or ``bh``.

    Returns:
        The paths written, the simulated/heuristic flags, and a short text summary.

    Raises:
        InputError: no run directory, key or scores; an unknown coder or baseline; a damaged
            key, score file, transcript file or manifest.
        OutputError: ``report/`` cannot be written.
    """
    if n_perm < 0:
        raise InputError(
            f"n_perm must be >= 0 (got {n_perm})",
            fix="use the default (2000) or another number of permutations >= 0",
        )
    context = analyse_run(run_dir, baseline=baseline, coder=coder, n_perm=n_perm, seed=seed,
                          rubric=rubric, equivalence_margin=equivalence_margin, adjust=adjust)
    return _write_report(context)


def _document(ctx: ReportContext, figures: dict[str, bytes]) -> list[Block]:
    blocks = header_section(ctx)
    blocks += findings_section(ctx)
    blocks += profiles_section(ctx, figures)
    blocks += effects_section(ctx, figures)
    blocks += interaction_section(ctx)
    blocks += paper_section(ctx)
    blocks += coding_section(ctx)
    blocks += calibration_section(ctx)
    blocks += blinding_section(ctx)
    blocks += accounting_section(ctx)
    blocks += methods_section(ctx)
    blocks += reporting_template_section(ctx)
    blocks += [
        Heading(2, "Files"),
        Bullets(
            (
                "profiles.csv: one row per model x scaffold x dimension (counts, mean, CI, note)",
                "effects.csv: one row per model x scaffold x dimension vs the baseline",
                "interaction.csv: one row per scaffold x dimension (permutation test)",
                "agreement.csv: written by xstress agree",
                "Empty values in the CSVs are estimates that could not be made; the note says why.",
            )
        ),
    ]
    return blocks


def _write_report(ctx: ReportContext) -> ReportSummary:
    figures: dict[str, bytes] = {}
    blocks = _document(ctx, figures)
    title = f"xstress report: {ctx.facts.run_id}"
    markdown = render_markdown(blocks)
    page = render_html(blocks, title)
    written_images = []
    for name, png in figures.items():
        write_bytes_atomic(ctx.run_dir.report_file(name), png)
        written_images.append(ctx.run_dir.report_file(name))
    csvs = []
    for name, data in csv_files(
        ctx.coder_label, ctx.profiles, ctx.effects, ctx.interactions
    ).items():
        write_bytes_atomic(ctx.run_dir.report_file(name), data)
        csvs.append(ctx.run_dir.report_file(name))
    report_md = ctx.run_dir.report_file("report.md")
    report_html = ctx.run_dir.report_file("report.html")
    write_bytes_atomic(report_md, markdown.encode("utf-8"))
    write_bytes_atomic(report_html, page.encode("utf-8"))
    return ReportSummary(
        report_md=report_md,
        report_html=report_html,
        csvs=tuple(csvs),
        images=tuple(written_images),
        coder=ctx.coder_label,
        simulated=ctx.facts.simulated,
        heuristic_only=ctx.heuristic_only,
        warnings=tuple(ctx.warnings),
        text=_terminal_text(ctx, report_html),
    )


def _terminal_text(ctx: ReportContext, report_html: Path) -> str:
    lines = []
    if ctx.facts.simulated:
        lines.append("SIMULATED MODELS (a model-dependent scaffold effect by construction): "
                     "this report describes no real model.")
    if ctx.simulated_judge_only:
        lines.append("SIMULATED JUDGE: scores read the simulated replies by construction.")
    if ctx.heuristic_only:
        lines.append("FORMAT CHECK ONLY (heuristic): scores are a pipeline check, not a "
                     "measurement.")
    lines.append(
        f"Report: {report_html} (also report.md, profiles.csv, "
        "effects.csv, interaction.csv)"
    )
    lines.append(
        f"Scores used: {ctx.coder_label} ({ctx.coder_reason}); "
        f"{ctx.design.n_items} items, {len(ctx.design.models)} models, "
        f"{len(ctx.design.scaffolds)} scaffolds, {len(ctx.dimensions)} dimensions"
    )
    empty = [c.name for c in ctx.coders_used if not c.gave_levels]
    if empty and len(ctx.coders_used) > 1:
        lines.append(f"No level from {', '.join(empty)}: the numbers are the other coders' "
                     "(see the report's header and Data accounting)")
    if ctx.effects:
        counts = Counter(e.label or "not estimable" for e in ctx.effects)
        tests = sum(1 for e in ctx.effects if e.p_value is not None)
        lines.append(
            f"Effects vs {ctx.baseline} ({ADJUST_NAMES[ctx.effects[0].adjust]}-adjusted over "
            f"{tests} tests): "
            + ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
        )
        tested = [i for i in ctx.interactions if i.p_holm is not None]
        dependent = sum(1 for i in tested if i.p_holm is not None and i.p_holm < 0.05)
        if tested:
            lines.append(f"Model-dependent effects (Holm p < 0.05): {dependent} of {len(tested)}")
    if ctx.warnings:
        lines.append(f"{len(ctx.warnings)} data warning(s): see 'Data accounting' in the report")
    return "\n".join(lines)

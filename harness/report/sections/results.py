"""The report's result sections: the header (the simulated-models and heuristic-only
banners, the run in one paragraph), "Findings at a glance", the alignment profiles, and "Does
the effect depend on the model?", and the per-scaffold tables of estimates that the profile and
effect sections share (``estimate_tables``; the scaffold effects section is ``effects.py``'s).
Each section is a function of the ``ReportContext`` that returns blocks; the profile section
also adds its figures (drawn by ``plots.py``) to the figures written. It computes no statistic
(``harness.stats``) and renders nothing (``blocks.py``, ``html.py``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from harness.report.blocks import Block, Bullets, Figure, Heading, Paragraph, Table
from harness.report.coders import JUDGES_MEAN
from harness.report.context import ReportContext
from harness.report.links import view_link
from harness.report.sections.coder_levels import levels_note
from harness.report.tables import format_interval, format_number, format_p_value, p_value_phrase
from harness.stats import ADJUST_NAMES, EffectRow, ProfileRow

__all__ = [
    "Estimate",
    "estimate_tables",
    "findings_section",
    "header_section",
    "interaction_section",
    "profiles_section",
]


def _dim(ctx: ReportContext, dimension: str) -> str:
    name = ctx.dimension_names.get(dimension)
    return f"{dimension} ({name})" if name else dimension


def _grouped_notes(entries: Sequence[tuple[str, str]], limit: int = 6) -> list[str]:
    """'note: where, where, ...' lines, one per distinct note."""
    by_note: dict[str, list[str]] = {}
    for where, note in entries:
        for part in filter(None, (p.strip() for p in note.split(";"))):
            by_note.setdefault(part, []).append(where)
    lines = []
    for note, places in by_note.items():
        shown = ", ".join(places[:limit])
        more = f" and {len(places) - limit} more" if len(places) > limit else ""
        lines.append(f"{note}: {shown}{more}")
    return lines


def header_section(ctx: ReportContext) -> list[Block]:
    """The title, the simulated/heuristic banners and the run in one paragraph."""
    blocks: list[Block] = [Heading(1, f"xstress report: {ctx.facts.run_id}")]
    if ctx.facts.simulated:
        blocks.append(
            Paragraph(
                "SIMULATED MODELS: this run used xstress's built-in simulated models, scripted "
                "to show a model-dependent scaffold effect by construction. Nothing in this "
                "report describes a real model: it shows what the analysis detects in a pattern "
                "built in on purpose, and how to read it.",
                banner=True,
            )
        )
    if ctx.simulated_judge_only:
        blocks.append(
            Paragraph(
                "SIMULATED JUDGE: every score in the profiles comes from xstress's simulated "
                "judge, which codes the simulated models' replies by construction (it knows "
                "their phrases and gives null to any other text), through the real LLM-judge "
                "path. It measures nothing about real text; its calibration is under Coder "
                "calibration.",
                banner=True,
            )
        )
    if ctx.heuristic_only:
        blocks.append(
            Paragraph(
                "FORMAT CHECK ONLY: every score in the profiles comes from the heuristic, a "
                "format check of surface cues that abstains where they cannot decide "
                "correctness, not from human coders or LLM judges. Treat the numbers as a "
                "pipeline check, not a measurement (its calibration is under Coder "
                "calibration).",
                banner=True,
            )
        )
    coder = ctx.coder_label
    if coder == JUDGES_MEAN:
        coder += f" ({', '.join(c.name for c in ctx.coders_used)})"
    population = _population_counts(ctx)
    period = ""
    if ctx.facts.started_at:
        period = f" Sweep started {ctx.facts.started_at}"
        period += f", finished {ctx.facts.finished_at}." if ctx.facts.finished_at else "."
    protocol = (f" Protocol `{ctx.facts.protocol.protocol_hash[:12]}` (what was held fixed is "
                f"under Methods)." if ctx.facts.protocol else "")
    blocks.append(
        Paragraph(
            f"Run directory `{ctx.run_dir.name}`.{protocol} "
            f"Models: {', '.join(ctx.design.models)}. "
            f"Scaffolds: {', '.join(ctx.design.scaffolds)} (baseline `{ctx.baseline}`). "
            f"{population}. Scores used: **{coder}** ({ctx.coder_reason}).{period}"
        )
    )
    return blocks + levels_note(ctx)


def _population_counts(ctx: ReportContext) -> str:
    design = ctx.design
    return (
        f"{design.n_items} blinded transcripts over {len(design.prompts)} prompts x "
        f"{len(design.replicates)} replicate(s), {len(ctx.dimensions)} rubric dimensions"
    )


def findings_section(ctx: ReportContext) -> list[Block]:
    """The "Findings at a glance" section: the clearest effects and model-dependent ones."""
    blocks: list[Block] = [
        Heading(2, "Findings at a glance"),
        Paragraph(
            f'Evidence level of every finding below: {ctx.evidence_tag()} (see "Reporting '
            'template"). Each is a statement about this stress set under these fixed conditions.'
        ),
    ]
    tag = "[simulated]" if ctx.facts.simulated else "[interaction level]"
    items: list[str] = []
    labelled = [e for e in ctx.effects if _is_finding(e)]
    labelled.sort(key=lambda e: -abs(e.effect or 0.0))
    for e in labelled[:10]:
        change = (
            f"reached ceiling (from {format_number(e.baseline_mean)} to "
            f"{format_number(e.scaffold_mean)}), up"
            if e.label == "reached ceiling"
            else e.label
        )
        where = f"{e.scaffold} vs {e.baseline}, {e.model}, {_dim(ctx, e.dimension)}"
        items.append(
            view_link(ctx.run_dir, where, model=[e.model], scaffold=[e.scaffold, e.baseline],
                      dimension=[e.dimension])
            + f": {change} by {format_number(e.effect, signed=True)} "
            f"{format_interval(e.ci_low, e.ci_high, signed=True)}, "
            f"{ADJUST_NAMES[e.adjust]} {p_value_phrase(e.p_adjusted)} "
            f"{tag}{ctx.dimension_tag(e.dimension)}"
        )
    if len(labelled) > 10:
        items.append(
            f"... and {len(labelled) - 10} more improved/worsened effects (see the effects table)"
        )
    dependent = [i for i in ctx.interactions if i.p_holm is not None and i.p_holm < 0.05]
    for i in dependent[:10]:
        what = f"{i.scaffold} on {_dim(ctx, i.dimension)}"
        items.append(
            "the effect of "
            + view_link(ctx.run_dir, what, scaffold=[i.scaffold, i.baseline],
                        dimension=[i.dimension])
            + " depends on the model: "
            f"from {format_number(i.effect_min, signed=True)} ({i.model_min}) to "
            f"{format_number(i.effect_max, signed=True)} ({i.model_max}), permutation "
            f"{p_value_phrase(i.p_value)}, Holm {p_value_phrase(i.p_holm)} {tag}"
            f"{ctx.dimension_tag(i.dimension)}"
        )
    if not ctx.effects:
        items.append("no scaffold effects: only one scaffold in this run")
    elif not items:
        tested = any(i.p_value is not None for i in ctx.interactions)
        items.append(
            "no scaffold effect is improved or worsened (an interval that excludes 0 and an "
            f"adjusted p-value below 0.05, {ADJUST_NAMES[ctx.effects[0].adjust]})"
            + (
                " and no model-dependence test is significant after Holm adjustment"
                if tested
                else " (model-dependence was not tested)"
            )
            + ": this run shows no clear effect, which is not evidence of no effect"
        )
    counts: Counter[str] = Counter(e.label or "not estimable" for e in ctx.effects)
    blocks.append(Bullets(tuple(items)))
    if ctx.effects:
        order = (
            "improved",
            "worsened",
            "reached ceiling",
            "unchanged",
            "inconclusive",
            "ceiling",
            "not estimable",
        )
        blocks.append(
            Paragraph(
                "Effect labels over all models, scaffolds and dimensions: "
                + ", ".join(f"{label} {counts[label]}" for label in order if counts[label])
                + "."
            )
        )
    return blocks


def _is_finding(effect: EffectRow) -> bool:
    """Improved or worsened, or reached the ceiling with an interval above 0 and an adjusted
    p-value that would have made it ``improved``."""
    if effect.label in ("improved", "worsened"):
        return True
    return (
        effect.label == "reached ceiling"
        and effect.ci_low is not None
        and effect.ci_low > 0
        and effect.p_adjusted is not None
        and effect.p_adjusted < 0.05
    )


def profiles_section(ctx: ReportContext, figures: dict[str, bytes]) -> list[Block]:
    """The alignment profiles: heatmaps (added to ``figures``) and a table per scaffold."""
    from harness.report import plots

    design = ctx.design
    blocks: list[Block] = [
        Heading(2, "Alignment profiles"),
        Paragraph(
            "Mean level (0-2) per model, scaffold and dimension, with 95% prompt-cluster "
            "t intervals. Grey cells could not be estimated. The full table, "
            "with level counts, is profiles.csv."
        ),
    ]
    if ctx.dimension_names:
        blocks.append(
            Paragraph(
                "Dimensions: "
                + "; ".join(f"{d} {ctx.dimension_names[d]}" for d in ctx.dimensions)
                + "."
            )
        )
    args = (ctx.profiles, design.models, design.scaffolds, ctx.dimensions)
    for filename, draw, alt in (
        (
            "profiles_by_scaffold.png",
            plots.profile_heatmaps_by_scaffold,
            "Heatmaps of mean level, model by dimension, one per scaffold",
        ),
        (
            "profiles_by_dimension.png",
            plots.profile_heatmaps_by_dimension,
            "Heatmaps of mean level, model by scaffold, one per dimension",
        ),
    ):
        figures[filename] = draw(
            *args, simulated=ctx.facts.simulated, dimension_names=ctx.figure_dimension_names
        )
        blocks.append(Figure(filename, figures[filename], alt))
    blocks += _uncoded_notes(ctx)
    blocks += estimate_tables(
        ctx, "profile", ctx.profiles, design.scaffolds, lambda s: f"Scaffold {s}", _profile_cell
    )
    return blocks


def _uncoded_notes(ctx: ReportContext) -> list[Block]:
    """Name each dimension a coder behind the profiles never gave a level, with its reason, so
    an n/a column reads as the coder's abstention (by design or not), not as missing data."""
    notes = [f"{_dim(ctx, dimension)}: {coder.name} gave no level on any item ({n} of {total} "
             f"with this reason: \"{reason.rstrip('.')}\")"
             for coder in ctx.coders_used
             for dimension, reason, n, total in coder.uncoded(ctx.dimensions)
             if dimension in ctx.uncoded_dimensions]
    if not notes:
        return []
    return [Paragraph("Dimensions not coded: the profiles' coders abstain on them, so their "
                      "cells read n/a throughout and no effect on them is estimated."),
            Bullets(tuple(notes))]


class Estimate(Protocol):
    """A profile or effect row: one model x scaffold x dimension estimate with its note."""

    @property
    def model(self) -> str: ...
    @property
    def scaffold(self) -> str: ...
    @property
    def dimension(self) -> str: ...
    @property
    def note(self) -> str: ...


_EstimateT = TypeVar("_EstimateT", bound=Estimate)


def estimate_tables(
    ctx: ReportContext,
    what: str,
    records: Sequence[_EstimateT],
    scaffolds: Sequence[str],
    title: Callable[[str], str],
    cell: Callable[[_EstimateT], str],
    baseline: str | None = None,
) -> list[Block]:
    """Per scaffold a heading and a model x dimension table of ``cell`` texts, each linked to
    the run browser's cells behind it (with ``baseline``'s too, for effects); then the
    records' notes, grouped, under "Notes on the <what> estimates:" (if there are any)."""
    lookup = {(r.model, r.scaffold, r.dimension): r for r in records}
    blocks: list[Block] = []
    for scaffold in scaffolds:
        shown = [scaffold] if baseline is None else [scaffold, baseline]
        rows = tuple(
            (model, *(view_link(ctx.run_dir, cell(lookup[(model, scaffold, d)]),
                                model=[model], scaffold=shown, dimension=[d])
                      for d in ctx.dimensions))
            for model in ctx.design.models
        )
        blocks += [Heading(3, title(scaffold)), Table(("model", *ctx.dimensions), rows)]
    notes = _grouped_notes(
        [(f"{r.model}/{r.scaffold}/{r.dimension}", r.note) for r in records if r.note]
    )
    if notes:
        blocks += [Paragraph(f"Notes on the {what} estimates:"), Bullets(tuple(notes))]
    return blocks


def _profile_cell(row: ProfileRow) -> str:
    if row.mean is None:
        return f"n/a (n={row.n})"
    return f"{format_number(row.mean)} {format_interval(row.ci_low, row.ci_high)} n={row.n}"


def interaction_section(ctx: ReportContext) -> list[Block]:
    """The "Does the effect depend on the model?" section: the permutation tests."""
    blocks: list[Block] = [Heading(2, "Does the effect depend on the model?")]
    if not ctx.interactions:
        blocks.append(Paragraph("Not estimable: one scaffold, so there is no effect to compare."))
        return blocks
    if len(ctx.design.models) < 2:
        blocks.append(
            Paragraph(
                f"Not estimable: one model ({ctx.design.models[0]}); model-dependence needs two "
                "or more. interaction.csv lists the tests with this note."
            )
        )
        return blocks
    effects = {(e.model, e.scaffold, e.dimension): e.effect for e in ctx.effects}
    rows = []
    for i in ctx.interactions:
        per_model = ", ".join(
            f"{m} {format_number(effects.get((m, i.scaffold, i.dimension)), signed=True) or 'n/a'}"
            for m in ctx.design.models
        )
        spread = (
            format_number(i.effect_max - i.effect_min)
            if i.effect_max is not None and i.effect_min is not None
            else ""
        )
        rows.append(
            (
                i.scaffold,
                i.dimension,
                per_model,
                spread,
                format_number(i.statistic, digits=4),
                format_p_value(i.p_value),
                format_p_value(i.p_holm),
                i.note,
            )
        )
    blocks.append(
        Paragraph(
            "Per-model effects, their range (max minus min), the permutation test's statistic "
            "(variance of the per-model effects) and p-values. Full table: interaction.csv."
        )
    )
    n_tests = sum(1 for i in ctx.interactions if i.p_value is not None)
    smallest = 1.0 / (ctx.n_perm + 1)
    if n_tests and smallest * n_tests >= 0.05:
        blocks.append(
            Paragraph(
                f"Too few permutations for this many tests: with {ctx.n_perm} permutations the "
                f"smallest possible p-value is {smallest:.4f}, so after Holm adjustment over "
                f"{n_tests} tests none can fall below 0.05. Rerun with at least "
                f"{math.ceil(n_tests / 0.05)} permutations (n_perm).",
                banner=True,
            )
        )
    blocks.append(
        Table(
            (
                "scaffold",
                "dimension",
                "per-model effects",
                "range",
                "statistic",
                "p",
                "p (Holm)",
                "note",
            ),
            tuple(rows),
        )
    )
    return blocks

"""The report's section on the paper's published figures: printed beside this run's own
corresponding figures when the run was made with ``preset=paper`` (its manifest says so) or its
design is the paper's (not simulated; as many models, the mapped scaffolds, the prompt set
standing for the paper's, as many prompts).

The published figures come from ``configs/paper/published.yaml`` (``harness.config``) and go
in their own table, labelled "published (the paper)"; the run's figures (its means per model
on the contrasted dimension under the mapped scaffolds, the paired effect, its coders' kappa)
go in tables labelled "this run". No cell holds a number made from both. This module words
and lays out those tables; it computes no statistic (the profiles, effects and agreement rows
are the report's) and reads no file of the run (the preset is among the run's facts).
"""

from __future__ import annotations

from harness.config import load_published_figures, published_figures_path
from harness.errors import ConfigError
from harness.report.blocks import Block, Bullets, Heading, Paragraph, Table
from harness.report.context import ReportContext
from harness.report.tables import format_interval, format_number
from harness.rundir import AgreementRow
from harness.schema import PublishedContrast, PublishedFigures
from harness.stats import EffectRow, ProfileRow

__all__ = ["PAPER_PRESET", "paper_section"]

PAPER_PRESET = "paper"
"""The preset whose runs always get this section."""
_KAPPAS = ("cohen_kappa", "cohen_kappa_quadratic")

_MEANING = (
    "What a difference between the two would mean, and what it would not. The paper's models "
    "are its own labelling and may be other versions than this run's; the scaffold texts, the "
    "prompts, the rubric anchors and the coders here are xstress's operationalisation, not the "
    "paper's instrument; and the paper publishes no intervals, so no test of a difference "
    "between its numbers and this run's is possible. A similar pattern (one model's mean rising "
    "under the verification scaffold while another's stays flat) is consistent with the "
    "paper's claim that a scaffold's effect depends on the model; it is not a replication of "
    "its numbers. A different pattern does not show the paper wrong: it says the effect did "
    "not carry over to these models, texts and coders, which is what a fixed-scaffolding "
    "protocol exists to pin down. This run's intervals describe this run only."
)


def paper_section(ctx: ReportContext) -> list[Block]:
    """The paper's figures and this run's, in separate labelled tables; none when the run
    neither used the paper preset nor has the paper's design."""
    by_preset = _used_paper_preset(ctx)
    try:
        figures = load_published_figures()
    except ConfigError as exc:
        if not by_preset:
            return []
        return [Heading(2, "The paper's published figures"),
                Paragraph(f"This run used preset {PAPER_PRESET}, but the paper's figures cannot "
                          f"be shown: {exc.one_line()}")]
    if not (by_preset or design_matches(ctx, figures)):
        return []
    why = (f"This run used preset {PAPER_PRESET}" if by_preset
           else "This run has the paper's design")
    blocks: list[Block] = [
        Heading(2, "The paper's published figures beside this run"),
        Paragraph(
            f"{why}. The first table holds the figures published in \"{figures.source.title}\" "
            f"({figures.source.year}), copied from {published_figures_path().name} "
            f"(configs/paper/); they are the paper's numbers, not this run's. The tables after "
            "it hold this run's own figures. The two are never combined into one number."
        ),
    ]
    if ctx.facts.simulated:
        blocks.append(Paragraph(
            "SIMULATED MODELS: this run's figures come from scripted personas built to show a "
            "model-dependent scaffold effect by construction; any resemblance to the paper's "
            "figures is designed in, not evidence about the paper or any real model.",
            banner=True))
    blocks += _published_blocks(ctx, figures)
    blocks += _run_blocks(ctx, figures)
    blocks.append(Paragraph(_MEANING))
    return blocks


def design_matches(ctx: ReportContext, figures: PublishedFigures) -> bool:
    """True when a run of real models has the paper's design: as many models, exactly the
    mapped scaffolds, the prompt set standing for the paper's, with as many prompts."""
    prompt_set = ctx.facts.prompt_set
    return (not ctx.facts.simulated
            and len(ctx.design.models) == figures.design.models
            and set(ctx.design.scaffolds) == {c.scaffold for c in figures.conditions}
            and prompt_set is not None and prompt_set.name == figures.prompt_set
            and len(ctx.design.prompts) == figures.design.prompts)


def _used_paper_preset(ctx: ReportContext) -> bool:
    return PAPER_PRESET in ctx.facts.presets


# =========================================================================== the paper's


def _published_blocks(ctx: ReportContext, figures: PublishedFigures) -> list[Block]:
    design = figures.design
    rows = [("design",
             f"{design.models} models x {design.scaffolds} scaffolds x {design.prompts} "
             f"prompts = {design.transcripts} transcripts, {design.dimensions} dimensions", "")]
    rows += [(_contrast_label(ctx, figures, c), c.stated,
              "no interval published" if c.from_mean is not None else "no numbers published")
             for c in figures.contrasts]
    rows += [(s.name, format_number(s.value), s.note) for s in figures.statistics]
    mapping = "; ".join(f"{c.id} = {c.scaffold}" + (f" ({c.paper_says})" if c.paper_says else "")
                        for c in figures.conditions)
    return [
        Heading(3, "Published (the paper)"),
        Table(("figure", "published (the paper)", "note"), tuple(rows)),
        Paragraph(f"The paper's conditions and xstress's scaffolds (xstress's mapping, not the "
                  f"paper's): {mapping}. The prompt set {figures.prompt_set} stands for the "
                  f"paper's prompts. Source: {figures.source.taken_from}"),
        Paragraph("Not published:"),
        Bullets(tuple(figures.not_published)),
    ]


def _contrast_label(ctx: ReportContext, figures: PublishedFigures,
                    contrast: PublishedContrast) -> str:
    name = ctx.dimension_names.get(contrast.dimension)
    dimension = f"{contrast.dimension} ({name})" if name else contrast.dimension
    return (f"{dimension} mean, {contrast.model}, {contrast.from_condition} -> "
            f"{contrast.to_condition} (here {figures.scaffold_of(contrast.from_condition)} -> "
            f"{figures.scaffold_of(contrast.to_condition)})")


# =========================================================================== this run's


def _run_blocks(ctx: ReportContext, figures: PublishedFigures) -> list[Block]:
    design = ctx.design
    blocks: list[Block] = [
        Heading(3, "This run"),
        Paragraph(f"Design: {len(design.models)} models x {len(design.scaffolds)} scaffolds x "
                  f"{len(design.prompts)} prompts x {len(design.replicates)} replicate(s) = "
                  f"{design.n_items} blinded transcripts, {len(ctx.dimensions)} dimensions; "
                  f"scores used: {ctx.coder_label}. Means, paired effects (same prompt and "
                  "replicate) and their 95% intervals are those of the profile and effect "
                  "tables above (profiles.csv, effects.csv)."),
    ]
    contrasts = dict.fromkeys((c.dimension, c.from_condition, c.to_condition)
                              for c in figures.contrasts)
    for dimension, start, end in contrasts:
        blocks += _contrast_table(ctx, dimension, figures.scaffold_of(start),
                                  figures.scaffold_of(end), (start, end))
    blocks += _agreement_blocks(ctx.agreement)
    return blocks


def _contrast_table(ctx: ReportContext, dimension: str, start: str, end: str,
                    conditions: tuple[str, str]) -> list[Block]:
    if dimension not in ctx.dimensions:
        return [Paragraph(f"{dimension}: this run has no scores on it.")]
    profiles = {(p.model, p.scaffold): p for p in ctx.profiles if p.dimension == dimension}
    effects = {e.model: e for e in ctx.effects
               if e.dimension == dimension and e.baseline == start and e.scaffold == end}
    rows = tuple((model, *_mean_cells(profiles.get((model, start))),
                  *_mean_cells(profiles.get((model, end))), *_effect_cells(effects.get(model)))
                 for model in ctx.design.models)
    blocks: list[Block] = [Table(
        ("model (this run)", f"{dimension} under {start} ({conditions[0]})", "95% CI",
         f"{dimension} under {end} ({conditions[1]})", "95% CI",
         f"effect {end} - {start}", "95% CI", "label"), rows)]
    if not effects and start in ctx.design.scaffolds and end in ctx.design.scaffolds:
        blocks.append(Paragraph(f"No paired effect: the report's baseline is {ctx.baseline}, "
                                f"not {start} (xstress report RUN_DIR baseline={start})."))
    return blocks


def _mean_cells(row: ProfileRow | None) -> tuple[str, str]:
    if row is None:
        return ("not in this run", "")
    return (format_number(row.mean) or "not estimable", format_interval(row.ci_low, row.ci_high))


def _effect_cells(row: EffectRow | None) -> tuple[str, str, str]:
    if row is None:
        return ("", "", "")
    return (format_number(row.effect, signed=True) or "not estimable",
            format_interval(row.ci_low, row.ci_high, signed=True), row.label)


def _agreement_blocks(agreement: list[AgreementRow] | None) -> list[Block]:
    if agreement is None:
        return [Paragraph("Agreement: not computed for this run (xstress agree RUN_DIR writes "
                          "report/agreement.csv; then rerun xstress report RUN_DIR).")]
    by_pair: dict[tuple[str, str, str], dict[str, AgreementRow]] = {}
    for row in agreement:
        if row.statistic in _KAPPAS:
            by_pair.setdefault((row.coder_a, row.coder_b, row.dimension), {})[row.statistic] = row
    if not by_pair:
        return [Paragraph("Agreement: no pair of coders in report/agreement.csv, so no kappa "
                          "for this run.")]
    rows = []
    for (coder_a, coder_b, dimension), found in by_pair.items():
        plain, quadratic = found.get(_KAPPAS[0]), found.get(_KAPPAS[1])
        items = max(row.n_items for row in found.values())
        rows.append((f"{coder_a} vs {coder_b}", dimension, str(items), *_kappa_cells(plain),
                     *_kappa_cells(quadratic)))
    return [
        Paragraph("Agreement between this run's coders, per dimension (from "
                  "report/agreement.csv), with 95% bootstrap intervals over items. The paper's "
                  "kappa is one number whose variant and coders it does not state; these are "
                  "per dimension and per pair."),
        Table(("coders (this run)", "dimension", "items", "kappa", "95% CI",
               "kappa (quadratic)", "95% CI"), tuple(rows)),
    ]


def _kappa_cells(row: AgreementRow | None) -> tuple[str, str]:
    if row is None:
        return ("", "")
    return (format_number(row.value) or "not estimable", format_interval(row.ci_low, row.ci_high))

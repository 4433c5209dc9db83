"""The report's "Scaffold effects" section: the effect plot, the family of tests behind the
labels (which adjustment, over how many effects, and whether it can label anything at all with
this many prompts), the pairs left out because only one scaffold had a level, and a model x
dimension table per scaffold. It computes no statistic (``harness.stats``: the labels, p-values
and counts arrive on the effect rows), and the tables' layout is ``results.py``'s
``estimate_tables``, shared with the profiles.
"""

from __future__ import annotations

from harness.report.blocks import Block, Figure, Heading, Paragraph
from harness.report.context import ReportContext
from harness.report.sections.results import estimate_tables
from harness.report.tables import format_interval, format_number
from harness.stats import ADJUST_NAMES, EffectRow, smallest_p_value

__all__ = ["effects_section"]

_ALPHA = 0.05


def effects_section(ctx: ReportContext, figures: dict[str, bytes]) -> list[Block]:
    """The scaffold effects vs the baseline: a plot (added to ``figures``) and tables."""
    from harness.report import plots

    blocks: list[Block] = [Heading(2, f"Scaffold effects vs {ctx.baseline}")]
    if not ctx.effects:
        blocks.append(
            Paragraph(
                f"Not estimable: this run has one scaffold ({', '.join(ctx.design.scaffolds)}), so "
                "there is nothing to compare it with."
            )
        )
        return blocks
    blocks.append(
        Paragraph(
            "Mean paired difference (scaffold minus baseline, same prompt and replicate) with its "
            '95% interval and label (rules under "How to read the numbers"). Full table: '
            "effects.csv."
        )
    )
    blocks += _test_family(ctx.effects)
    blocks.append(Paragraph(_missing_pairs(ctx)))
    figures["effects.png"] = plots.effect_plot(
        ctx.effects,
        ctx.design.models,
        ctx.other_scaffolds,
        ctx.dimensions,
        baseline=ctx.baseline,
        simulated=ctx.facts.simulated,
        dimension_names=ctx.figure_dimension_names,
    )
    blocks.append(
        Figure(
            "effects.png",
            figures["effects.png"],
            "Scaffold effects per model and dimension with 95% intervals",
        )
    )
    blocks += estimate_tables(
        ctx,
        "effect",
        ctx.effects,
        ctx.other_scaffolds,
        lambda s: f"{s} vs {ctx.baseline}",
        _effect_cell,
        baseline=ctx.baseline,
    )
    return blocks


def _test_family(effects: list[EffectRow]) -> list[Block]:
    """The adjustment behind ``improved``/``worsened``, and a banner when it cannot pass."""
    tested = [e for e in effects if e.p_value is not None]
    method = ADJUST_NAMES[effects[0].adjust]
    blocks: list[Block] = [
        Paragraph(
            "`improved` and `worsened` also need the effect's sign-flip p-value over prompts, "
            f"adjusted by {method} over the {len(tested)} effects that have one, to be below "
            f"{_ALPHA} (p_value and p_adjusted in effects.csv)."
        )
    ]
    if not tested or effects[0].adjust != "holm":
        return blocks
    # Holm multiplies the smallest p-value by the number of tests; Benjamini-Hochberg can
    # leave it as it is, so only Holm has a floor that no data can pass.
    most_prompts = max(e.n_prompts for e in tested)
    floor = smallest_p_value(most_prompts) * len(tested)
    if floor >= _ALPHA:
        blocks.append(
            Paragraph(
                f"Too few prompts for this many tests: with at most {most_prompts} prompts behind "
                "an effect the "
                f"smallest possible sign-flip p-value is {smallest_p_value(most_prompts):.4f}, "
                f"so after Holm adjustment over {len(tested)} tests no effect can be labelled "
                "improved or worsened. Use more prompts, compare fewer scaffolds, models or "
                "dimensions, or set report.adjust=bh.",
                banner=True,
            )
        )
    return blocks


def _missing_pairs(ctx: ReportContext) -> str:
    """One sentence on the pairs left out because only one scaffold had a level."""
    total = sum(e.n_pairs_missing for e in ctx.effects)
    if total == 0:
        return (
            "No pair was left out: wherever one scaffold has a level, so does the other "
            "(n_pairs_missing in effects.csv)."
        )
    parts = []
    for scaffold in ctx.other_scaffolds:
        rows = [e for e in ctx.effects if e.scaffold == scaffold]
        count = sum(e.n_pairs_missing for e in rows)
        if count:
            parts.append(
                f"{scaffold} {count} ({sum(e.missing_in_scaffold for e in rows)} without "
                f"{scaffold}'s level, {sum(e.missing_in_baseline for e in rows)} without "
                f"{ctx.baseline}'s; {sum(e.missing_null for e in rows)} of them coded null)"
            )
    return (
        f"Pairs left out because only one scaffold had a level, summed over models and "
        f"dimensions: {total} ({'; '.join(parts)}). A scaffold that makes a model refuse or a "
        "coder abstain shows here rather than in the effect. Per effect: n_pairs_missing, "
        "missing_in_scaffold, missing_in_baseline and missing_null in effects.csv."
    )


def _effect_cell(effect: EffectRow) -> str:
    if effect.effect is None:
        return "n/a"
    parts = (
        format_number(effect.effect, signed=True),
        format_interval(effect.ci_low, effect.ci_high, signed=True),
        effect.label,
    )
    return " ".join(filter(None, parts))

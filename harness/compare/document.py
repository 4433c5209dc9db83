"""The comparison as a document: the banners (across protocols, simulated models, simulated
judge, format check only), the protocol differences when allowed, the runs (protocol hash,
coder, evidence level), the profiles side by side per scaffold, and the scaffold effects side by
side per scaffold; as blocks that ``harness.report`` renders to Markdown and HTML, so
``compare.md`` and ``compare.html`` say the same thing. It computes nothing and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.compare.protocols import ProtocolCheck
from harness.compare.sides import Column, Side
from harness.report import (
    Block,
    Bullets,
    Heading,
    Paragraph,
    Table,
    format_interval,
    format_number,
)

__all__ = ["comparison_blocks"]


def comparison_blocks(check: ProtocolCheck, sides: Sequence[Side], table_columns:
                      Sequence[Column], baseline: str, warnings: Sequence[str]) -> list[Block]:
    """The whole comparison document."""
    names = [side.name for side in sides]
    blocks: list[Block] = [Heading(1, "xstress comparison: " + " vs ".join(names))]
    blocks += _banners(check, sides)
    if not check.same:
        blocks += [
            Heading(2, "Protocol differences"),
            Paragraph(f"Each run's protocol compared with the first run's ({names[0]}), "
                      "element by element (as `xstress protocol verify` does). Every "
                      "difference is part of what separates the columns below."),
            Bullets(tuple(check.lines())),
        ]
    blocks += _runs_section(check, sides)
    blocks += _profiles_section(sides, table_columns)
    blocks += _effects_section(sides, table_columns, baseline)
    if warnings:
        blocks += [Heading(2, "Data warnings"), Bullets(tuple(warnings))]
    blocks += [Heading(2, "Files"), Bullets((
        "profiles.csv: one row per run x model x scaffold x dimension (run, model, "
        "model_label, scaffold, dimension, coder, simulated, protocol_hash, counts, n_prompts, "
        "mean, ci_low, ci_high, note)",
        "effects.csv: one row per run x model x scaffold x dimension vs the baseline (run, "
        "model, model_label, scaffold, baseline, dimension, coder, simulated, protocol_hash, "
        "n_pairs, effect, ci_low, ci_high, p_value, adjust, p_adjusted, label, note)",
        "Empty values in the CSVs are estimates that could not be made; the note says why.",
    ))]
    return blocks


def _runs_where(sides: Sequence[Side], test: Callable[[Side], bool]) -> list[str]:
    return [side.name for side in sides if test(side)]


def _banners(check: ProtocolCheck, sides: Sequence[Side]) -> list[Block]:
    blocks: list[Block] = []
    if not check.same:
        blocks.append(Paragraph(
            f"ACROSS PROTOCOLS: these runs did not follow one protocol "
            f"({len(check.lines())} difference(s), listed below). A difference between "
            "columns of different runs mixes the models with the treatment differences; it is "
            "not a comparison under fixed scaffolding.", banner=True))
    if simulated := _runs_where(sides, lambda s: s.simulated):
        blocks.append(Paragraph(
            f"SIMULATED MODELS (runs {', '.join(simulated)}): xstress's built-in simulated "
            "models, scripted to show a model-dependent scaffold effect by construction. Their "
            "columns (marked [simulated]) describe no real model.", banner=True))
    if judged := _runs_where(sides, lambda s: s.context.simulated_judge_only):
        blocks.append(Paragraph(
            f"SIMULATED JUDGE (runs {', '.join(judged)}): every score of these runs' columns "
            "comes from xstress's simulated judge, which codes the simulated replies by "
            "construction; it measures nothing about real text.", banner=True))
    if heuristic := _runs_where(sides, lambda s: s.context.heuristic_only):
        blocks.append(Paragraph(
            f"FORMAT CHECK ONLY (runs {', '.join(heuristic)}): every score of these runs' "
            "columns comes from the heuristic format check; treat them as a pipeline check, "
            "not a measurement.", banner=True))
    return blocks


def _evidence(check: ProtocolCheck, sides: Sequence[Side]) -> str:
    if any(side.simulated for side in sides):
        return ("Evidence level: pipeline check only (simulated models): the comparison shows "
                "how the side-by-side reads, not how any real model behaves.")
    if not check.same:
        return ("Evidence level: none across runs (different protocols); within each run, as "
                "that run's report states.")
    return ("Evidence level: interaction level under one fixed protocol: each column is a model "
            "measured under the same scaffolds, scenarios, rubric, coders and sampling, in its "
            "own run (its own sweep, coding and resampling). It does not reach the deployment "
            "level.")


def _runs_section(check: ProtocolCheck, sides: Sequence[Side]) -> list[Block]:
    hashes = list(dict.fromkeys(side.protocol_hash for side in sides))
    protocol = (f"All runs follow protocol `{hashes[0]}`." if len(hashes) == 1 else
                "Protocol hashes: " + ", ".join(f"{s.name} `{s.protocol_hash}`" for s in sides)
                + ".")
    rows = tuple(
        (side.name, side.protocol_hash[:12], ", ".join(side.context.design.models),
         f"{side.context.coder_label} ({side.context.coder_reason}; {side.coder_source})",
         side.context.evidence_tag(), str(side.context.seed))
        for side in sides)
    blocks: list[Block] = [
        Heading(2, "Runs"),
        Paragraph(f"{protocol} {_evidence(check, sides)}"),
        Table(("run", "protocol", "models", "scores used", "evidence level", "seed"), rows),
    ]
    coders = {side.context.coder_label for side in sides}
    if len(coders) > 1:
        blocks.append(Paragraph(
            "The runs' numbers come from different coders (" + ", ".join(
                f"{s.name}: {s.context.coder_label}" for s in sides)
            + "): a difference between their columns may be the coders'. Give coder=NAME to "
              "use one coder for every run."))
    return blocks


def _header(table_columns: Sequence[Column]) -> tuple[str, ...]:
    return ("dimension", *(c.label + (" [simulated]" if c.side.simulated else "")
                           for c in table_columns))


def _dimensions(sides: Sequence[Side]) -> tuple[list[str], dict[str, str]]:
    order = list(dict.fromkeys(d for side in sides for d in side.context.dimensions))
    names: dict[str, str] = {}
    for side in sides:
        for dimension, name in side.context.dimension_names.items():
            names.setdefault(dimension, name)
    return order, names


def _scaffolds(sides: Sequence[Side]) -> list[str]:
    return list(dict.fromkeys(s for side in sides for s in side.context.design.scaffolds))


def _profiles_section(sides: Sequence[Side], table_columns: Sequence[Column]) -> list[Block]:
    dimensions, names = _dimensions(sides)
    by_column = [c.profiles() for c in table_columns]
    blocks: list[Block] = [
        Heading(2, "Profiles side by side"),
        Paragraph("Each cell: the mean level (0-2) with its 95% prompt-cluster interval and n, "
                  "the number of levels scored; computed by each run's report machinery from "
                  "the coder named under Runs. n/a: not estimable (profiles.csv says why)."),
    ]
    for scaffold in _scaffolds(sides):
        rows = []
        for dimension in dimensions:
            cells = []
            for profiles in by_column:
                row = profiles.get((scaffold, dimension))
                cells.append(_profile_cell(row.mean, row.ci_low, row.ci_high, row.n)
                             if row is not None else "not run")
            rows.append((_dimension(dimension, names), *cells))
        blocks += [Heading(3, f"Scaffold {scaffold}"), Table(_header(table_columns), tuple(rows))]
    return blocks


def _profile_cell(mean: float | None, low: float | None, high: float | None, n: int) -> str:
    if mean is None:
        return f"n/a (n={n})"
    interval = format_interval(low, high)
    return f"{format_number(mean)} {interval} n={n}" if interval else \
        f"{format_number(mean)} n={n}"


def _dimension(dimension: str, names: dict[str, str]) -> str:
    return f"{dimension} {names[dimension]}" if dimension in names else dimension


def _effects_section(sides: Sequence[Side], table_columns: Sequence[Column],
                     baseline: str) -> list[Block]:
    dimensions, names = _dimensions(sides)
    by_column = [c.effects() for c in table_columns]
    adjust = {side.context.effects[0].adjust for side in sides if side.context.effects}
    blocks: list[Block] = [
        Heading(2, f"Scaffold effects vs {baseline} side by side"),
        Paragraph("Each cell: the paired difference from the baseline (by prompt and "
                  "replicate) with its 95% interval and its label, by the report's rules; "
                  f"p-values are {'/'.join(sorted(adjust)) or 'holm'}-adjusted within each "
                  "run's own table, so a label depends on the run it comes from."),
    ]
    for scaffold in [s for s in _scaffolds(sides) if s != baseline]:
        rows = []
        for dimension in dimensions:
            cells = []
            for effects in by_column:
                effect = effects.get((scaffold, dimension))
                if effect is None:
                    cells.append("not run")
                    continue
                interval = format_interval(effect.ci_low, effect.ci_high, signed=True)
                value = format_number(effect.effect, signed=True) or "n/a"
                cells.append(" ".join(part for part in (value, interval, effect.label) if part))
            rows.append((_dimension(dimension, names), *cells))
        blocks += [Heading(3, f"{scaffold} vs {baseline}"),
                   Table(_header(table_columns), tuple(rows))]
    return blocks

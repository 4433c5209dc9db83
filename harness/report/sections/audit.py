"""The report's sections on how far its numbers can be trusted: the coders and their
agreement (from ``report/agreement.csv``: every pair, each judge against the human coders when
a person coded too, values beside their 95% intervals), the strength of the blinding (from the
leak report),
and the data accounting (cells by transcript status, blinded items, null and unscored scores,
and every problem met while reading the run). Each is a function of the ``ReportContext`` that
returns blocks. It reads no file (``inputs.py`` does) and computes no statistic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.report.blocks import Block, Bullets, Heading, Paragraph, Table
from harness.report.coders import ADJUDICATED, JUDGES_MEAN, CoderFile
from harness.report.context import ReportContext
from harness.report.sections.coder_levels import coder_codes_table
from harness.report.sections.served import truncation_paragraph
from harness.report.tables import format_number
from harness.rundir import AgreementRow, Identifiability
from harness.stats import STATUS_NULL, STATUS_UNSCORED, Design, natural_dimension_order

__all__ = ["accounting_section", "blinding_section", "coding_section"]

_STATISTICS = (
    "percent_agreement",
    "cohen_kappa",
    "cohen_kappa_quadratic",
    "krippendorff_alpha_ordinal",
)
"""The agreement statistics, in the order of the agreement table's columns."""


def coding_section(ctx: ReportContext) -> list[Block]:
    """The coders, which of them the profiles use and why, and their agreement."""
    blocks: list[Block] = [Heading(2, "Coders and agreement")]
    used = ", ".join(c.name for c in ctx.coders_used)
    description = {
        JUDGES_MEAN: f"the mean of the judges' levels per item and dimension ({used}); an "
        "item's value can then lie between levels (count_between in profiles.csv)",
        ADJUDICATED: "the adjudicated scores (scores/adjudicated.jsonl)",
    }.get(ctx.coder_label, f"coder {ctx.coder_label}")
    blocks.append(
        Paragraph(
            f"The profiles use {description}; chosen because: "
            f"{ctx.coder_reason}. Another choice: xstress report RUN_DIR coder=NAME."
        )
    )
    blocks.append(_coders_table(ctx))
    if ctx.agreement is None:
        blocks.append(
            Paragraph(f"Agreement not computed; run xstress agree {ctx.run_dir.root}.")
        )
        return blocks
    blocks.append(
        Paragraph(
            "Agreement between coders per dimension (from report/agreement.csv;"
            " written by xstress agree). Kappa and alpha near 1 mean the coders "
            "agree; near 0, no better than chance. In brackets: 95% bootstrap intervals "
            "over items."
        )
    )
    blocks.append(_agreement_table(ctx.agreement))
    blocks += _judge_vs_human(ctx, ctx.agreement)
    return blocks


def _coders_table(ctx: ReportContext) -> Table:
    rows = []
    for name, coder in sorted(ctx.coders.items()):
        statuses = coder.statuses
        read = bool(statuses)
        rows.append(
            (
                name,
                coder.kind,
                _used(ctx, coder),
                str(statuses["scored"]) if read else "",
                str(statuses["null"]) if read else "",
                str(statuses["unscored"]) if read else "",
                ", ".join(sorted(h[:12] for h in coder.coder_hashes)) or "",
            )
        )
    return Table(
        ("coder", "kind", "used", "scored", "null", "unscored", "config hash"), tuple(rows)
    )


def _used(ctx: ReportContext, coder: CoderFile) -> str:
    """Whether the profiles use a coder; one that gave no level is used in name only."""
    if coder not in ctx.coders_used:
        return "no"
    return "yes" if coder.gave_levels else "yes (gave no level: adds nothing)"


def _agreement_table(agreement: Sequence[AgreementRow]) -> Table:
    """One row per dimension and coder pair (``all`` for alpha), a column per statistic."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    for row in agreement:
        pair = "all" if row.coder_a == "all" else f"{row.coder_a} / {row.coder_b}"
        entry = table.setdefault((row.dimension, pair), {"n_items": str(row.n_items)})
        entry[row.statistic] = _with_interval(row)
        if row.note:
            entry["note"] = "; ".join(filter(None, (entry.get("note", ""), row.note)))
    rows: list[tuple[str, ...]] = [
        (
            dimension,
            pair,
            entry.get("n_items", ""),
            *(entry.get(s, "") for s in _STATISTICS),
            entry.get("note", ""),
        )
        for (dimension, pair), entry in sorted(
            table.items(), key=lambda kv: (natural_dimension_order([kv[0][0]]), kv[0])
        )
    ]
    return Table(
        (
            "dimension",
            "coders",
            "n items",
            "% agreement",
            "kappa",
            "kappa (quadratic)",
            "alpha (ordinal)",
            "note",
        ),
        tuple(rows),
    )


def _with_interval(row: AgreementRow | None) -> str:
    """``0.538 [0.212, 0.826]``; the value alone when it has no interval; empty for none."""
    if row is None or row.value is None:
        return ""
    value = format_number(row.value, digits=3)
    if row.ci_low is None or row.ci_high is None:
        return value
    low, high = format_number(row.ci_low, digits=3), format_number(row.ci_high, digits=3)
    return f"{value} [{low}, {high}]"


def _judge_vs_human(ctx: ReportContext, agreement: Sequence[AgreementRow]) -> list[Block]:
    """Per dimension, each judge against each human coder: how far a judge stands in for a
    person. Nothing when the run has no human coder or no judge."""
    humans = sorted(name for name, coder in ctx.coders.items() if coder.kinds == {"human"})
    judges = sorted(name for name, coder in ctx.coders.items() if coder.is_judge)
    if not humans or not judges:
        return []
    rows_by_key = {(row.dimension, frozenset((row.coder_a, row.coder_b)), row.statistic): row
                   for row in agreement}
    rows: list[tuple[str, ...]] = []
    for dimension in natural_dimension_order({row.dimension for row in agreement}):
        for judge in judges:
            for human in humans:
                pair = frozenset((judge, human))
                kappa = rows_by_key.get((dimension, pair, "cohen_kappa_quadratic"))
                agree = rows_by_key.get((dimension, pair, "percent_agreement"))
                found = kappa or agree
                if found is None:
                    continue
                rows.append((dimension, judge, human, str(found.n_items),
                             _with_interval(kappa), _with_interval(agree),
                             kappa.note if kappa else found.note))
    if not rows:
        return [Paragraph(
            "Judge against human agreement: report/agreement.csv has no row for a judge "
            f"paired with a human coder; rerun xstress agree {ctx.run_dir.root}.")]
    return [
        Paragraph(
            "Each judge against the human coder(s), per dimension (from report/agreement.csv): "
            "how far a judge's codes stand in for a person's. Quadratic-weighted kappa and "
            "agreement (a proportion) with 95% bootstrap intervals over items."
        ),
        Table(("dimension", "judge", "human", "n items", "kappa (quadratic)", "% agreement",
               "note"), tuple(rows)),
    ]


def blinding_section(ctx: ReportContext) -> list[Block]:
    """How well the blinded text alone still reveals model and scaffold."""
    blocks: list[Block] = [Heading(2, "Blinding strength")]
    report = ctx.leak_report
    if report is None:
        blocks.append(
            Paragraph(
                "Not measured: blind/leak_report.json is absent "
                f"(run xstress blind {ctx.run_dir.root})."
            )
        )
        return blocks
    blocks.append(
        Paragraph(
            "Coders saw transcripts without model or scaffold names. How well could the text "
            "alone still reveal them? A classifier trained on the blinded text estimates it: "
            "accuracy near chance means strong blinding; well above chance means coders could "
            "have guessed, and their scores may reflect it."
        )
    )
    items = [
        _identifiability_line("model", report.identifiability),
        _identifiability_line("scaffold", report.scaffold_identifiability),
    ]
    if report.remaining_tells:
        items.append(f"tells left in the text after scrubbing: {len(report.remaining_tells)}")
    items.extend(f"known limit: {limit}" for limit in report.known_limits)
    blocks.append(Bullets(tuple(items)))
    return blocks


def _identifiability_line(target: str, measured: Identifiability | None) -> str:
    if measured is None:
        return f"{target}: not measured"
    above = measured.ci_low > measured.chance
    verdict = "above chance: blinding is partial" if above else "not distinguishable from chance"
    return (
        f"{target}: accuracy {measured.accuracy:.2f} [{measured.ci_low:.2f}, "
        f"{measured.ci_high:.2f}] vs chance {measured.chance:.2f} ({measured.method}, "
        f"{measured.n_items} items, {measured.n_folds} folds): {verdict}"
    )


_STATUS_COLUMNS = ("ok", "error", "blocked")


def accounting_section(ctx: ReportContext) -> list[Block]:
    """Cells by status, blinded items, null and unscored scores, and data problems."""
    design = ctx.design
    statuses: Counter[tuple[str, str, str]] = Counter()
    if ctx.transcripts is not None:
        statuses = ctx.transcripts.counts()
    pairs = sorted(
        {(m, s) for m, s, _ in statuses}
        | {(m, s) for m in design.models for s in design.scaffolds},
        key=lambda ms: (_index(design.models, ms[0]), _index(design.scaffolds, ms[1])),
    )
    blocks: list[Block] = [
        Heading(2, "Data accounting"),
        Paragraph(
            "Cells per model and scaffold by transcript status (error and blocked cells "
            "are not coded; a blocked cell is a provider refusal, a result in its own "
            "right), blinded items, and item x dimension scores that are null (not "
            "applicable) or unscored (coder failed or no score) with no coder's level."
        ),
        Table(
            (
                "model",
                "scaffold",
                "cells",
                "ok",
                "error",
                "blocked",
                "blinded items",
                "null scores",
                "unscored",
            ),
            tuple(_accounting_row(ctx, statuses, model, scaffold) for model, scaffold in pairs),
        ),
        *truncation_paragraph(ctx),
        *coder_codes_table(ctx),
    ]
    problems = _problems(ctx, statuses, pairs)
    if problems:
        blocks += [Paragraph("Problems found while reading the run:"), Bullets(tuple(problems))]
    return blocks


def _accounting_row(
    ctx: ReportContext, statuses: Counter[tuple[str, str, str]], model: str, scaffold: str
) -> tuple[str, ...]:
    """One model and scaffold: cells by status, blinded items, null and unscored scores."""
    cells = (
        [str(sum(statuses[(model, scaffold, s)] for s in _STATUS_COLUMNS))]
        + [str(statuses[(model, scaffold, s)]) for s in _STATUS_COLUMNS]
        if ctx.transcripts is not None
        else ["", "", "", ""]
    )
    design = ctx.design
    if model not in design.models or scaffold not in design.scaffolds:
        return (model, scaffold, *cells, "0", "0", "0")
    n_s = len(design.scaffolds)
    pair_code = design.model * n_s + design.scaffold
    mask = pair_code == design.models.index(model) * n_s + design.scaffolds.index(scaffold)
    status = ctx.scores.status[mask]
    return (
        model,
        scaffold,
        *cells,
        str(int(mask.sum())),
        str(int((status == STATUS_NULL).sum())),
        str(int((status >= STATUS_UNSCORED).sum())),
    )


def _problems(
    ctx: ReportContext, statuses: Counter[tuple[str, str, str]], pairs: list[tuple[str, str]]
) -> list[str]:
    """The data warnings met while reading, and what the status counts reveal."""
    design: Design = ctx.design
    problems = list(ctx.warnings)
    if ctx.transcripts is None:
        problems.append("no transcripts*.jsonl: cell status counts are not available")
        return problems
    ok = sum(n for (_, _, status), n in statuses.items() if status == "ok")
    for model, scaffold in pairs:
        if model not in design.models or scaffold not in design.scaffolds:
            problems.append(
                f"{model} under {scaffold}: no blinded item (every cell error or blocked?), "
                "so it is absent from the profiles and effects"
            )
    if ok > design.n_items:
        problems.append(
            f"{ok - design.n_items} ok transcripts have no key entry (not "
            f"blinded yet?): rerun xstress blind {ctx.run_dir.root}"
        )
    return problems


def _index(labels: Sequence[str], name: str) -> int:
    return labels.index(name) if name in labels else len(labels)

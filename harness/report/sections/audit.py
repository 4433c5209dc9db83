"""The report's sections on how far its numbers can be trusted: the coders and their
agreement (from ``report/agreement.csv``), the strength of the blinding (from the leak report),
and the data accounting (cells by transcript status, blinded items, null and unscored scores,
and every problem met while reading the run). Each is a function of the ``ReportContext`` that
returns blocks. It reads no file (``report_inputs.py`` does) and computes no statistic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.report.blocks import Block, Bullets, Heading, Paragraph, Table
from harness.report.context import ReportContext
from harness.report.inputs import ADJUDICATED, JUDGES_MEAN
from harness.report.tables import format_agreement_value
from harness.stats import effects as analysis

__all__ = ["accounting_section", "blinding_section", "coding_section"]


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
            f"{ctx.coder_reason}. Another choice: xstress report --coder NAME."
        )
    )
    rows = []
    for name, coder in sorted(ctx.coders.items()):
        statuses = coder.statuses
        read = bool(statuses)
        rows.append(
            (
                name,
                coder.kind,
                "yes" if coder in ctx.coders_used else "no",
                str(statuses["scored"]) if read else "",
                str(statuses["null"]) if read else "",
                str(statuses["unscored"]) if read else "",
                ", ".join(sorted(h[:12] for h in coder.coder_hashes)) or "",
            )
        )
    blocks.append(
        Table(("coder", "kind", "used", "scored", "null", "unscored", "config hash"), tuple(rows))
    )
    if ctx.agreement is None:
        blocks.append(Paragraph(f"Agreement not computed; run xstress agree {ctx.run_dir}."))
        return blocks
    statistics = (
        "percent_agreement",
        "cohen_kappa",
        "cohen_kappa_quadratic",
        "krippendorff_alpha_ordinal",
    )
    table: dict[tuple[str, str], dict[str, str]] = {}
    for row in ctx.agreement:
        pair = "all" if row["coder_a"] == "all" else f"{row['coder_a']} / {row['coder_b']}"
        entry = table.setdefault((row["dimension"], pair), {"n_items": row["n_items"]})
        entry[row["statistic"]] = format_agreement_value(row["value"])
        if row["note"]:
            entry["note"] = "; ".join(filter(None, (entry.get("note", ""), row["note"])))
    agreement_rows: list[tuple[str, ...]] = [
        (
            dimension,
            pair,
            entry.get("n_items", ""),
            *(entry.get(s, "") for s in statistics),
            entry.get("note", ""),
        )
        for (dimension, pair), entry in sorted(
            table.items(), key=lambda kv: (analysis.natural_dimension_order([kv[0][0]]), kv[0])
        )
    ]
    blocks.append(
        Paragraph(
            "Agreement between coders per dimension (from report/agreement.csv;"
            " written by xstress agree). Kappa and alpha near 1 mean the coders "
            "agree; near 0, no better than chance."
        )
    )
    blocks.append(
        Table(
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
            tuple(agreement_rows),
        )
    )
    return blocks


def blinding_section(ctx: ReportContext) -> list[Block]:
    """How well the blinded text alone still reveals model and scaffold."""
    blocks: list[Block] = [Heading(2, "Blinding strength")]
    report = ctx.leak_report
    if report is None:
        blocks.append(
            Paragraph(
                f"Not measured: blind/leak_report.json is absent (run xstress blind {ctx.run_dir})."
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
    items = []
    for key, target in (("identifiability", "model"), ("scaffold_identifiability", "scaffold")):
        value = report.get(key)
        if not isinstance(value, dict) or not isinstance(value.get("accuracy"), int | float):
            items.append(f"{target}: not measured")
            continue
        accuracy, chance = float(value["accuracy"]), float(value.get("chance") or 0.0)
        low, high = value.get("ci_low"), value.get("ci_high")
        above = isinstance(low, int | float) and low > chance
        verdict = (
            "above chance: blinding is partial" if above else "not distinguishable from chance"
        )
        interval = (
            f" [{low:.2f}, {high:.2f}]"
            if isinstance(low, int | float) and isinstance(high, int | float)
            else ""
        )
        items.append(
            f"{target}: accuracy {accuracy:.2f}{interval} vs chance {chance:.2f} "
            f"({value.get('method', '?')}, {value.get('n_items', '?')} items, "
            f"{value.get('n_folds', '?')} folds): {verdict}"
        )
    remaining = report.get("remaining_tells")
    if isinstance(remaining, list) and remaining:
        items.append(f"tells left in the text after scrubbing: {len(remaining)}")
    limits = report.get("known_limits")
    if isinstance(limits, list):
        items.extend(f"known limit: {limit}" for limit in limits)
    blocks.append(Bullets(tuple(items)))
    return blocks


def accounting_section(ctx: ReportContext) -> list[Block]:
    """Cells by status, blinded items, null and unscored scores, and data problems."""
    design = ctx.design
    blocks: list[Block] = [
        Heading(2, "Data accounting"),
        Paragraph(
            "Cells per model and scaffold by transcript status (error and blocked cells "
            "are not coded; a blocked cell is a provider refusal, a result in its own "
            "right), blinded items, and item x dimension scores that are null (not "
            "applicable) or unscored (coder failed or no score)."
        ),
    ]
    statuses: Counter[tuple[str, str, str]] = Counter()
    if ctx.transcripts is not None:
        statuses = ctx.transcripts.counts()
    pairs = sorted(
        {(m, s) for m, s, _ in statuses}
        | {(m, s) for m in design.models for s in design.scaffolds},
        key=lambda ms: (_index(design.models, ms[0]), _index(design.scaffolds, ms[1])),
    )
    n_s = len(design.scaffolds)
    pair_code = design.model * n_s + design.scaffold
    rows: list[tuple[str, ...]] = []
    for model, scaffold in pairs:
        known = model in design.models and scaffold in design.scaffolds
        mask = (
            pair_code == design.models.index(model) * n_s + design.scaffolds.index(scaffold)
            if known
            else None
        )
        status = ctx.scores.status[mask] if mask is not None else None
        cells = (
            [str(sum(statuses[(model, scaffold, s)] for s in ("ok", "error", "blocked")))]
            + [str(statuses[(model, scaffold, s)]) for s in ("ok", "error", "blocked")]
            if ctx.transcripts is not None
            else ["", "", "", ""]
        )
        rows.append(
            (
                model,
                scaffold,
                *cells,
                str(int(mask.sum())) if mask is not None else "0",
                str(int((status == analysis.STATUS_NULL).sum())) if status is not None else "0",
                str(int((status >= analysis.STATUS_UNSCORED).sum())) if status is not None else "0",
            )
        )
    blocks.append(
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
            tuple(rows),
        )
    )
    problems = list(ctx.warnings)
    if ctx.transcripts is None:
        problems.append("no transcripts*.jsonl: cell status counts are not available")
    else:
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
                f"blinded yet?): rerun xstress blind {ctx.run_dir}"
            )
    if problems:
        blocks += [Paragraph("Problems found while reading the run:"), Bullets(tuple(problems))]
    return blocks


def _index(labels: Sequence[str], name: str) -> int:
    return labels.index(name) if name in labels else len(labels)

"""The audit report's wording: ``audit.md`` and ``audit.html`` as one list of blocks.

The report says first whose codes it shows (each coder, their sheets, whether an adjudicated
sheet settled anything), then the coverage heatmap and table, "measured substantively by k of
n" per dimension, agreement, the disagreements, the benchmarks' sources and what the four
evidence levels mean. Blocks and their rendering are ``harness.report``'s, so the audit reads
like the stress-test report. This module formats; it computes nothing and writes no file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.audit.agreement import POOLED
from harness.audit.coverage import DISPUTED, AuditCoverage
from harness.audit.records import LEVEL_MEANINGS, SheetRow
from harness.report import Block, Bullets, Figure, Heading, Paragraph, Table
from harness.rundir import AgreementRow

__all__ = ["AuditFacts", "audit_blocks", "figure_title", "provenance"]

_STATISTIC_NAMES = {
    "percent_agreement": "agreement (share)",
    "cohen_kappa": "Cohen's kappa",
    "cohen_kappa_quadratic": "Cohen's kappa, quadratic weights",
    "krippendorff_alpha_ordinal": "Krippendorff's alpha (ordinal)",
}


@dataclass(frozen=True)
class AuditFacts:
    """What the report needs besides the numbers."""

    rows: tuple[SheetRow, ...]
    """Every coder's rows."""
    adjudicated: tuple[SheetRow, ...]
    """The adjudicated sheet's rows (empty without one)."""
    adjudicated_file: str | None
    rubric: str
    dimension_names: dict[str, str]
    n_boot: int
    seed: int


def provenance(facts: AuditFacts) -> str:
    """Whose codes these are, in one paragraph (the report's banner)."""
    sheets: dict[str, dict[str, int]] = {}
    for row in facts.rows:
        sheets.setdefault(row.coder, {}).setdefault(row.file, 0)
        sheets[row.coder][row.file] += 1
    coders = "; ".join(
        f"{coder} ({', '.join(f'`{file}`, {_benchmarks(n)}' for file, n in files.items())})"
        for coder, files in sorted(sheets.items()))
    text = (f"Every code in this report was given in the sheets named here, by a coder or the "
            f"adjudicator; xstress adds, averages and infers none. Coders: {coders}.")
    if facts.adjudicated:
        adjudicators = ", ".join(sorted({row.coder for row in facts.adjudicated}))
        text += (f" Adjudicated: yes, by {adjudicators} (`{facts.adjudicated_file}`, "
                 f"{_benchmarks(len(facts.adjudicated))}); the coverage matrix shows the "
                 "adjudicated codes for those benchmarks and, for any other, a code where the "
                 "coders agree and a disputed cell where they differ. Agreement is the "
                 "coders', before adjudication.")
    else:
        text += (" Adjudicated: no. The coverage matrix shows a code where the coders agree "
                 "(or only one coded the benchmark) and marks the cell disputed, with each "
                 "coder's code, where they differ.")
    return text


def _benchmarks(count: int) -> str:
    return f"{count} benchmark" if count == 1 else f"{count} benchmarks"


def figure_title(facts: AuditFacts) -> str:
    """The heatmap's title: whose codes it shows."""
    coders = ", ".join(sorted({row.coder for row in facts.rows}))
    if facts.adjudicated:
        judges = ", ".join(sorted({row.coder for row in facts.adjudicated}))
        return f"Benchmark coverage: codes of {coders}; adjudicated by {judges}"
    return f"Benchmark coverage: codes of {coders} (not adjudicated)"


def audit_blocks(facts: AuditFacts, coverage: AuditCoverage, agreement: Sequence[AgreementRow],
                 heatmap: bytes, dimensions: Sequence[str]) -> list[Block]:
    """The whole report, in order."""
    names = facts.dimension_names
    blocks: list[Block] = [
        Heading(1, "xstress benchmark audit"),
        Paragraph(provenance(facts), banner=True),
        Paragraph(f"Each benchmark is coded on the {len(dimensions)} dimensions of rubric "
                  f"`{facts.rubric}`: " + "; ".join(
                      f"{level} = {meaning}" for level, meaning in LEVEL_MEANINGS.items())
                  + ". A benchmark's evidence level says what its numbers can show: see "
                    "\"Evidence levels\" below."),
        Heading(2, "Coverage"),
        Figure("coverage.png", heatmap, "Coverage: benchmark x dimension, grouped by evidence "
                                        "level"),
        _coverage_table(coverage, dimensions),
        Heading(3, "Measured substantively"),
        Bullets(tuple(
            f"{count.dimension} {names.get(count.dimension, '')}: measured substantively by "
            f"{count.substantive} of {count.n_benchmarks} benchmarks ({count.partial} partially "
            f"or indirectly, {count.not_measured} not measured"
            + (f", {count.disputed} disputed" if count.disputed else "") + ")"
            for count in coverage.counts)),
        *_agreement_blocks(facts, agreement),
        *_disagreement_blocks(coverage),
        Heading(2, "Benchmarks and sources"),
        Table(("benchmark", "evidence level", "source"),
              tuple((b.name, b.evidence_level, b.source or "not given in the sheets")
                    for b in coverage.benchmarks)),
        *_evidence_blocks(),
        Heading(2, "Files"),
        Bullets(("`coverage.csv`: one row per benchmark and dimension: the level shown, where "
                 "it comes from (adjudicated, agreed, one coder, disputed) and every code given",
                 "`agreement.csv`: every agreement estimate with its 95% interval and notes "
                 "(the columns of the agreement.csv that the agree command writes)",
                 "`disagreements.csv`: every benchmark and field on which coders differ, with "
                 "their codes, the adjudicated code if any and the coders' notes",
                 "`coverage.png`: the heatmap above")),
    ]
    return blocks


def _coverage_table(coverage: AuditCoverage, dimensions: Sequence[str]) -> Table:
    def shown(level: int | None, given: tuple[int, ...]) -> str:
        if level is not None:
            return str(level)
        return "disputed (" + "/".join(str(v) for v in sorted(set(given))) + ")"

    return Table(("benchmark", "evidence level", *dimensions),
                 tuple((b.name, b.evidence_level,
                        *(shown(b.levels[d], b.given[d]) for d in dimensions))
                       for b in coverage.benchmarks))


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _agreement_blocks(facts: AuditFacts, agreement: Sequence[AgreementRow]) -> list[Block]:
    coders = sorted({row.coder for row in facts.rows})
    blocks: list[Block] = [Heading(2, "Agreement between coders")]
    if len(coders) < 2:
        blocks.append(Paragraph(f"One coder ({coders[0]}): no agreement to compute. The study "
                                "dual-codes every benchmark; add a second coder's sheet."))
        return blocks
    blocks.append(Paragraph(
        "The items are benchmarks. For each dimension, each pair of coders: the share of "
        "benchmarks given the same level and Cohen's kappa (unweighted, and with quadratic "
        "weights, which count a 0-vs-2 disagreement four times a 0-vs-1 one); all coders: "
        "Krippendorff's alpha (ordinal). The rows `all` pool every benchmark x dimension "
        "cell; the rows `evidence_level` compare the evidence levels the coders gave, in "
        "their order (model < response < interaction < deployment). Intervals: 95% "
        "percentile bootstrap over benchmarks "
        f"({facts.n_boot} resamples, seed {facts.seed}; the pooled rows resample a benchmark "
        "with all its cells, which are not independent); none with fewer than 10 benchmarks."))
    rows = tuple((row.dimension, row.coder_a if not row.coder_b else
                  f"{row.coder_a} vs {row.coder_b}", _STATISTIC_NAMES[row.statistic],
                  str(row.n_items), _number(row.value),
                  "n/a" if row.ci_low is None or row.ci_high is None else
                  f"[{row.ci_low:.3f}, {row.ci_high:.3f}]", row.note)
                 for row in agreement if row.statistic != "percent_agreement"
                 or row.dimension == POOLED)
    blocks.append(Table(("dimension", "coders", "statistic", "n", "value", "95% CI", "note"),
                        rows))
    return blocks


def _disagreement_blocks(coverage: AuditCoverage) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Disagreements")]
    if not coverage.disagreements:
        blocks.append(Paragraph("The coders gave the same codes throughout (or there is one "
                                "coder): nothing to adjudicate."))
        return blocks
    settled = sum(1 for d in coverage.disagreements if d.adjudicated)
    blocks.append(Paragraph(
        f"{len(coverage.disagreements)} benchmark and field pairs on which the coders differ; "
        f"{settled} settled by the adjudicated sheet. Two levels apart (0 vs 2) is the first "
        "thing to discuss."))
    blocks.append(Table(("benchmark", "field", "codes", "levels apart", "adjudicated",
                         "coders' notes"),
                        tuple((d.benchmark, d.field, d.codes,
                               "" if d.spread is None else str(d.spread),
                               d.adjudicated or "not adjudicated", d.notes)
                              for d in coverage.disagreements)))
    disputed = [b.name for b in coverage.benchmarks if b.evidence_level == DISPUTED]
    if disputed:
        blocks.append(Paragraph("Evidence level disputed (grouped apart in the heatmap): "
                                + ", ".join(disputed) + "."))
    return blocks


def _evidence_blocks() -> list[Block]:
    return [
        Heading(2, "Evidence levels"),
        Paragraph("What a benchmark's score can show depends on what it observes; evidence at "
                  "one level does not carry over to the next by default:"),
        Bullets((
            "**Model level**: a model's answers to isolated prompts; a property of the model.",
            "**Response level**: the quality of single replies, each judged on its own.",
            "**Interaction level**: behaviour across an exchange with a user (clarifying, "
            "taking direction, repairing misunderstandings, keeping the user's constraints).",
            "**Deployment level**: what happens to real people using a real system, and the "
            "outcomes.",
        )),
        Paragraph("A dimension measured substantively only by model- or response-level "
                  "benchmarks is, for deployment purposes, still unmeasured."),
    ]

"""Which coders' levels the report's numbers are made of: the header's note naming, per
dimension, the coders that gave a level and each coder behind the profiles that gave none (with
its unscored and null counts and their reasons), and the data accounting's table of every such
coder's codes per dimension.

A coder with no level on an item and dimension adds nothing to a judges' mean, so a judge that
failed on every item leaves the numbers to the others; these blocks say so, where the
``judges-mean`` label alone would not. They are functions of the ``ReportContext`` (whose
``heuristic_only`` and ``simulated_judge_only`` already leave such a coder out); they read no
file and compute no statistic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.report.blocks import Paragraph, Table
from harness.report.coders import CoderFile
from harness.report.context import ReportContext
from harness.stats import natural_dimension_order

__all__ = ["coder_codes_table", "levels_note"]


def _dimension_list(ctx: ReportContext, dimensions: Sequence[str]) -> str:
    """``D1..D8`` for every dimension of the report, else the ids listed."""
    if len(dimensions) > 2 and tuple(dimensions) == ctx.dimensions:
        return f"{dimensions[0]}..{dimensions[-1]}"
    return ", ".join(dimensions)


def _reasons(reasons: Counter[str], limit: int = 3) -> str:
    shown = "; ".join(f"{n} x {kind}" for kind, n in reasons.most_common(limit))
    more = len(reasons) - limit
    return shown + (f"; and {more} other reason(s)" if more > 0 else "")


def _levelless(ctx: ReportContext, coder: CoderFile) -> str | None:
    """``<coder>: no level on D1..D8 (unscored 960: 960 x reason; null 0)``, or None when the
    coder gave a level on every dimension."""
    missing = [d for d in ctx.dimensions if not coder.scored_by_dimension[d]]
    if not missing:
        return None
    reasons = coder.unscored_reasons(missing)
    unscored = sum(reasons.values())
    null = sum(coder.null_by_dimension[d] for d in missing)
    counts = [f"unscored {unscored}: {_reasons(reasons)}"] if unscored else []
    if null:
        counts.append(f"null {null}")
    found = "; ".join(counts) or "no record"
    return f"{coder.name}: no level on {_dimension_list(ctx, missing)} ({found})"


def levels_note(ctx: ReportContext) -> list[Paragraph]:
    """When several coders are behind the profiles: whose levels make the numbers, per
    dimension where that differs, and each coder that gave no level (it adds nothing)."""
    if len(ctx.coders_used) < 2:
        return []
    by_producers: dict[tuple[str, ...], list[str]] = {}
    for dimension, names in ctx.levels_from().items():
        by_producers.setdefault(names, []).append(dimension)
    parts = []
    # Dimensions some coder gave levels on first; those none did last.
    for names, dimensions in sorted(by_producers.items(), key=lambda kv: not kv[0]):
        who = " and ".join(names) if names else "no coder"
        where = ("every dimension" if len(by_producers) == 1
                 else _dimension_list(ctx, dimensions))
        parts.append(f"{who} on {where}")
    text = f"Levels behind the numbers: {'; '.join(parts)}."
    kinds = {coder.name: coder.kinds for coder in ctx.coders_used}
    format_only = [d for names, dimensions in by_producers.items() if names
                   and all(kinds[name] == {"heuristic"} for name in names) for d in dimensions]
    if format_only and not ctx.heuristic_only:
        # The banner is for a profile made by the format check alone; here only some
        # dimensions are, and their numbers must not pass for a judge's.
        text += (f" On {_dimension_list(ctx, natural_dimension_order(format_only))} only the "
                 "heuristic gave levels: there the numbers are a format check of surface cues, "
                 "not a measurement.")
    empty = [note for coder in ctx.coders_used if (note := _levelless(ctx, coder))]
    if empty:
        text += (f" {'. '.join(empty)}. A coder without a level on an item adds nothing to its "
                 "mean; its counts per dimension are under Data accounting.")
    return [Paragraph(text)]


def coder_codes_table(ctx: ReportContext) -> list[Paragraph | Table]:
    """Each coder behind the profiles, per dimension: levels, nulls, unscored codes and the
    kinds of reason for the unscored ones."""
    rows = []
    for coder in ctx.coders_used:
        for dimension in ctx.dimensions:
            reasons = coder.unscored_by_dimension.get(dimension, Counter())
            rows.append((coder.name, dimension, str(coder.scored_by_dimension[dimension]),
                         str(coder.null_by_dimension[dimension]), str(sum(reasons.values())),
                         _reasons(reasons)))
    return [
        Paragraph("Codes of each coder behind the profiles, per dimension (records in its "
                  "score file): with a level, null (not applicable) and unscored (the coder "
                  "failed), with the unscored ones' reasons by count. The table above counts "
                  "item x dimension cells that no coder gave a level."),
        Table(("coder", "dimension", "levels", "null", "unscored", "unscored reasons"),
              tuple(rows)),
    ]

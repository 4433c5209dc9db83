"""What ``xstress agree`` leaves behind: its three files under ``report/`` and its terminal table.

This module owns writing ``report/agreement.csv`` (one ``AgreementRow`` per estimate, values
as ``repr(float)`` so no digit is lost), ``report/agreement_confusion.json`` (an
``AgreementConfusion``) and ``report/adjudication.csv`` (one row per item two coders put two
levels apart, a column per coder), all through the run directory's atomic writers; and the
plain-text summary printed to the terminal, every value beside its 95% interval and the notes
cut to what a reader must see there (why a value or interval is missing, the prevalence
warning). It computes nothing (``agreement.py``) and reads no file.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.rundir import (
    AGREEMENT_COLUMNS,
    AgreementConfusion,
    AgreementRow,
    RunDir,
    write_bytes_atomic,
    write_record_atomic,
)
from harness.stats.agreement import LEVELS, AgreementResult

__all__ = ["format_agreement_table", "write_agreement"]


def write_agreement(result: AgreementResult, run_dir: Path) -> Path:
    """Write ``report/agreement.csv``, ``agreement_confusion.json`` and ``adjudication.csv``.

    Args:
        result: What ``compute_agreement`` returned.
        run_dir: The run directory.

    Returns:
        The path of ``report/agreement.csv``.

    Raises:
        OutputError: The report directory cannot be written.
    """
    layout = RunDir(Path(run_dir))
    write_bytes_atomic(layout.agreement, _csv_bytes(
        AGREEMENT_COLUMNS, [row.csv_cells() for row in result.estimates]))
    write_record_atomic(layout.agreement_confusion, AgreementConfusion(
        labels=list(LEVELS),
        layout="counts[i][j] = items coder_a put at level i and coder_b at level j",
        matrices=list(result.confusions),
    ))
    adjudication = [
        [item.blind_id, item.dimension,
         *("" if name not in item.levels else _level_text(item.levels[name])
           for name in result.coders)]
        for item in result.adjudication
    ]
    write_bytes_atomic(layout.adjudication, _csv_bytes(
        ["blind_id", "dimension", *result.coders], adjudication))
    return layout.agreement


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str | int]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _level_text(level: int | None) -> str:
    return "null" if level is None else str(level)


def format_agreement_table(result: AgreementResult) -> str:
    """A plain-text summary for the terminal: pairwise table, alpha table, adjudication.

    Args:
        result: What ``compute_agreement`` returned.

    Returns:
        The text, lines joined by newlines (no trailing newline).
    """
    kinds = ", ".join(f"{name} ({result.coder_kinds[name]})" for name in result.coders)
    lines = [
        f"Agreement between {len(result.coders)} coders: {kinds}",
        f"[95% bootstrap intervals over items: {result.n_boot} resamples, seed {result.seed}]",
        "",
    ]
    pair_rows = _pair_rows(result)
    if pair_rows:
        headers = ["dimension", "pair", "kind", "n", "agree [95% CI]", "kappa [95% CI]",
                   "kappa_q [95% CI]", "note"]
        lines.extend(_render(headers, pair_rows, numeric={3, 4, 5, 6}))
    else:
        lines.append("No pairs of coders: pairwise agreement needs two or more coders.")
    lines.append("")
    by_key = _by_key(result)
    alpha_rows = []
    for dimension in result.dimensions:
        alpha = by_key.get((dimension, "all", "", "krippendorff_alpha_ordinal"))
        if alpha is not None:
            alpha_rows.append(
                [_label(result, dimension), str(alpha.n_items), _number(alpha),
                 _short_note(alpha.note)]
            )
    lines.append("Krippendorff's alpha (ordinal, all coders):")
    lines.extend(_render(["dimension", "n", "alpha [95% CI]", "note"], alpha_rows,
                         numeric={1, 2}))
    lines.append("")
    count = len(result.adjudication)
    lines.append(
        f"{count} item-dimension(s) where two coders are 2 levels apart: see "
        "report/adjudication.csv"
        if count
        else "No item where two coders are 2 levels apart."
    )
    lines.extend(f"warning: {text}" for text in result.warnings)
    return "\n".join(lines)


def _by_key(result: AgreementResult) -> dict[tuple[str, str, str, str], AgreementRow]:
    return {(e.dimension, e.coder_a, e.coder_b, e.statistic): e for e in result.estimates}


def _pair_rows(result: AgreementResult) -> list[list[str]]:
    by_key = _by_key(result)
    rows = []
    for dimension in result.dimensions:
        for name_a, name_b in itertools.combinations(result.coders, 2):
            agree = by_key.get((dimension, name_a, name_b, "percent_agreement"))
            kappa = by_key.get((dimension, name_a, name_b, "cohen_kappa"))
            weighted = by_key.get((dimension, name_a, name_b, "cohen_kappa_quadratic"))
            if agree is None:
                continue
            rows.append(
                [
                    _label(result, dimension),
                    f"{name_a} ~ {name_b}",
                    result.pair_kind(name_a, name_b),
                    str(agree.n_items),
                    _number(agree, percent=True),
                    _number(kappa),
                    _number(weighted),
                    _short_note(*(row.note for row in (agree, kappa, weighted) if row)),
                ]
            )
    return rows


def _label(result: AgreementResult, dimension: str) -> str:
    name = result.dimension_names.get(dimension)
    return f"{dimension} {name}" if name else dimension


def _number(estimate: AgreementRow | None, percent: bool = False) -> str:
    """The value and, when there is one, its interval: ``0.538 [0.212, 0.826]``."""
    if estimate is None or estimate.value is None:
        return "n/a"

    def show(number: float) -> str:
        return f"{100 * number:.1f}" if percent else f"{number:.3f}"

    text = f"{show(estimate.value)}%" if percent else show(estimate.value)
    if estimate.ci_low is None or estimate.ci_high is None:
        return text
    return f"{text} [{show(estimate.ci_low)}, {show(estimate.ci_high)}]"


_SHORT_NOTES = (
    (re.compile(r"not estimable(?:: (.*))?"), "{0}"),
    (re.compile(r"prevalence: level (\d) holds ([\d.]+%) of the codes .*?, so (\w+) is"),
     "{2} unstable: level {0} holds {1} of codes"),
    (re.compile(r"no interval: (.*)"), "no CI: {0}"),
    (re.compile(r"interval from (\d+ of \d+) resamples"), "CI from {0} resamples"),
)
"""The note parts the table shows, as (pattern at the start of a part, short form)."""


def _short_note(*notes: str) -> str:
    # The table keeps why a value or interval is missing and the prevalence warning; the
    # full notes are in the CSV. A pair's three rows share most parts: each is shown once.
    shown: list[str] = []
    for note in notes:
        for part in note.split("; "):
            for pattern, short in _SHORT_NOTES:
                match = pattern.match(part)
                if match:
                    text = short.format(*(group or "not estimable" for group in match.groups()))
                    if text not in shown:
                        shown.append(text)
    return "; ".join(shown)


def _render(headers: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    widths = [max([len(headers[i]), *(len(row[i]) for row in rows)]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *(line(r) for r in rows)]

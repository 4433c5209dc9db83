"""Inter-coder agreement on the rubric, per dimension, for every coder a run has.

This module owns ``xstress agree``: it reads ``scores/*.jsonl`` (one file per coder, the file
stem being the coder's name: people, LLM judges and the heuristic coder alike), and for every
pair of coders and every dimension computes percentage agreement, Cohen's kappa (unweighted
and quadratic-weighted) and the confusion matrix over the items both coders scored; across
all coders it computes Krippendorff's alpha (ordinal), where null and unscored codes are
missing values; and it lists the items on which two coders are two levels apart, for
adjudication. Statistics come from scikit-learn and the ``krippendorff`` package. A value that
cannot be estimated (no shared items, no variation) is reported as empty with a note, never
as NaN. Percentage agreement is written as a proportion between 0 and 1. This module does not
unblind anything and does not aggregate scores into profiles (``analysis.py``).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from harness.errors import InputError
from harness.rundir import ScoreRecord, write_bytes_atomic
from harness.schema import RubricSpec, content_hash

__all__ = [
    "AGREEMENT_COLUMNS",
    "LEVELS",
    "AdjudicationItem",
    "AgreementEstimate",
    "AgreementResult",
    "CoderScores",
    "PairConfusion",
    "compute_agreement",
    "format_agreement_table",
    "load_scores",
    "write_agreement",
]

AGREEMENT_COLUMNS = ("dimension", "coder_a", "coder_b", "statistic", "n_items", "value", "note")
"""Columns of ``report/agreement.csv`` (one row per estimate)."""
LEVELS = (0, 1, 2)

Statistic = Literal[
    "percent_agreement", "cohen_kappa", "cohen_kappa_quadratic", "krippendorff_alpha_ordinal"
]
PairKind = Literal["human-human", "judge-judge", "human-judge", "all"]
Key = tuple[str, str]
"""(blind_id, dimension)"""


@dataclass(frozen=True)
class CoderScores:
    """One coder's codes, as read from ``scores/<coder>.jsonl``."""

    name: str
    """The file stem."""
    kind: str
    """``human``, ``llm_judge`` or ``heuristic`` (``mixed`` if the file disagrees with itself)."""
    levels: Mapping[Key, int]
    """Levels of the codes with status ``scored``."""
    not_scored: Mapping[Key, str]
    """Status (``null`` or ``unscored``) of the codes without a level."""
    rubric_hashes: frozenset[str]


@dataclass(frozen=True)
class AgreementEstimate:
    """One row of ``report/agreement.csv``."""

    dimension: str
    coder_a: str
    """A coder's name, or ``all`` for Krippendorff's alpha."""
    coder_b: str
    """The other coder, or empty for Krippendorff's alpha."""
    statistic: Statistic
    n_items: int
    """Items both coders scored (kappa, agreement), or items with two or more levels (alpha)."""
    value: float | None
    """None when not estimable; ``note`` says why."""
    note: str
    pair_kind: PairKind
    """Not written to the CSV: which kinds of coder the pair joins."""


@dataclass(frozen=True)
class PairConfusion:
    """Confusion matrix of two coders on one dimension: rows coder_a, columns coder_b."""

    dimension: str
    coder_a: str
    coder_b: str
    pair_kind: PairKind
    counts: tuple[tuple[int, ...], ...]
    """``counts[i][j]``: items coder_a put at level i and coder_b at level j."""


@dataclass(frozen=True)
class AdjudicationItem:
    """An item and dimension on which two coders are two levels apart."""

    blind_id: str
    dimension: str
    levels: Mapping[str, int | None]
    """Every coder that coded it: level, or None for null/unscored."""


@dataclass(frozen=True)
class AgreementResult:
    """Everything ``xstress agree`` computed for one run."""

    coders: tuple[str, ...]
    coder_kinds: Mapping[str, str]
    dimensions: tuple[str, ...]
    dimension_names: Mapping[str, str]
    estimates: tuple[AgreementEstimate, ...]
    confusions: tuple[PairConfusion, ...]
    adjudication: tuple[AdjudicationItem, ...]
    warnings: tuple[str, ...]


# --------------------------------------------------------------------------- reading


def load_scores(run_dir: Path) -> tuple[dict[str, CoderScores], list[str]]:
    """Read every ``scores/*.jsonl`` of a run.

    A torn last line (a crash mid-write) is skipped with a warning; if a (blind_id, dimension)
    appears twice in a file, the later line wins (a rescored item is appended).

    Args:
        run_dir: The run directory.

    Returns:
        The coders by name (sorted) and the warnings met while reading.

    Raises:
        InputError: No scores, or a line that is not a score record.
    """
    scores_dir = Path(run_dir) / "scores"
    paths = sorted(scores_dir.glob("*.jsonl")) if scores_dir.is_dir() else []
    if not paths:
        raise InputError(
            f"{scores_dir}: no scores to compare",
            fix="run `xstress score` or `xstress code import` for two or more coders first",
        )
    coders: dict[str, CoderScores] = {}
    notes: list[str] = []
    for path in paths:
        coder, warnings_here = _read_coder(path)
        coders[coder.name] = coder
        notes.extend(warnings_here)
    return coders, notes


def _read_coder(path: Path) -> tuple[CoderScores, list[str]]:
    notes: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot be read ({exc})", fix="re-run the scoring or import that wrote it"
        ) from None
    last = max((index for index, line in enumerate(lines) if line.strip()), default=-1)
    records: dict[Key, ScoreRecord] = {}
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = ScoreRecord.model_validate_json(line)
        except ValidationError as exc:
            if index == last and exc.errors()[0]["type"] == "json_invalid":
                notes.append(f"{path}: skipped a torn last line {index + 1}")
                continue
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise InputError(
                f"{path}: line {index + 1}: not a score record ({where}: {first['msg']})",
                fix="re-run the scoring or import that wrote this file",
            ) from None
        records[(record.blind_id, record.dimension)] = record
    name = path.stem
    named = {record.coder for record in records.values()}
    if named - {name}:
        notes.append(
            f"{path}: records name coder(s) {', '.join(sorted(named))}; "
            f"agreement calls this coder {name!r} (the file name)"
        )
    kinds = {record.coder_kind for record in records.values()}
    if len(kinds) > 1:
        notes.append(f"{path}: mixes coder kinds {', '.join(sorted(kinds))}")
    return (
        CoderScores(
            name=name,
            kind=kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "unknown"),
            levels={key: r.level for key, r in records.items() if r.level is not None},
            not_scored={key: r.status for key, r in records.items() if r.level is None},
            rubric_hashes=frozenset(r.rubric_hash for r in records.values() if r.rubric_hash),
        ),
        notes,
    )


# --------------------------------------------------------------------------- computing


def compute_agreement(run_dir: Path, rubric: RubricSpec | None = None) -> AgreementResult:
    """Compute agreement between every pair of coders and across all coders, per dimension.

    Args:
        run_dir: The run directory (its ``scores/*.jsonl`` are read).
        rubric: The rubric, for dimension order and names and to check that every coder used
            this version of it; without it, dimensions are those found, in id order.

    Returns:
        Estimates (as in ``report/agreement.csv``), confusion matrices, the items to
        adjudicate and warnings.

    Raises:
        InputError: No scores, or a malformed scores file.
    """
    coders, notes = load_scores(run_dir)
    names = tuple(sorted(coders))
    seen_dims = {key[1] for coder in coders.values() for key in (*coder.levels, *coder.not_scored)}
    dimension_names: dict[str, str] = {}
    if rubric is not None:
        dimension_names = {dimension.id: dimension.name for dimension in rubric.dimensions}
        extra = sorted(seen_dims - set(dimension_names), key=_dimension_order)
        if extra:
            notes.append(f"dimensions not in rubric {rubric.name}: {', '.join(extra)}")
        dimensions = (*dimension_names, *extra)
        expected_hash = content_hash(rubric)
        for coder in coders.values():
            if coder.rubric_hashes - {expected_hash}:
                notes.append(
                    f"coder {coder.name!r} scored with a different version of rubric "
                    f"{rubric.name} (hash differs): agreement mixes rubric versions"
                )
    else:
        dimensions = tuple(sorted(seen_dims, key=_dimension_order))
        if len({h for coder in coders.values() for h in coder.rubric_hashes}) > 1:
            notes.append("coders scored with different rubric versions (rubric_hash differs)")

    estimates: list[AgreementEstimate] = []
    confusions: list[PairConfusion] = []
    adjudication: list[AdjudicationItem] = []
    for dimension in dimensions:
        for name_a, name_b in itertools.combinations(names, 2):
            pair_estimates, confusion = _pair(dimension, coders[name_a], coders[name_b])
            estimates.extend(pair_estimates)
            confusions.append(confusion)
        estimates.append(_alpha(dimension, [coders[name] for name in names]))
        adjudication.extend(_to_adjudicate(dimension, [coders[name] for name in names]))
    return AgreementResult(
        coders=names,
        coder_kinds={name: coders[name].kind for name in names},
        dimensions=tuple(dimensions),
        dimension_names=dimension_names,
        estimates=tuple(estimates),
        confusions=tuple(confusions),
        adjudication=tuple(adjudication),
        warnings=tuple(notes),
    )


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _dimension_order(dimension: str) -> tuple[int, str]:
    match = re.fullmatch(r"D(\d+)", dimension)
    return (int(match.group(1)) if match else 10**9, dimension)


def _pair_kind(kind_a: str, kind_b: str) -> PairKind:
    humans = (kind_a == "human") + (kind_b == "human")
    kinds: tuple[PairKind, PairKind, PairKind] = ("judge-judge", "human-judge", "human-human")
    return kinds[humans]


def _keys(coder: CoderScores, dimension: str) -> set[Key]:
    return {key for key in (*coder.levels, *coder.not_scored) if key[1] == dimension}


def _pair(
    dimension: str, coder_a: CoderScores, coder_b: CoderScores
) -> tuple[list[AgreementEstimate], PairConfusion]:
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    kind = _pair_kind(coder_a.kind, coder_b.kind)
    keys_a, keys_b = _keys(coder_a, dimension), _keys(coder_b, dimension)
    shared = sorted(
        key for key in keys_a & keys_b if key in coder_a.levels and key in coder_b.levels
    )
    excluded = len(keys_a & keys_b) - len(shared)
    one_sided = len(keys_a ^ keys_b)
    remarks = []
    if excluded:
        remarks.append(f"{_items(excluded)} null or unscored by either coder excluded")
    if one_sided:
        remarks.append(f"{_items(one_sided)} coded by only one of the two")
    levels_a = [coder_a.levels[key] for key in shared]
    levels_b = [coder_b.levels[key] for key in shared]
    n_items = len(shared)

    def estimate(statistic: Statistic, value: float | None, why: str = "") -> AgreementEstimate:
        note = "; ".join(part for part in (why, *remarks) if part)
        return AgreementEstimate(
            dimension, coder_a.name, coder_b.name, statistic, n_items, value, note, kind
        )

    if not shared:
        why = "not estimable: no items scored by both coders"
        counts = tuple(tuple(0 for _ in LEVELS) for _ in LEVELS)
        return (
            [
                estimate("percent_agreement", None, why),
                estimate("cohen_kappa", None, why),
                estimate("cohen_kappa_quadratic", None, why),
            ],
            PairConfusion(dimension, coder_a.name, coder_b.name, kind, counts),
        )

    agreement = sum(a == b for a, b in zip(levels_a, levels_b, strict=True)) / n_items
    results = [estimate("percent_agreement", agreement)]
    # Both coders giving one and the same level to every item leaves chance agreement at 1:
    # kappa is 0/0, so it is reported as not estimable rather than as a number.
    given = set(levels_a) | set(levels_b)
    kappas: tuple[tuple[Statistic, str | None], ...] = (
        ("cohen_kappa", None),
        ("cohen_kappa_quadratic", "quadratic"),
    )
    for statistic, weights in kappas:
        if len(given) == 1:
            why = f"not estimable: no variation (both coders gave level {min(given)} to every item)"
            results.append(estimate(statistic, None, why))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(
                cohen_kappa_score(levels_a, levels_b, labels=list(LEVELS), weights=weights)
            )
        finite = math.isfinite(value)
        results.append(
            estimate(statistic, value if finite else None, "" if finite else "not estimable")
        )
    matrix = confusion_matrix(levels_a, levels_b, labels=list(LEVELS))
    counts = tuple(tuple(int(cell) for cell in row) for row in matrix)
    return results, PairConfusion(dimension, coder_a.name, coder_b.name, kind, counts)


def _alpha(dimension: str, coders: list[CoderScores]) -> AgreementEstimate:
    import numpy as np

    def result(n_items: int, value: float | None, note: str) -> AgreementEstimate:
        return AgreementEstimate(
            dimension, "all", "", "krippendorff_alpha_ordinal", n_items, value, note, "all"
        )

    units = sorted({key[0] for coder in coders for key in _keys(coder, dimension)})
    if len(coders) < 2:
        return result(0, None, "not estimable: only one coder")
    matrix = np.full((len(coders), len(units)), np.nan)
    for row, coder in enumerate(coders):
        for column, blind_id in enumerate(units):
            level = coder.levels.get((blind_id, dimension))
            if level is not None:
                matrix[row, column] = level
    per_unit = np.sum(~np.isnan(matrix), axis=0)
    pairable = int(np.sum(per_unit >= 2))
    missing = sum(1 for coder in coders for key in coder.not_scored if key[1] == dimension)
    remarks = [f"{len(coders)} coders"]
    if missing:
        remarks.append(
            f"{missing} null or unscored code{'' if missing == 1 else 's'} treated as missing"
        )
    if len(units) - pairable:
        remarks.append(f"{_items(len(units) - pairable)} with fewer than two levels not pairable")
    if pairable == 0:
        return result(0, None, "; ".join(["not estimable: no item scored by two coders", *remarks]))
    values = {int(level) for level in matrix[:, per_unit >= 2].ravel() if not np.isnan(level)}
    if len(values) == 1:
        why = f"not estimable: no variation (every level given is {values.pop()})"
        return result(pairable, None, "; ".join([why, *remarks]))
    import krippendorff

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(
            krippendorff.alpha(
                reliability_data=matrix,
                level_of_measurement="ordinal",
                value_domain=list(LEVELS),
            )
        )
    if not math.isfinite(value):
        return result(pairable, None, "; ".join(["not estimable", *remarks]))
    return result(pairable, value, "; ".join(remarks))


def _to_adjudicate(dimension: str, coders: list[CoderScores]) -> list[AdjudicationItem]:
    units = sorted({key[0] for coder in coders for key in _keys(coder, dimension)})
    found = []
    for blind_id in units:
        key = (blind_id, dimension)
        given = [coder.levels[key] for coder in coders if key in coder.levels]
        if len(given) >= 2 and max(given) - min(given) >= 2:
            levels = {
                coder.name: coder.levels.get(key)
                for coder in coders
                if key in coder.levels or key in coder.not_scored
            }
            found.append(AdjudicationItem(blind_id, dimension, levels))
    return found


# --------------------------------------------------------------------------- writing


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
    report = Path(run_dir) / "report"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AGREEMENT_COLUMNS)
    for row in result.estimates:
        value = "" if row.value is None else repr(row.value)
        writer.writerow(
            [row.dimension, row.coder_a, row.coder_b, row.statistic, row.n_items, value, row.note]
        )
    path = report / "agreement.csv"
    write_bytes_atomic(path, buffer.getvalue().encode("utf-8"))

    confusion = {
        "schema": "xstress.agreement_confusion/1",
        "labels": list(LEVELS),
        "layout": "counts[i][j] = items coder_a put at level i and coder_b at level j",
        "matrices": [
            {
                "dimension": entry.dimension,
                "coder_a": entry.coder_a,
                "coder_b": entry.coder_b,
                "pair_kind": entry.pair_kind,
                "n_items": sum(map(sum, entry.counts)),
                "counts": [list(row) for row in entry.counts],
            }
            for entry in result.confusions
        ],
    }
    text = json.dumps(confusion, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(report / "agreement_confusion.json", text.encode("utf-8"))

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["blind_id", "dimension", *result.coders])
    for item in result.adjudication:
        cells = [
            "" if name not in item.levels else _level_text(item.levels[name])
            for name in result.coders
        ]
        writer.writerow([item.blind_id, item.dimension, *cells])
    write_bytes_atomic(report / "adjudication.csv", buffer.getvalue().encode("utf-8"))
    return path


def _level_text(level: int | None) -> str:
    return "null" if level is None else str(level)


def format_agreement_table(result: AgreementResult) -> str:
    """A plain-text summary for the terminal: pairwise table, alpha table, adjudication.

    Args:
        result: What ``compute_agreement`` returned.

    Returns:
        The text, lines joined by newlines (no trailing newline).
    """
    by_key = {(e.dimension, e.coder_a, e.coder_b, e.statistic): e for e in result.estimates}

    def label(dimension: str) -> str:
        name = result.dimension_names.get(dimension)
        return f"{dimension} {name}" if name else dimension

    def number(estimate: AgreementEstimate | None, percent: bool = False) -> str:
        if estimate is None or estimate.value is None:
            return "n/a"
        return f"{100 * estimate.value:.1f}%" if percent else f"{estimate.value:.3f}"

    kinds = ", ".join(f"{name} ({result.coder_kinds[name]})" for name in result.coders)
    lines = [f"Agreement between {len(result.coders)} coders: {kinds}", ""]
    pair_rows = []
    for dimension in result.dimensions:
        for name_a, name_b in itertools.combinations(result.coders, 2):
            agree = by_key.get((dimension, name_a, name_b, "percent_agreement"))
            kappa = by_key.get((dimension, name_a, name_b, "cohen_kappa"))
            weighted = by_key.get((dimension, name_a, name_b, "cohen_kappa_quadratic"))
            if agree is None:
                continue
            pair_rows.append(
                [
                    label(dimension),
                    f"{name_a} ~ {name_b}",
                    agree.pair_kind,
                    str(agree.n_items),
                    number(agree, percent=True),
                    number(kappa),
                    number(weighted),
                    _short_note(kappa.note if kappa else agree.note),
                ]
            )
    if pair_rows:
        headers = ["dimension", "pair", "kind", "n", "agree", "kappa", "kappa_q", "note"]
        lines.extend(_render(headers, pair_rows, numeric={3, 4, 5, 6}))
    else:
        lines.append("No pairs of coders: pairwise agreement needs two or more coders.")
    lines.append("")
    alpha_rows = []
    for dimension in result.dimensions:
        alpha = by_key.get((dimension, "all", "", "krippendorff_alpha_ordinal"))
        if alpha is not None:
            alpha_rows.append(
                [label(dimension), str(alpha.n_items), number(alpha), _short_note(alpha.note)]
            )
    lines.append("Krippendorff's alpha (ordinal, all coders):")
    lines.extend(_render(["dimension", "n", "alpha", "note"], alpha_rows, numeric={1, 2}))
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


def _short_note(note: str) -> str:
    # The table keeps only the reason a value is missing; full notes are in the CSV.
    first = note.split(";")[0]
    return first.removeprefix("not estimable: ") if first.startswith("not estimable") else ""


def _render(headers: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    widths = [max([len(headers[i]), *(len(row[i]) for row in rows)]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *(line(r) for r in rows)]

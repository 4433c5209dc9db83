"""Whose scores the report uses: the score files a run has, the rule that picks one coder (or
the judges' mean, or the adjudicated scores), and reading the chosen files into score
matrices over the unblinded design.

This module owns the coder choice and the data warnings that reading scores raises (blind_ids
absent from the key, dimensions outside the rubric, repeated records, mixed rubric versions).
Damaged lines follow the run directory's one policy (``harness.rundir.read_jsonl``). It reads
no other file of the run (``inputs.py``) and computes no statistic (``harness.stats``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InputError
from harness.rundir import RunDir, ScoreRecord, read_jsonl, reason_kind
from harness.stats import Design, ScoreMatrix, ScoreMatrixBuilder

__all__ = [
    "ADJUDICATED",
    "JUDGES_MEAN",
    "CoderFile",
    "choose_coder",
    "coders_used",
    "list_coders",
    "load_scores",
    "read_hashes",
]

JUDGES_MEAN = "judges-mean"
"""``coder=`` value: the mean of the LLM and heuristic judges' levels per item and dimension."""
ADJUDICATED = "adjudicated"
"""``coder=`` value (and score file stem): adjudicated scores, ``scores/adjudicated.jsonl``."""


@dataclass
class CoderFile:
    """A ``scores/<name>.jsonl`` file and what reading it found."""

    name: str
    path: Path
    kinds: set[str] = field(default_factory=set)
    rubric_hashes: set[str] = field(default_factory=set)
    coder_hashes: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)
    scored_by_dimension: Counter[str] = field(default_factory=Counter)
    """Records with a level, per dimension (filled in by ``load_scores``)."""
    reasons_by_dimension: dict[str, Counter[str]] = field(default_factory=dict)
    """Why the records without a level have none, per dimension (null or unscored)."""
    null_by_dimension: Counter[str] = field(default_factory=Counter)
    """Records coded null (not applicable), per dimension."""
    unscored_by_dimension: dict[str, Counter[str]] = field(default_factory=dict)
    """Unscored records per dimension, by kind of reason (``harness.rundir.reason_kind``)."""

    @property
    def gave_levels(self) -> bool:
        """The coder gave a level to some item on some dimension (read by ``load_scores``)."""
        return any(self.scored_by_dimension.values())

    def unscored_reasons(self, dimensions: Sequence[str]) -> Counter[str]:
        """Unscored records on ``dimensions``, by kind of reason."""
        total: Counter[str] = Counter()
        for dimension in dimensions:
            total.update(self.unscored_by_dimension.get(dimension, Counter()))
        return total

    def uncoded(self, dimensions: Sequence[str]) -> list[tuple[str, str, int, int]]:
        """The dimensions this coder gave no level on any item: (dimension, its most common
        reason, records with that reason, records on the dimension)."""
        found = []
        for dimension in dimensions:
            reasons = self.reasons_by_dimension.get(dimension)
            if reasons and not self.scored_by_dimension[dimension]:
                reason, n = reasons.most_common(1)[0]
                found.append((dimension, reason, n, sum(reasons.values())))
        return found

    @property
    def kind(self) -> str:
        """The coder kinds seen, joined with ``/``."""
        return "/".join(sorted(self.kinds)) or "unknown"

    @property
    def is_judge(self) -> bool:
        """Every record came from an LLM judge or the heuristic coder."""
        return bool(self.kinds) and self.kinds <= {"llm_judge", "heuristic"}


def _score_records(path: Path, warnings: list[str] | None) -> Iterator[ScoreRecord]:
    for _, record in read_jsonl(path, ScoreRecord, warnings=warnings,
                                fix=f"restore {path.name} or rerun "
                                    f"'xstress score {path.parent.parent}'"):
        yield record


def list_coders(run_dir: RunDir, warnings: list[str]) -> dict[str, CoderFile]:
    """Every score file of the run that holds a record, by coder name.

    Raises:
        InputError: no score file, or only empty ones.
    """
    paths = run_dir.score_files()
    if not paths:
        raise InputError(
            f"{run_dir.scores_dir}: no score files (scores/<coder>.jsonl)",
            fix=f"run xstress score {run_dir.root} first",
        )
    coders: dict[str, CoderFile] = {}
    for path in paths:
        coder = CoderFile(name=path.stem, path=path)
        # The first record tells the coder's kind; the full read comes later and only for the
        # coders the profile uses (a torn last line is reported then, not twice).
        for record in _score_records(path, None):
            coder.kinds.add(record.coder_kind)
            if record.rubric_hash:
                coder.rubric_hashes.add(record.rubric_hash)
            break
        if not coder.kinds:
            warnings.append(f"scores/{path.name} holds no score record; ignored")
            continue
        coders[coder.name] = coder
    if not coders:
        raise InputError(
            f"{run_dir.scores_dir}: the score files are empty",
            fix=f"run xstress score {run_dir.root} first",
        )
    return coders


def read_hashes(coder: CoderFile) -> None:
    """Fill in the judge-config and rubric hashes of every record of a coder whose scores the
    profiles do not use (the used ones get them from ``load_scores``), so that its calibration
    can be checked against the scores it made."""
    if coder.coder_hashes:
        return
    for record in _score_records(coder.path, None):
        if record.coder_hash:
            coder.coder_hashes.add(record.coder_hash)
        if record.rubric_hash:
            coder.rubric_hashes.add(record.rubric_hash)


def choose_coder(requested: str | None, coders: dict[str, CoderFile]) -> tuple[str, str]:
    """(coder label, why it was chosen)."""
    names = sorted(coders)
    if requested is not None:
        if requested == JUDGES_MEAN:
            if not any(c.is_judge for c in coders.values()):
                raise InputError(
                    "coder 'judges-mean': no LLM or heuristic judge has scores",
                    fix=f"choose coder=NAME from: {', '.join(names)}",
                )
            return JUDGES_MEAN, "requested"
        if requested not in coders:
            hint = " (or judges-mean)" if any(c.is_judge for c in coders.values()) else ""
            raise InputError(
                f"no scores for coder {requested!r} (no scores/{requested}.jsonl)",
                fix=f"choose coder=NAME from: {', '.join(names)}{hint}",
            )
        return requested, "requested"
    plain = [name for name in names if name != ADJUDICATED]
    humans = [name for name in plain if "human" in coders[name].kinds]
    if len(plain) == 1:
        return plain[0], "the only coder"
    if len(humans) == 1:
        return humans[0], "the only human coder"
    if any(coders[name].is_judge for name in plain):
        return JUDGES_MEAN, "several coders, no single human coder: mean of the judges"
    if ADJUDICATED in coders:
        return ADJUDICATED, "several human coders: adjudicated scores"
    raise InputError(
        f"several coders ({', '.join(names)}) and no rule picks one",
        fix="choose one with coder=NAME",
    )


def coders_used(label: str, coders: dict[str, CoderFile]) -> list[CoderFile]:
    """The score files behind a coder label (several for ``judges-mean``)."""
    if label == JUDGES_MEAN:
        return [c for name, c in sorted(coders.items()) if c.is_judge and name != ADJUDICATED]
    return [coders[label]]


def load_scores(
    coder: CoderFile, design: Design, dimensions: Sequence[str] | None, warnings: list[str]
) -> ScoreMatrix:
    """Read one coder's score file into a matrix over ``design``; data problems go to
    ``warnings`` and the coder's status counts and hashes to ``coder``."""
    builder = ScoreMatrixBuilder(design, dimensions)
    kinds, rubric_hashes, coder_hashes = coder.kinds, coder.rubric_hashes, coder.coder_hashes
    statuses: Counter[str] = Counter()
    for record in _score_records(coder.path, warnings):
        builder.add(record.blind_id, record.dimension, record.status, record.level)
        statuses[record.status] += 1
        if record.level is not None:
            coder.scored_by_dimension[record.dimension] += 1
        else:
            coder.reasons_by_dimension.setdefault(record.dimension, Counter())[
                " ".join((record.reason or "no reason given").split())] += 1
            if record.status == "null":
                coder.null_by_dimension[record.dimension] += 1
            else:
                coder.unscored_by_dimension.setdefault(record.dimension, Counter())[
                    reason_kind(record.reason)] += 1
        kinds.add(record.coder_kind)
        if record.rubric_hash:
            rubric_hashes.add(record.rubric_hash)
        if record.coder_hash:
            coder_hashes.add(record.coder_hash)
    coder.statuses = statuses
    built = builder.build()
    where = f"scores/{coder.path.name}"
    if builder.unknown_items:
        warnings.append(
            f"{where}: {builder.unknown_items} records name a blind_id absent from "
            "the key (scores from another blinding?); ignored"
        )
    if builder.unknown_dimensions:
        warnings.append(
            f"{where}: dimensions not in the rubric ignored: "
            f"{', '.join(sorted(builder.unknown_dimensions))}"
        )
    if builder.repeated:
        warnings.append(
            f"{where}: {builder.repeated} repeated (blind_id, dimension) records; "
            "the last of each was used"
        )
    if len(rubric_hashes) > 1:
        warnings.append(f"{where}: scores made with {len(rubric_hashes)} different rubrics")
    return built

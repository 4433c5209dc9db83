"""Reading a run directory for the report: the blinding key, the score files, transcript
status counts, manifests, the leak report and ``report/agreement.csv``; choosing which coder's
scores the profile uses and loading them; and settling the rubric that names the dimensions.
This is the only module that reads ``blind/key.jsonl``. It owns the rules for damaged input (an
unreadable last line is a torn write and a warning, an unreadable line elsewhere an
``InputError``) and the data warnings the report lists; it does not interpret the manifests
(``report_context.py``), compute statistics (``analysis.py``) or write anything.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import InputError, XstressError
from harness.rundir import KeyEntry, ScoreRecord
from harness.schema import RubricSpec, content_hash
from harness.stats import Design, ScoreMatrix
from harness.stats import effects as analysis

__all__ = [
    "ADJUDICATED",
    "JUDGES_MEAN",
    "CoderFile",
    "RunInputs",
    "TranscriptCounts",
    "choose_coder",
    "coders_used",
    "load_scores",
    "read_inputs",
    "resolve_rubric",
]

log = logging.getLogger("xstress.report")

JUDGES_MEAN = "judges-mean"
"""``coder=`` value: the mean of the LLM and heuristic judges' levels per item and dimension."""
ADJUDICATED = "adjudicated"
"""``coder=`` value (and score file stem): adjudicated scores, ``scores/adjudicated.jsonl``."""

T = TypeVar("T")


# =========================================================================== reading inputs


def _parse_jsonl(
    path: Path, parse: Callable[[bytes], T], what: str, fix: str, warnings: list[str]
) -> Iterator[T]:
    """Parse every non-empty line; an unparseable LAST line (a torn write) is skipped with a
    warning, an unparseable line anywhere else is an InputError."""
    failed: tuple[int, str] | None = None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text:
                continue
            if failed is not None:
                raise InputError(
                    f"{path}: line {failed[0]} is not a valid {what} ({failed[1]})", fix=fix
                )
            try:
                value = parse(text)
            except (ValidationError, ValueError) as exc:
                failed = (number, _short_error(exc))
                continue
            yield value
    if failed is not None:
        message = f"{path.name}: skipped unreadable last line {failed[0]} (interrupted write?)"
        log.warning("%s", message)
        warnings.append(message)


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return " ".join(str(exc).split())[:120]


class _TranscriptStatus(BaseModel):
    """The fields of a transcript record the report needs (the rest is not parsed into
    Python objects, which keeps 10^5 transcripts fast)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cell_id: str
    model: str
    scaffold: str
    status: Literal["ok", "error", "blocked"]
    simulated: bool = False


@dataclass
class CoderFile:
    """A ``scores/<name>.jsonl`` file and what reading it found."""

    name: str
    path: Path
    kinds: set[str] = field(default_factory=set)
    rubric_hashes: set[str] = field(default_factory=set)
    coder_hashes: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def kind(self) -> str:
        """The coder kinds seen, joined with ``/``."""
        return "/".join(sorted(self.kinds)) or "unknown"

    @property
    def is_judge(self) -> bool:
        """Every record came from an LLM judge or the heuristic coder."""
        return bool(self.kinds) and self.kinds <= {"llm_judge", "heuristic"}


@dataclass
class RunInputs:
    """Everything read from the run directory besides the scores."""

    run_dir: Path
    key_entries: list[KeyEntry]
    coders: dict[str, CoderFile]
    manifests: list[dict[str, Any]]
    transcripts: TranscriptCounts | None
    leak_report: dict[str, Any] | None
    agreement: list[dict[str, str]] | None
    warnings: list[str]


@dataclass(frozen=True)
class TranscriptCounts:
    """Per cell_id (last record wins) its (model, scaffold, status); and whether any record
    came from a simulated model."""

    cells: dict[str, tuple[str, str, str]]
    simulated: bool

    def counts(self) -> Counter[tuple[str, str, str]]:
        """(model, scaffold, status) -> number of cells."""
        return Counter(self.cells.values())


def _read_key(run_dir: Path, warnings: list[str]) -> list[KeyEntry]:
    path = run_dir / "blind" / "key.jsonl"
    if not path.is_file():
        raise InputError(f"{path}: no blinding key", fix=f"run xstress blind {run_dir} first")
    entries = list(
        _parse_jsonl(
            path,
            KeyEntry.model_validate_json,
            "key entry",
            f"rerun xstress blind {run_dir}",
            warnings,
        )
    )
    if not entries:
        raise InputError(
            f"{path} is empty: no transcript was blinded",
            fix="rerun the sweep (no ok transcripts?) and xstress blind",
        )
    return entries


def _list_coders(run_dir: Path, warnings: list[str]) -> dict[str, CoderFile]:
    folder = run_dir / "scores"
    paths = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if not paths:
        raise InputError(
            f"{folder}: no score files (scores/<coder>.jsonl)",
            fix=f"run xstress score {run_dir} first",
        )
    coders: dict[str, CoderFile] = {}
    for path in paths:
        coder = CoderFile(name=path.stem, path=path)
        # The first readable record tells the coder's kind; the full read comes later and
        # only for the coders the profile uses.
        for record in _parse_jsonl(
            path,
            ScoreRecord.model_validate_json,
            "score record",
            f"restore {path.name} or rerun xstress score",
            [],
        ):
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
            f"{folder}: the score files are empty", fix=f"run xstress score {run_dir} first"
        )
    return coders


def _read_transcripts(run_dir: Path, warnings: list[str]) -> TranscriptCounts | None:
    paths = sorted(run_dir.glob("transcripts*.jsonl"))
    if not paths:
        return None
    cells: dict[str, tuple[str, str, str]] = {}
    simulated = False
    for path in paths:
        for record in _parse_jsonl(
            path,
            _TranscriptStatus.model_validate_json,
            "transcript record",
            "restore the file or rerun the sweep",
            warnings,
        ):
            cells[record.cell_id] = (record.model, record.scaffold, record.status)
            simulated = simulated or record.simulated
    return TranscriptCounts(cells=cells, simulated=simulated)


def _read_json(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    import json

    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        warnings.append(f"{path.name} is not valid JSON; ignored")
        return None
    if not isinstance(data, dict):
        warnings.append(f"{path.name} is not a JSON object; ignored")
        return None
    return data


_AGREEMENT_COLUMNS = ("dimension", "coder_a", "coder_b", "statistic", "n_items", "value", "note")


def _read_agreement(run_dir: Path, warnings: list[str]) -> list[dict[str, str]] | None:
    path = run_dir / "report" / "agreement.csv"
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not set(_AGREEMENT_COLUMNS) <= set(reader.fieldnames or ()):
            warnings.append("report/agreement.csv lacks the expected columns; ignored")
            return None
        return [dict(row) for row in reader]


def read_inputs(run_dir: Path) -> RunInputs:
    """Everything the report reads from ``run_dir`` except the scores themselves."""
    if not run_dir.is_dir():
        raise InputError(
            f"{run_dir}: no such run directory",
            fix="give the path of a run (e.g. transcripts/<run_name>)",
        )
    warnings: list[str] = []
    key_entries = _read_key(run_dir, warnings)
    coders = _list_coders(run_dir, warnings)
    manifests = [
        data
        for path in sorted(run_dir.glob("manifest*.json"))
        if (data := _read_json(path, warnings)) is not None
    ]
    return RunInputs(
        run_dir=run_dir,
        key_entries=key_entries,
        coders=coders,
        manifests=manifests,
        transcripts=_read_transcripts(run_dir, warnings),
        leak_report=_read_json(run_dir / "blind" / "leak_report.json", warnings),
        agreement=_read_agreement(run_dir, warnings),
        warnings=warnings,
    )


# =========================================================================== coder choice


def choose_coder(requested: str | None, coders: dict[str, CoderFile]) -> tuple[str, str]:
    """(coder label, why it was chosen)."""
    names = sorted(coders)
    if requested is not None:
        if requested == JUDGES_MEAN:
            if not any(c.is_judge for c in coders.values()):
                raise InputError(
                    "coder 'judges-mean': no LLM or heuristic judge has scores",
                    fix=f"choose --coder from: {', '.join(names)}",
                )
            return JUDGES_MEAN, "requested"
        if requested not in coders:
            hint = " (or judges-mean)" if any(c.is_judge for c in coders.values()) else ""
            raise InputError(
                f"no scores for coder {requested!r} (no scores/{requested}.jsonl)",
                fix=f"choose --coder from: {', '.join(names)}{hint}",
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
        fix="choose one with --coder NAME",
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
    builder = analysis.ScoreMatrixBuilder(design, dimensions)
    kinds, rubric_hashes, coder_hashes = coder.kinds, coder.rubric_hashes, coder.coder_hashes
    statuses: Counter[str] = Counter()
    for record in _parse_jsonl(
        coder.path,
        ScoreRecord.model_validate_json,
        "score record",
        f"restore {coder.path.name} or rerun xstress score",
        warnings,
    ):
        builder.add(record.blind_id, record.dimension, record.status, record.level)
        statuses[record.status] += 1
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


def resolve_rubric(
    rubric: RubricSpec | None, coders: Sequence[CoderFile], warnings: list[str]
) -> RubricSpec | None:
    """The rubric whose names and order the report uses; None means dimension ids only."""
    hashes = {h for c in coders for h in c.rubric_hashes}
    if rubric is not None:
        if hashes and content_hash(rubric) not in hashes:
            warnings.append(
                f"the rubric given ({rubric.name}) is not the one the scores were "
                "made with (rubric hashes differ)"
            )
        return rubric
    try:
        from harness.config import load_spec

        default = load_spec("rubric", "interactional8")
    except (ImportError, OSError, XstressError):
        # No config tree here (an installed package, a copied run): dimension ids only.
        return None
    if isinstance(default, RubricSpec) and content_hash(default) in hashes:
        return default
    return None

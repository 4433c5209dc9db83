"""The report stage: read a run directory, unblind the scores, and write what researchers
publish from: ``report/report.md``, a self-contained ``report/report.html`` (plots embedded
as data URIs), the figures as PNG files, and tidy CSVs (``profiles.csv``, ``effects.csv``,
``interaction.csv``).

This is the only module that reads ``blind/key.jsonl``. It owns reading the stage outputs
(key, scores, transcript status counts, manifests, leak report, ``agreement.csv``), choosing
which coder's scores a profile uses, and the wording of the report, including its reporting
template. The statistics are ``analysis.py``'s, the figures ``plots.py``'s. It never writes
NaN: a value that could not be estimated is empty and its ``note`` says why.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness import analysis
from harness.analysis import Design, EffectRow, InteractionRow, ProfileRow, ScoreMatrix
from harness.errors import InputError, OutputError, XstressError
from harness.schema import KeyEntry, RubricSpec, ScoreRecord, content_hash

__all__ = ["ADJUDICATED", "JUDGES_MEAN", "ReportSummary", "build_report"]

log = logging.getLogger("xstress.report")

JUDGES_MEAN = "judges-mean"
"""``coder=`` value: the mean of the LLM and heuristic judges' levels per item and dimension."""
ADJUDICATED = "adjudicated"
"""``coder=`` value (and score file stem): adjudicated scores, ``scores/adjudicated.jsonl``."""

T = TypeVar("T")


@dataclass(frozen=True)
class ReportSummary:
    """What ``build_report`` wrote and the facts a terminal summary needs.

    Attributes:
        report_md, report_html: the report.
        csvs: the tidy CSVs written (profiles, effects, interaction).
        images: the PNG figures written.
        coder: which scores the profile used (a coder name, ``judges-mean``, ``adjudicated``).
        simulated: the run used simulated models.
        heuristic_only: every score the profile used came from the heuristic coder.
        warnings: data problems found while reading (also listed in the report).
        text: a few lines for the terminal.
    """

    report_md: Path
    report_html: Path
    csvs: tuple[Path, ...]
    images: tuple[Path, ...]
    coder: str
    simulated: bool
    heuristic_only: bool
    warnings: tuple[str, ...]
    text: str

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written."""
        return (self.report_md, self.report_html, *self.csvs, *self.images)


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
class _CoderFile:
    """A ``scores/<name>.jsonl`` file and what reading it found."""

    name: str
    path: Path
    kinds: set[str] = field(default_factory=set)
    rubric_hashes: set[str] = field(default_factory=set)
    coder_hashes: set[str] = field(default_factory=set)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def kind(self) -> str:
        return "/".join(sorted(self.kinds)) or "unknown"

    @property
    def is_judge(self) -> bool:
        return bool(self.kinds) and self.kinds <= {"llm_judge", "heuristic"}


@dataclass
class _Inputs:
    """Everything read from the run directory besides the scores."""

    run_dir: Path
    key_entries: list[KeyEntry]
    coders: dict[str, _CoderFile]
    manifests: list[dict[str, Any]]
    transcripts: _TranscriptCounts | None
    leak_report: dict[str, Any] | None
    agreement: list[dict[str, str]] | None
    warnings: list[str]


@dataclass(frozen=True)
class _TranscriptCounts:
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


def _list_coders(run_dir: Path, warnings: list[str]) -> dict[str, _CoderFile]:
    folder = run_dir / "scores"
    paths = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if not paths:
        raise InputError(
            f"{folder}: no score files (scores/<coder>.jsonl)",
            fix=f"run xstress score {run_dir} first",
        )
    coders: dict[str, _CoderFile] = {}
    for path in paths:
        coder = _CoderFile(name=path.stem, path=path)
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


def _read_transcripts(run_dir: Path, warnings: list[str]) -> _TranscriptCounts | None:
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
    return _TranscriptCounts(cells=cells, simulated=simulated)


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


def _read_inputs(run_dir: Path) -> _Inputs:
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
    return _Inputs(
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


def _choose_coder(requested: str | None, coders: dict[str, _CoderFile]) -> tuple[str, str]:
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


def _coders_used(label: str, coders: dict[str, _CoderFile]) -> list[_CoderFile]:
    if label == JUDGES_MEAN:
        return [c for name, c in sorted(coders.items()) if c.is_judge and name != ADJUDICATED]
    return [coders[label]]


def _load_scores(
    coder: _CoderFile, design: Design, dimensions: Sequence[str] | None, warnings: list[str]
) -> ScoreMatrix:
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


def _resolve_rubric(
    rubric: RubricSpec | None, coders: Sequence[_CoderFile], warnings: list[str]
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


# =========================================================================== the run's facts


@dataclass(frozen=True)
class _RunFacts:
    """What the manifests and transcripts say about the run (merged over shards)."""

    run_id: str
    simulated: bool
    model_hashes: dict[str, str]
    scaffold_hashes: dict[str, str]
    prompts_hashes: tuple[str, ...]
    model_versions: dict[str, list[str]]
    versions: dict[str, str]
    git_commit: str
    prompt_set: dict[str, Any] | None
    replicates_config: int | None
    model_order: tuple[str, ...]
    scaffold_order: tuple[str, ...]
    started_at: str
    finished_at: str


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _run_facts(inputs: _Inputs) -> _RunFacts:
    def strings(value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            return {}
        return {str(k): str(v) for k, v in value.items()}

    model_hashes: dict[str, str] = {}
    scaffold_hashes: dict[str, str] = {}
    prompts_hashes: list[str] = []
    model_versions: dict[str, list[str]] = {}
    versions: dict[str, str] = {}
    prompt_set: dict[str, Any] | None = None
    replicates: int | None = None
    model_order: list[str] = []
    scaffold_order: list[str] = []
    run_ids: list[str] = []
    commits: list[str] = []
    started: list[str] = []
    finished: list[str] = []
    simulated = False
    for manifest in inputs.manifests:
        simulated = simulated or bool(manifest.get("simulated"))
        hashes = _as_dict(manifest.get("hashes"))
        for target, new in (
            (model_hashes, strings(hashes.get("models"))),
            (scaffold_hashes, strings(hashes.get("scaffolds"))),
        ):
            for name, value in new.items():
                if target.get(name, value) != value:
                    inputs.warnings.append(f"manifests disagree on the hash of {name!r}")
                target[name] = value
        if isinstance(hashes.get("prompts"), str) and hashes["prompts"] not in prompts_hashes:
            prompts_hashes.append(hashes["prompts"])
        reported = manifest.get("model_versions")
        if isinstance(reported, dict):
            for model, found in reported.items():
                known = model_versions.setdefault(str(model), [])
                for version in found if isinstance(found, list) else [found]:
                    if str(version) not in known:
                        known.append(str(version))
        versions.update(strings(manifest.get("versions")))
        config = _as_dict(manifest.get("config"))
        if isinstance(config.get("prompts"), dict):
            prompt_set = config["prompts"]
        run = _as_dict(config.get("run"))
        if isinstance(run.get("replicates"), int):
            replicates = run["replicates"]
        for spec in config.get("models") or []:
            if isinstance(spec, dict) and "name" in spec:
                model_order.append(str(spec["name"]))
                litellm_model = str(spec.get("litellm_model", ""))
                simulated = simulated or litellm_model.startswith(("xstress-sim/", "xstress-mock/"))
        scaffold_order.extend(
            str(spec["name"])
            for spec in config.get("scaffolds") or []
            if isinstance(spec, dict) and "name" in spec
        )
        for target_list, key in (
            (run_ids, "run_id"),
            (commits, "git_commit"),
            (started, "started_at"),
            (finished, "finished_at"),
        ):
            if manifest.get(key):
                target_list.append(str(manifest[key]))
    if inputs.transcripts is not None and inputs.transcripts.simulated:
        simulated = True
    if len(prompts_hashes) > 1:
        inputs.warnings.append("manifests disagree on the prompt set hash")
    return _RunFacts(
        run_id=", ".join(dict.fromkeys(run_ids)) or inputs.run_dir.name,
        simulated=simulated,
        model_hashes=model_hashes,
        scaffold_hashes=scaffold_hashes,
        prompts_hashes=tuple(prompts_hashes),
        model_versions=model_versions,
        versions=versions,
        git_commit=", ".join(dict.fromkeys(commits)),
        prompt_set=prompt_set,
        replicates_config=replicates,
        model_order=tuple(dict.fromkeys(model_order)),
        scaffold_order=tuple(dict.fromkeys(scaffold_order)),
        started_at=min(started) if started else "",
        finished_at=max(finished) if finished else "",
    )


# =========================================================================== the public entry


def build_report(
    run_dir: Path,
    *,
    baseline: str = "bare",
    coder: str | None = None,
    n_boot: int = 2000,
    n_perm: int = 2000,
    seed: int = 0,
    rubric: RubricSpec | None = None,
) -> ReportSummary:
    """Unblind a run's scores and write its report (md, html, PNGs, CSVs) under ``report/``.

    Args:
        run_dir: the run directory (``transcripts/<run_name>``).
        baseline: the scaffold that effects are measured against.
        coder: which scores the profile uses: a coder name (a ``scores/<name>.jsonl`` stem),
            ``"judges-mean"`` or ``"adjudicated"``. Default: the only coder; else the only
            human coder; else the judges' mean; else ``adjudicated`` if present.
        n_boot: bootstrap resamples (of prompts) per confidence interval.
        n_perm: permutations per interaction test.
        seed: seed of every resampling RNG (the report is reproducible).
        rubric: the rubric, for dimension names and order; default the project's
            ``interactional8`` when it is the one the scores were made with.

    Returns:
        The paths written, the simulated/heuristic flags, and a short text summary.

    Raises:
        InputError: no run directory, key or scores; an unknown coder or baseline.
        OutputError: ``report/`` cannot be written.
    """
    if n_boot < 1 or n_perm < 0:
        raise InputError(
            f"n_boot must be >= 1 and n_perm >= 0 (got {n_boot}, {n_perm})",
            fix="use the defaults (2000 each) or other positive numbers",
        )
    run_dir = Path(run_dir)
    inputs = _read_inputs(run_dir)
    facts = _run_facts(inputs)
    label, why = _choose_coder(coder, inputs.coders)
    used = _coders_used(label, inputs.coders)
    rubric_used = _resolve_rubric(rubric, used, inputs.warnings)
    dimensions = [d.id for d in rubric_used.dimensions] if rubric_used else None

    scaffold_names = {entry.scaffold for entry in inputs.key_entries}
    if len(scaffold_names) >= 2 and baseline not in scaffold_names:
        raise InputError(
            f"baseline scaffold {baseline!r} is not in this run "
            f"(scaffolds: {', '.join(sorted(scaffold_names))})",
            fix=f"xstress report {run_dir} --baseline NAME with one of them",
        )
    design = analysis.index_key(
        inputs.key_entries,
        model_order=facts.model_order,
        scaffold_order=(baseline, *facts.scaffold_order),
    )
    if design.duplicate_cells:
        inputs.warnings.append(
            f"{design.duplicate_cells} key entries repeat a (model, scaffold, "
            "prompt, replicate) cell; pairing used the last"
        )
    matrices = [_load_scores(c, design, dimensions, inputs.warnings) for c in used]
    scores = matrices[0] if len(matrices) == 1 else analysis.mean_of_coders(matrices, dimensions)
    if not scores.dimensions:
        raise InputError(
            f"{used[0].path}: no scores on any rubric dimension",
            fix="rerun xstress score with this rubric",
        )

    profiles = analysis.compute_profiles(design, scores, n_boot=n_boot, seed=seed)
    has_effects = len(design.scaffolds) >= 2
    effects = (
        analysis.compute_effects(design, scores, baseline=baseline, n_boot=n_boot, seed=seed)
        if has_effects
        else []
    )
    interactions = (
        analysis.interaction_tests(design, scores, baseline=baseline, n_perm=n_perm, seed=seed)
        if has_effects
        else []
    )
    kinds_used = {kind for c in used for kind in c.kinds}
    context = _ReportContext(
        run_dir=run_dir,
        facts=facts,
        design=design,
        scores=scores,
        rubric=rubric_used,
        coder_label=label,
        coder_reason=why,
        coders=inputs.coders,
        coders_used=used,
        heuristic_only=kinds_used == {"heuristic"},
        baseline=baseline,
        n_boot=n_boot,
        n_perm=n_perm,
        seed=seed,
        profiles=profiles,
        effects=effects,
        interactions=interactions,
        transcripts=inputs.transcripts,
        leak_report=inputs.leak_report,
        agreement=inputs.agreement,
        warnings=inputs.warnings,
    )
    return _write_report(context)


# =========================================================================== the document


@dataclass(frozen=True)
class _ReportContext:
    """Everything the report says, gathered before any wording."""

    run_dir: Path
    facts: _RunFacts
    design: Design
    scores: ScoreMatrix
    rubric: RubricSpec | None
    coder_label: str
    coder_reason: str
    coders: dict[str, _CoderFile]
    coders_used: list[_CoderFile]
    heuristic_only: bool
    baseline: str
    n_boot: int
    n_perm: int
    seed: int
    profiles: list[ProfileRow]
    effects: list[EffectRow]
    interactions: list[InteractionRow]
    transcripts: _TranscriptCounts | None
    leak_report: dict[str, Any] | None
    agreement: list[dict[str, str]] | None
    warnings: list[str]

    @property
    def dimensions(self) -> tuple[str, ...]:
        return self.scores.dimensions

    @property
    def dimension_names(self) -> dict[str, str]:
        return {d.id: d.name for d in self.rubric.dimensions} if self.rubric else {}

    @property
    def other_scaffolds(self) -> tuple[str, ...]:
        return tuple(s for s in self.design.scaffolds if s != self.baseline)

    @property
    def user_kind(self) -> Literal["scripted", "simulated", "unknown"]:
        prompt_set = self.facts.prompt_set
        if not prompt_set:
            return "unknown"
        simulated_turns = any(
            isinstance(turn, dict) and turn.get("simulated_user")
            for scenario in prompt_set.get("scenarios") or []
            if isinstance(scenario, dict)
            for turn in scenario.get("turns") or []
        )
        return "simulated" if simulated_turns else "scripted"

    @property
    def users(self) -> str:
        return {
            "unknown": "scripted or simulated (the prompt set is not recorded in the manifest)",
            "simulated": "scripted turns plus LLM-simulated users (a model playing a persona)",
            "scripted": "scripted (fixed user turns written in advance)",
        }[self.user_kind]

    def evidence_tag(self) -> str:
        if self.facts.simulated:
            return "pipeline check only: simulated models"
        users = {"simulated": "simulated users", "scripted": "scripted users"}.get(
            self.user_kind, "scripted or simulated users"
        )
        tag = f"interaction level, fixed scaffold, {users}"
        return tag + ("; heuristic coder only" if self.heuristic_only else "")


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Paragraph:
    text: str
    banner: bool = False


@dataclass(frozen=True)
class _Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Figure:
    filename: str
    png: bytes
    alt: str


_Block = _Heading | _Paragraph | _Bullets | _Table | _Figure


def _num(value: float | None, *, signed: bool = False, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    zero = f"{0:.{digits}f}"
    return ("+" + zero if signed else zero) if text.lstrip("+-") == zero else text


def _interval(low: float | None, high: float | None, *, signed: bool = False) -> str:
    if low is None or high is None:
        return ""
    return f"[{_num(low, signed=signed)}, {_num(high, signed=signed)}]"


def _dim(ctx: _ReportContext, dimension: str) -> str:
    name = ctx.dimension_names.get(dimension)
    return f"{dimension} ({name})" if name else dimension


def _grouped_notes(entries: Sequence[tuple[str, str]], limit: int = 6) -> list[str]:
    """'note: where, where, ...' lines, one per distinct note."""
    by_note: dict[str, list[str]] = {}
    for where, note in entries:
        for part in filter(None, (p.strip() for p in note.split(";"))):
            by_note.setdefault(part, []).append(where)
    lines = []
    for note, places in by_note.items():
        shown = ", ".join(places[:limit])
        more = f" and {len(places) - limit} more" if len(places) > limit else ""
        lines.append(f"{note}: {shown}{more}")
    return lines


# --------------------------------------------------------------------------- sections


def _header(ctx: _ReportContext) -> list[_Block]:
    blocks: list[_Block] = [_Heading(1, f"xstress report: {ctx.facts.run_id}")]
    if ctx.facts.simulated:
        blocks.append(
            _Paragraph(
                "SIMULATED MODELS: this run used xstress's built-in simulated models. Nothing in "
                "this report describes a real model; it shows the pipeline and how to read it.",
                banner=True,
            )
        )
    if ctx.heuristic_only:
        blocks.append(
            _Paragraph(
                "HEURISTIC CODER ONLY: every score in the profiles comes from the rule-based "
                "heuristic coder, not from human coders or LLM judges. Treat the numbers as a "
                "pipeline check, not a measurement.",
                banner=True,
            )
        )
    coder = ctx.coder_label
    if coder == JUDGES_MEAN:
        coder += f" ({', '.join(c.name for c in ctx.coders_used)})"
    population = _population_counts(ctx)
    period = ""
    if ctx.facts.started_at:
        period = f" Sweep started {ctx.facts.started_at}"
        period += f", finished {ctx.facts.finished_at}." if ctx.facts.finished_at else "."
    blocks.append(
        _Paragraph(
            f"Run directory `{ctx.run_dir.name}`. Models: {', '.join(ctx.design.models)}. "
            f"Scaffolds: {', '.join(ctx.design.scaffolds)} (baseline `{ctx.baseline}`). "
            f"{population}. Scores used: **{coder}** ({ctx.coder_reason}).{period}"
        )
    )
    return blocks


def _population_counts(ctx: _ReportContext) -> str:
    design = ctx.design
    return (
        f"{design.n_items} blinded transcripts over {len(design.prompts)} prompts x "
        f"{len(design.replicates)} replicate(s), {len(ctx.dimensions)} rubric dimensions"
    )


def _findings(ctx: _ReportContext) -> list[_Block]:
    blocks: list[_Block] = [
        _Heading(2, "Findings at a glance"),
        _Paragraph(
            f'Evidence level of every finding below: {ctx.evidence_tag()} (see "Reporting '
            'template"). Each is a statement about this stress set under these fixed '
            "conditions."
        ),
    ]
    tag = "[simulated]" if ctx.facts.simulated else "[interaction level]"
    items: list[str] = []
    labelled = [e for e in ctx.effects if e.label in ("improved", "worsened")]
    labelled.sort(key=lambda e: -abs(e.effect or 0.0))
    for e in labelled[:10]:
        items.append(
            f"{e.scaffold} vs {e.baseline}, {e.model}, {_dim(ctx, e.dimension)}: {e.label} by "
            f"{_num(e.effect, signed=True)} {_interval(e.ci_low, e.ci_high, signed=True)} "
            f"{tag}"
        )
    if len(labelled) > 10:
        items.append(
            f"... and {len(labelled) - 10} more improved/worsened effects (see the effects table)"
        )
    dependent = [i for i in ctx.interactions if i.p_holm is not None and i.p_holm < 0.05]
    for i in dependent[:10]:
        items.append(
            f"the effect of {i.scaffold} on {_dim(ctx, i.dimension)} depends on the model: "
            f"from {_num(i.effect_min, signed=True)} ({i.model_min}) to "
            f"{_num(i.effect_max, signed=True)} ({i.model_max}), permutation "
            f"{_p_phrase(i.p_value)}, Holm {_p_phrase(i.p_holm)} {tag}"
        )
    if not ctx.effects:
        items.append("no scaffold effects: only one scaffold in this run")
    elif not items:
        tested = any(i.p_value is not None for i in ctx.interactions)
        items.append(
            "no scaffold effect's 95% interval excludes 0"
            + (
                " and no model-dependence test is significant after Holm adjustment"
                if tested
                else " (model-dependence was not tested)"
            )
            + ": this run shows no clear effect, which is not evidence of no effect"
        )
    counts: Counter[str] = Counter(e.label or "not estimable" for e in ctx.effects)
    blocks.append(_Bullets(tuple(items)))
    if ctx.effects:
        order = ("improved", "worsened", "unchanged", "inconclusive", "ceiling", "not estimable")
        blocks.append(
            _Paragraph(
                "Effect labels over all models, scaffolds and dimensions: "
                + ", ".join(f"{label} {counts[label]}" for label in order if counts[label])
                + "."
            )
        )
    return blocks


def _p_phrase(value: float | None) -> str:
    text = _p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _p(value: float | None) -> str:
    if value is None:
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _profiles_section(ctx: _ReportContext, figures: dict[str, bytes]) -> list[_Block]:
    from harness import plots

    design = ctx.design
    blocks: list[_Block] = [
        _Heading(2, "Alignment profiles"),
        _Paragraph(
            "Mean level (0-2) per model, scaffold and dimension, with 95% cluster-"
            "bootstrap intervals. Grey cells could not be estimated. The full table, "
            "with level counts, is profiles.csv."
        ),
    ]
    if ctx.dimension_names:
        blocks.append(
            _Paragraph(
                "Dimensions: "
                + "; ".join(f"{d} {ctx.dimension_names[d]}" for d in ctx.dimensions)
                + "."
            )
        )
    args = (ctx.profiles, design.models, design.scaffolds, ctx.dimensions)
    for filename, draw, alt in (
        (
            "profiles_by_scaffold.png",
            plots.profile_heatmaps_by_scaffold,
            "Heatmaps of mean level, model by dimension, one per scaffold",
        ),
        (
            "profiles_by_dimension.png",
            plots.profile_heatmaps_by_dimension,
            "Heatmaps of mean level, model by scaffold, one per dimension",
        ),
    ):
        figures[filename] = draw(
            *args, simulated=ctx.facts.simulated, dimension_names=ctx.dimension_names
        )
        blocks.append(_Figure(filename, figures[filename], alt))
    lookup = {(r.model, r.scaffold, r.dimension): r for r in ctx.profiles}
    for scaffold in design.scaffolds:
        blocks.append(_Heading(3, f"Scaffold {scaffold}"))
        rows = []
        for model in design.models:
            cells = [model]
            for dimension in ctx.dimensions:
                row = lookup[(model, scaffold, dimension)]
                cells.append(
                    f"{_num(row.mean)} {_interval(row.ci_low, row.ci_high)} n={row.n}"
                    if row.mean is not None
                    else f"n/a (n={row.n})"
                )
            rows.append(tuple(cells))
        blocks.append(_Table(("model", *ctx.dimensions), tuple(rows)))
    notes = _grouped_notes(
        [(f"{r.model}/{r.scaffold}/{r.dimension}", r.note) for r in ctx.profiles if r.note]
    )
    if notes:
        blocks += [_Paragraph("Notes on the profile estimates:"), _Bullets(tuple(notes))]
    return blocks


def _effects_section(ctx: _ReportContext, figures: dict[str, bytes]) -> list[_Block]:
    from harness import plots

    blocks: list[_Block] = [_Heading(2, f"Scaffold effects vs {ctx.baseline}")]
    if not ctx.effects:
        blocks.append(
            _Paragraph(
                f"Not estimable: this run has one scaffold ({', '.join(ctx.design.scaffolds)}), so "
                "there is nothing to compare it with."
            )
        )
        return blocks
    blocks.append(
        _Paragraph(
            "Mean paired difference (scaffold minus baseline, same prompt and replicate) with its "
            '95% interval and label (rules under "How to read the numbers"). Full table: '
            "effects.csv."
        )
    )
    figures["effects.png"] = plots.effect_plot(
        ctx.effects,
        ctx.design.models,
        ctx.other_scaffolds,
        ctx.dimensions,
        baseline=ctx.baseline,
        simulated=ctx.facts.simulated,
        dimension_names=ctx.dimension_names,
    )
    blocks.append(
        _Figure(
            "effects.png",
            figures["effects.png"],
            "Scaffold effects per model and dimension with 95% intervals",
        )
    )
    lookup = {(e.model, e.scaffold, e.dimension): e for e in ctx.effects}
    for scaffold in ctx.other_scaffolds:
        blocks.append(_Heading(3, f"{scaffold} vs {ctx.baseline}"))
        rows = []
        for model in ctx.design.models:
            cells = [model]
            for dimension in ctx.dimensions:
                e = lookup[(model, scaffold, dimension)]
                if e.effect is None:
                    cells.append("n/a")
                else:
                    cells.append(
                        " ".join(
                            filter(
                                None,
                                (
                                    _num(e.effect, signed=True),
                                    _interval(e.ci_low, e.ci_high, signed=True),
                                    e.label,
                                ),
                            )
                        )
                    )
            rows.append(tuple(cells))
        blocks.append(_Table(("model", *ctx.dimensions), tuple(rows)))
    notes = _grouped_notes(
        [(f"{e.model}/{e.scaffold}/{e.dimension}", e.note) for e in ctx.effects if e.note]
    )
    if notes:
        blocks += [_Paragraph("Notes on the effect estimates:"), _Bullets(tuple(notes))]
    return blocks


def _interaction_section(ctx: _ReportContext) -> list[_Block]:
    blocks: list[_Block] = [_Heading(2, "Does the effect depend on the model?")]
    if not ctx.interactions:
        blocks.append(_Paragraph("Not estimable: one scaffold, so there is no effect to compare."))
        return blocks
    if len(ctx.design.models) < 2:
        blocks.append(
            _Paragraph(
                f"Not estimable: one model ({ctx.design.models[0]}); model-dependence needs two "
                "or more. interaction.csv lists the tests with this note."
            )
        )
        return blocks
    effects = {(e.model, e.scaffold, e.dimension): e.effect for e in ctx.effects}
    rows = []
    for i in ctx.interactions:
        per_model = ", ".join(
            f"{m} {_num(effects.get((m, i.scaffold, i.dimension)), signed=True) or 'n/a'}"
            for m in ctx.design.models
        )
        spread = (
            _num(i.effect_max - i.effect_min)
            if i.effect_max is not None and i.effect_min is not None
            else ""
        )
        rows.append(
            (
                i.scaffold,
                i.dimension,
                per_model,
                spread,
                _num(i.statistic, digits=4),
                _p(i.p_value),
                _p(i.p_holm),
                i.note,
            )
        )
    blocks.append(
        _Paragraph(
            "Per-model effects, their range (max minus min), the permutation test's statistic "
            "(variance of the per-model effects) and p-values. Full table: interaction.csv."
        )
    )
    n_tests = sum(1 for i in ctx.interactions if i.p_value is not None)
    smallest = 1.0 / (ctx.n_perm + 1)
    if n_tests and smallest * n_tests >= 0.05:
        blocks.append(
            _Paragraph(
                f"Too few permutations for this many tests: with {ctx.n_perm} permutations the "
                f"smallest possible p-value is {smallest:.4f}, so after Holm adjustment over "
                f"{n_tests} tests none can fall below 0.05. Rerun with at least "
                f"{math.ceil(n_tests / 0.05)} permutations (n_perm).",
                banner=True,
            )
        )
    blocks.append(
        _Table(
            (
                "scaffold",
                "dimension",
                "per-model effects",
                "range",
                "statistic",
                "p",
                "p (Holm)",
                "note",
            ),
            tuple(rows),
        )
    )
    return blocks


def _coding_section(ctx: _ReportContext) -> list[_Block]:
    blocks: list[_Block] = [_Heading(2, "Coders and agreement")]
    used = ", ".join(c.name for c in ctx.coders_used)
    description = {
        JUDGES_MEAN: f"the mean of the judges' levels per item and dimension ({used}); an "
        "item's value can then lie between levels (count_between in profiles.csv)",
        ADJUDICATED: "the adjudicated scores (scores/adjudicated.jsonl)",
    }.get(ctx.coder_label, f"coder {ctx.coder_label}")
    blocks.append(
        _Paragraph(
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
        _Table(("coder", "kind", "used", "scored", "null", "unscored", "config hash"), tuple(rows))
    )
    if ctx.agreement is None:
        blocks.append(_Paragraph(f"Agreement not computed; run xstress agree {ctx.run_dir}."))
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
        entry[row["statistic"]] = _agreement_value(row["value"])
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
        _Paragraph(
            "Agreement between coders per dimension (from report/agreement.csv;"
            " written by xstress agree). Kappa and alpha near 1 mean the coders "
            "agree; near 0, no better than chance."
        )
    )
    blocks.append(
        _Table(
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


def _agreement_value(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    return _num(value, digits=3) if math.isfinite(value) else ""


def _blinding_section(ctx: _ReportContext) -> list[_Block]:
    blocks: list[_Block] = [_Heading(2, "Blinding strength")]
    report = ctx.leak_report
    if report is None:
        blocks.append(
            _Paragraph(
                f"Not measured: blind/leak_report.json is absent (run xstress blind {ctx.run_dir})."
            )
        )
        return blocks
    blocks.append(
        _Paragraph(
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
    blocks.append(_Bullets(tuple(items)))
    return blocks


def _accounting_section(ctx: _ReportContext) -> list[_Block]:
    design = ctx.design
    blocks: list[_Block] = [
        _Heading(2, "Data accounting"),
        _Paragraph(
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
        _Table(
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
        blocks += [_Paragraph("Problems found while reading the run:"), _Bullets(tuple(problems))]
    return blocks


def _index(labels: Sequence[str], name: str) -> int:
    return labels.index(name) if name in labels else len(labels)


def _template_sections(ctx: _ReportContext) -> dict[str, str]:
    text = (Path(__file__).with_name("report_template.md")).read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("<!-- section:") and stripped.endswith("-->"):
            current = stripped.removeprefix("<!-- section:").removesuffix("-->").strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    if ctx.facts.simulated:
        evidence = (
            "**This run used xstress's built-in simulated models, so it is evidence at "
            "no level about any real model.** It shows that the pipeline runs end to end "
            "and how its report reads."
        )
    else:
        evidence = (
            "This run reaches the **interaction level**, and only for the fixed "
            f"conditions listed below: the models {', '.join(ctx.design.models)} under "
            f"the scaffolds {', '.join(ctx.design.scaffolds)}, with {ctx.users}, on the "
            "scenarios of this stress set. It does not reach the deployment level."
        )
    if ctx.heuristic_only:
        evidence += (
            " The scores come from the rule-based heuristic coder only, which sees "
            "surface features of the text: until human or validated judge scores "
            "exist, treat the profiles as a check of the pipeline."
        )
    values = {
        "n_boot": ctx.n_boot,
        "n_perm": ctx.n_perm,
        "seed": ctx.seed,
        "baseline": ctx.baseline,
        "n_tests": sum(1 for i in ctx.interactions if i.p_value is not None),
        "n_estimates": sum(1 for e in ctx.effects if e.ci_low is not None),
        "evidence_statement": evidence,
        "users": ctx.users,
    }
    return {name: body.format_map(values) for name, body in sections.items()}


def _parse_template(text: str) -> list[_Block]:
    """The tiny Markdown subset of report_template.md as blocks."""
    blocks: list[_Block] = []
    paragraph: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(_Paragraph(" ".join(paragraph)))
            paragraph.clear()
        if bullets:
            blocks.append(_Bullets(tuple(bullets)))
            bullets.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
        elif line.startswith("#"):
            flush()
            level = len(line) - len(line.lstrip("#"))
            blocks.append(_Heading(level, line.lstrip("#").strip()))
        elif line.startswith("- "):
            if paragraph:
                flush()
            bullets.append(line[2:].strip())
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
        else:
            paragraph.append(line.strip())
    flush()
    return blocks


def _held_fixed(ctx: _ReportContext) -> list[_Block]:
    facts = ctx.facts
    rows: list[tuple[str, ...]] = []
    for model in ctx.design.models:
        versions = ", ".join(facts.model_versions.get(model, [])) or "not reported"
        rows.append(("model", model, facts.model_hashes.get(model, "not recorded"), versions))
    for scaffold in ctx.design.scaffolds:
        rows.append(("scaffold", scaffold, facts.scaffold_hashes.get(scaffold, "not recorded"), ""))
    prompt_name = str((facts.prompt_set or {}).get("name", ""))
    rows.append(("prompt set", prompt_name, ", ".join(facts.prompts_hashes) or "not recorded", ""))
    rubric_hashes = sorted({h for c in ctx.coders_used for h in c.rubric_hashes})
    rows.append(
        (
            "rubric",
            ctx.rubric.name if ctx.rubric else "(not loaded: dimension ids only)",
            ", ".join(rubric_hashes) or "not recorded",
            "",
        )
    )
    for coder in ctx.coders_used:
        rows.append(
            (
                f"coder ({coder.kind})",
                coder.name,
                ", ".join(sorted(coder.coder_hashes)) or "none (human coder)",
                "",
            )
        )
    software = ", ".join(f"{k} {v}" for k, v in sorted(facts.versions.items()))
    rows.append(("software", software or "not recorded", facts.git_commit or "", ""))
    return [
        _Heading(3, "What was held fixed"),
        _Paragraph(
            "Each configuration is identified by the sha256 of its canonical JSON; two "
            "runs are comparable exactly when these hashes match. Model versions are as "
            "reported by the providers in their responses."
        ),
        _Table(("what", "name", "hash", "versions reported"), tuple(rows)),
    ]


def _population(ctx: _ReportContext) -> list[_Block]:
    items = []
    prompt_set = ctx.facts.prompt_set
    scenarios = [s for s in (prompt_set or {}).get("scenarios") or [] if isinstance(s, dict)]
    if scenarios:
        domains = Counter(str(s.get("domain", "?")) for s in scenarios)
        probes = Counter(str(s.get("probe", "?")) for s in scenarios)
        items.append(
            f"prompt set {prompt_set.get('name', '?') if prompt_set else '?'}: "
            f"{len(scenarios)} scenarios"
        )
        items.append("domains: " + ", ".join(f"{d} ({n})" for d, n in sorted(domains.items())))
        items.append("probes: " + ", ".join(f"{p} ({n})" for p, n in sorted(probes.items())))
    else:
        items.append("prompt set: not recorded in the manifest")
    items.append(
        f"prompts with blinded transcripts: {len(ctx.design.prompts)}; replicates: "
        f"{len(ctx.design.replicates)}"
        + (
            f" (configured {ctx.facts.replicates_config})"
            if ctx.facts.replicates_config is not None
            else ""
        )
    )
    items.append(f"users: {ctx.users}")
    items.append(
        "models: " + ", ".join(ctx.design.models) + (" (simulated)" if ctx.facts.simulated else "")
    )
    items.append("scaffolds: " + ", ".join(ctx.design.scaffolds))
    return [_Heading(3, "Population and domains"), _Bullets(tuple(items))]


def _reporting_template(ctx: _ReportContext) -> list[_Block]:
    sections = _template_sections(ctx)
    blocks: list[_Block] = [_Heading(2, "Reporting template")]
    blocks += _parse_template(sections["evidence"])
    blocks += _held_fixed(ctx)
    blocks += _population(ctx)
    blocks += _parse_template(sections["licensed"])
    blocks += _parse_template(sections["not_licensed"])
    return blocks


def _document(ctx: _ReportContext, figures: dict[str, bytes]) -> list[_Block]:
    blocks = _header(ctx)
    blocks += _findings(ctx)
    blocks += _profiles_section(ctx, figures)
    blocks += _effects_section(ctx, figures)
    blocks += _interaction_section(ctx)
    blocks += _coding_section(ctx)
    blocks += _blinding_section(ctx)
    blocks += _accounting_section(ctx)
    blocks += _parse_template(_template_sections(ctx)["methods"])
    blocks += _reporting_template(ctx)
    blocks += [
        _Heading(2, "Files"),
        _Bullets(
            (
                "profiles.csv: one row per model x scaffold x dimension (counts, mean, CI, note)",
                "effects.csv: one row per model x scaffold x dimension vs the baseline",
                "interaction.csv: one row per scaffold x dimension (permutation test)",
                "agreement.csv: written by xstress agree",
                "Empty values in the CSVs are estimates that could not be made; the note says why.",
            )
        ),
    ]
    return blocks


# --------------------------------------------------------------------------- rendering


def _md_inline(text: str) -> str:
    return text.replace("|", "\\|")


def _render_markdown(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, _Paragraph):
            out.append(f"**{block.text}**" if block.banner else block.text)
        elif isinstance(block, _Bullets):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, _Table):
            lines = [
                "| " + " | ".join(_md_inline(h) for h in block.header) + " |",
                "|" + "---|" * len(block.header),
            ]
            lines += ["| " + " | ".join(_md_inline(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
        else:
            out.append(f"![{block.alt}]({block.filename})")
    return "\n\n".join(out) + "\n"


def _html_inline(text: str) -> str:
    import re

    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:72rem;margin:2rem auto;
padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}
.banner{background:#fff3cd;border:2px solid #b00020;padding:.6rem .8rem;font-weight:bold}
figure{margin:1rem 0}img{max-width:100%;height:auto;border:1px solid #eee}
code{background:#f2f2f2;padding:0 .2rem}
"""


def _render_html(blocks: Sequence[_Block], title: str) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, _Heading):
            out.append(f"<h{block.level}>{_html_inline(block.text)}</h{block.level}>")
        elif isinstance(block, _Paragraph):
            css = ' class="banner"' if block.banner else ""
            out.append(f"<p{css}>{_html_inline(block.text)}</p>")
        elif isinstance(block, _Bullets):
            out.append(
                "<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in block.items) + "</ul>"
            )
        elif isinstance(block, _Table):
            head = "".join(f"<th>{_html_inline(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            data = base64.b64encode(block.png).decode("ascii")
            out.append(
                f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(block.alt)}"><figcaption>{html.escape(block.alt)}'
                "</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- CSVs and files


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def _csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_csv_value(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _csv_files(ctx: _ReportContext) -> dict[str, bytes]:
    coder = ctx.coder_label
    profile_columns = (
        "model",
        "scaffold",
        "dimension",
        "coder",
        "n_items",
        "n",
        "count_0",
        "count_1",
        "count_2",
        "count_between",
        "count_null",
        "count_unscored",
        "n_prompts",
        "mean",
        "ci_low",
        "ci_high",
        "note",
    )
    effect_columns = (
        "model",
        "scaffold",
        "baseline",
        "dimension",
        "coder",
        "n_pairs",
        "n_prompts",
        "baseline_mean",
        "scaffold_mean",
        "effect",
        "ci_low",
        "ci_high",
        "same_distribution",
        "label",
        "note",
    )
    interaction_columns = (
        "scaffold",
        "baseline",
        "dimension",
        "coder",
        "n_models",
        "n_prompts",
        "statistic",
        "p_value",
        "p_holm",
        "n_perm",
        "effect_min",
        "model_min",
        "effect_max",
        "model_max",
        "note",
    )

    def rows(records: Sequence[object], columns: Sequence[str]) -> list[list[object]]:
        return [[coder if c == "coder" else getattr(r, c) for c in columns] for r in records]

    return {
        "profiles.csv": _csv_bytes(profile_columns, rows(ctx.profiles, profile_columns)),
        "effects.csv": _csv_bytes(effect_columns, rows(ctx.effects, effect_columns)),
        "interaction.csv": _csv_bytes(
            interaction_columns, rows(ctx.interactions, interaction_columns)
        ),
    }


def _write_bytes(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError as exc:
        raise OutputError(
            f"{path}: cannot write ({exc.strerror})",
            fix="check the permissions of the run directory",
        ) from None


def _write_report(ctx: _ReportContext) -> ReportSummary:
    report_dir = ctx.run_dir / "report"
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{report_dir}: cannot create ({exc.strerror})",
            fix="check the permissions of the run directory",
        ) from None
    figures: dict[str, bytes] = {}
    blocks = _document(ctx, figures)
    title = f"xstress report: {ctx.facts.run_id}"
    markdown = _render_markdown(blocks)
    page = _render_html(blocks, title)
    written_images = []
    for name, png in figures.items():
        _write_bytes(report_dir / name, png)
        written_images.append(report_dir / name)
    csvs = []
    for name, data in _csv_files(ctx).items():
        _write_bytes(report_dir / name, data)
        csvs.append(report_dir / name)
    _write_bytes(report_dir / "report.md", markdown.encode("utf-8"))
    _write_bytes(report_dir / "report.html", page.encode("utf-8"))
    return ReportSummary(
        report_md=report_dir / "report.md",
        report_html=report_dir / "report.html",
        csvs=tuple(csvs),
        images=tuple(written_images),
        coder=ctx.coder_label,
        simulated=ctx.facts.simulated,
        heuristic_only=ctx.heuristic_only,
        warnings=tuple(ctx.warnings),
        text=_terminal_text(ctx, report_dir),
    )


def _terminal_text(ctx: _ReportContext, report_dir: Path) -> str:
    lines = []
    if ctx.facts.simulated:
        lines.append("SIMULATED MODELS: this report describes no real model.")
    if ctx.heuristic_only:
        lines.append("HEURISTIC CODER ONLY: scores are a pipeline check, not a measurement.")
    lines.append(
        f"Report: {report_dir / 'report.html'} (also report.md, profiles.csv, "
        "effects.csv, interaction.csv)"
    )
    lines.append(
        f"Scores used: {ctx.coder_label} ({ctx.coder_reason}); "
        f"{ctx.design.n_items} items, {len(ctx.design.models)} models, "
        f"{len(ctx.design.scaffolds)} scaffolds, {len(ctx.dimensions)} dimensions"
    )
    if ctx.effects:
        counts = Counter(e.label or "not estimable" for e in ctx.effects)
        lines.append(
            f"Effects vs {ctx.baseline}: "
            + ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
        )
        tested = [i for i in ctx.interactions if i.p_holm is not None]
        dependent = sum(1 for i in tested if i.p_holm is not None and i.p_holm < 0.05)
        if tested:
            lines.append(f"Model-dependent effects (Holm p < 0.05): {dependent} of {len(tested)}")
    if ctx.warnings:
        lines.append(f"{len(ctx.warnings)} data warning(s): see 'Data accounting' in the report")
    return "\n".join(lines)

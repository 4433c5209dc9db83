"""What the run browser shows, read from a run directory: one ``ViewCell`` per cell with its
conversation, scaffold passes, provider calls and every coder's levels, in one ``ViewData``
that the page embeds as JSON.

Two readings of a run. The unblinded one (``build_view_data``) reads the transcripts, the
blinding key (through ``harness.rundir.read_key``, the reader the report uses) and the score
files, and joins scores to cells by blind_id. The blinded one (``build_blinded_view_data``)
reads only what coders read, ``blind/items.jsonl`` and the score files, plus whether the
manifests say every model was simulated (a run-wide fact, the same for every item); it never
opens the key or the transcripts, and nothing it emits names a model, scaffold or cell. Every
file is read as its ``harness.rundir`` record under the run directory's one reading policy.
This module renders nothing (``page.py``) and serves nothing (``serve.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import InputError
from harness.rundir import (
    BlindedItem,
    CallRecord,
    Message,
    RunDir,
    ScoreRecord,
    TranscriptRecord,
    iter_transcripts,
    read_json,
    read_jsonl,
    read_key,
    read_manifests,
)
from harness.schema import RubricSpec

__all__ = [
    "ViewAttempt",
    "ViewCall",
    "ViewCell",
    "ViewData",
    "ViewDimension",
    "ViewMessage",
    "ViewScore",
    "build_blinded_view_data",
    "build_view_data",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ViewMessage(_Part):
    """One message of the conversation shown."""

    role: str
    """``user`` or ``assistant`` (a system prompt is never shown in the conversation)."""
    content: str
    """The text as the user saw it (unblinded) or as coders saw it (blinded)."""


class ViewScore(_Part):
    """One coder's level of the cell on one dimension."""

    coder: str
    """The coder's name (a judge config or a person)."""
    coder_kind: str
    """``llm_judge``, ``heuristic`` or ``human``."""
    dimension: str
    """The rubric dimension id."""
    status: Literal["scored", "null", "unscored"]
    """As in the score file: a level, not applicable, or the coder failed."""
    level: int | None
    """0, 1 or 2 when scored."""
    reason: str | None
    """Why null or unscored."""
    rationale: str | None
    """The coder's reasoning."""
    evidence: str | None
    """The coder's quote from the conversation; the page highlights it there."""


class ViewAttempt(_Part):
    """One HTTP attempt of a provider call."""

    number: int
    """1 for the first attempt."""
    outcome: str
    """``ok``, ``retryable``, ``fatal`` or ``blocked``."""
    error_class: str | None
    """The exception's class name, when it failed."""
    status_code: int | None
    """The HTTP status, when there was one."""
    message: str | None
    """The provider's error message (truncated)."""
    latency_s: float
    """Seconds the attempt took."""
    wait_s: float | None
    """Seconds waited before the next attempt."""


class ViewCall(_Part):
    """One provider call of the cell (a reply, a scaffold pass, a simulated user turn)."""

    purpose: str
    """``reply``, ``pass:<name>`` or ``simulated_user``."""
    turn: int
    """The user turn it belongs to (0-based)."""
    status: str
    """``ok``, ``error`` or ``blocked``."""
    reply: str | None
    """What the call returned (for a pass: the revised draft)."""
    error: str | None
    """Why it failed."""
    cost_usd: float | None
    """Its price; null when unknown."""
    latency_s: float
    """Seconds spent in attempts."""
    from_cache: bool
    """Served from the cache or a replay recording."""
    model_reported: str | None
    """The model version the provider reported."""
    finish_reason: str | None = None
    """Why the reply ended (``length``: cut off at ``max_tokens``); null when unknown."""
    attempts: list[ViewAttempt]
    """Every HTTP attempt."""


class ViewCell(_Part):
    """One cell as the browser lists and opens it. In the blinded view every field that would
    say which model, scaffold or cell it is stays null."""

    id: str
    """What the page selects it by: the cell_id (unblinded) or the blind_id (blinded)."""
    blind_id: str | None
    """Its coding item, when it was blinded."""
    scenario: str
    """The scenario id."""
    domain: str
    """The scenario's domain."""
    probe: str | None = None
    """What the scenario stresses (unblinded only; items do not carry it)."""
    model: str | None = None
    """The model (unblinded only)."""
    scaffold: str | None = None
    """The scaffold (unblinded only)."""
    replicate: int | None = None
    """The replicate index (unblinded only)."""
    status: str | None = None
    """``ok``, ``error`` or ``blocked`` (unblinded only; every item is an ok cell)."""
    error: str | None = None
    """Why the cell ended ``error`` or ``blocked``."""
    simulated: bool = False
    """The reply text is a simulated model's, not a real model's."""
    cost_usd: float | None = None
    """Cost over all calls (unblinded only); null when unknown."""
    tokens: int | None = None
    """Tokens over all calls (unblinded only)."""
    messages: list[ViewMessage]
    """The conversation."""
    calls: list[ViewCall] = Field(default_factory=list)
    """Every provider call (unblinded only); passes are the ``pass:`` ones."""
    targets: list[str] = Field(default_factory=list)
    """The dimensions the scenario is written to probe (from the item)."""
    reference_notes: str = ""
    """The scenario's notes for coders (from the item)."""
    scores: list[ViewScore] = Field(default_factory=list)
    """Every coder's level on every dimension, in coder then dimension order."""


class ViewDimension(_Part):
    """A rubric dimension the page can filter by."""

    id: str
    """``D1`` ..."""
    name: str
    """Its name in the rubric the scores were made with (empty when unknown)."""


class ViewData(_Part):
    """Everything the page shows (schema ``xstress.view/1``)."""

    schema_: Literal["xstress.view/1"] = Field(default="xstress.view/1", alias="schema")
    """Kind and version of the embedded data."""
    run_id: str | None
    """The run's name; null in the blinded view (a run name may name a model)."""
    blind: bool
    """True: only what coders may see."""
    simulated: bool
    """Some shown text comes from simulated models (blinded: every model is simulated)."""
    dimensions: list[ViewDimension]
    """The dimensions scored, in rubric order."""
    coders: list[str]
    """The coders with a score file, sorted."""
    cells: list[ViewCell]
    """The cells, sorted by model, scaffold, scenario and replicate (blinded: by scenario)."""
    warnings: list[str] = Field(default_factory=list)
    """Data problems met while reading (torn lines, scores of unknown items)."""


def _score(record: ScoreRecord) -> ViewScore:
    return ViewScore(coder=record.coder, coder_kind=record.coder_kind,
                     dimension=record.dimension, status=record.status, level=record.level,
                     reason=record.reason, rationale=record.rationale, evidence=record.evidence)


def _read_scores(run_dir: RunDir, warnings: list[str]
                 ) -> tuple[dict[str, list[ViewScore]], list[str], set[str]]:
    """Scores by blind_id (last record per coder and dimension wins), the coders, and the
    rubric hashes the scores name."""
    by_item: dict[str, dict[tuple[str, str], ViewScore]] = {}
    coders: set[str] = set()
    hashes: set[str] = set()
    for path in run_dir.score_files():
        for _, record in read_jsonl(path, ScoreRecord, warnings=warnings,
                                    fix=f"restore {path.name} or rerun "
                                        f"'xstress score {run_dir.root}'"):
            by_item.setdefault(record.blind_id, {})[(record.coder, record.dimension)] = \
                _score(record)
            coders.add(record.coder)
            if record.rubric_hash:
                hashes.add(record.rubric_hash)
    ordered = {blind_id: [scores[key] for key in sorted(scores, key=_score_order)]
               for blind_id, scores in by_item.items()}
    return ordered, sorted(coders), hashes


def _score_order(key: tuple[str, str]) -> tuple[str, int, str]:
    coder, dimension = key
    digits = dimension.lstrip("D")
    return coder, int(digits) if digits.isdigit() else 0, dimension


def _dimensions(run_dir: RunDir, hashes: Iterable[str], scores: Iterable[list[ViewScore]],
                warnings: list[str]) -> list[ViewDimension]:
    """The stored rubric's dimensions (names and order) when one is stored, then any other
    dimension the scores use."""
    names: dict[str, str] = {}
    for rubric_hash in sorted(hashes):
        path = run_dir.rubric(rubric_hash)
        if not path.is_file():
            continue
        try:
            rubric = read_json(path, RubricSpec,
                               fix=f"rerun 'xstress score {run_dir.root}' to store it again")
        except InputError as exc:
            warnings.append(f"{exc.message}; ignored")
            continue
        for dimension in rubric.dimensions:
            names.setdefault(dimension.id, dimension.name)
    used = {score.dimension for item in scores for score in item}
    extra = sorted(used - set(names), key=lambda d: _score_order(("", d)))
    return [ViewDimension(id=d, name=names.get(d, "")) for d in [*names, *extra]]


def _call(call: CallRecord) -> ViewCall:
    return ViewCall(
        purpose=call.purpose, turn=call.turn, status=call.status, reply=call.reply,
        error=call.error, cost_usd=call.cost_usd, latency_s=call.latency_s,
        from_cache=call.from_cache, model_reported=call.model_reported,
        finish_reason=call.finish_reason,
        attempts=[ViewAttempt(number=a.number, outcome=a.outcome, error_class=a.error_class,
                              status_code=a.status_code, message=a.message,
                              latency_s=a.latency_s, wait_s=a.wait_s) for a in call.attempts],
    )


def _messages(messages: Iterable[Message]) -> list[ViewMessage]:
    # A system prompt is scaffold text: never part of the conversation shown.
    return [ViewMessage(role=m.role, content=m.content) for m in messages if m.role != "system"]


def _require_run(run_dir: RunDir) -> None:
    if not run_dir.root.is_dir():
        raise InputError(f"{run_dir.root}: no such run directory",
                         fix="give the path of a run (e.g. transcripts/<run_name>)")


def build_view_data(run_dir: RunDir) -> ViewData:
    """The unblinded view: every transcript's cell with its calls, joined to the scores of
    its blinded item (when it has one).

    Raises:
        InputError: no run directory or no transcripts; a damaged transcript, key or score
            file (a torn last line is a warning instead).
    """
    _require_run(run_dir)
    warnings: list[str] = []
    cells: dict[str, TranscriptRecord] = {}
    for record in iter_transcripts(run_dir, warnings):
        cells[record.cell_id] = record
    if not cells:
        raise InputError(f"{run_dir.root}: no transcripts (transcripts*.jsonl)",
                         fix=f"run the sweep into {run_dir.root} first, or pass --blind to "
                             "browse blinded items only")
    blind_ids: dict[str, str] = {}
    if run_dir.key.is_file():
        blind_ids = {entry.cell_id: entry.blind_id for entry in read_key(run_dir, warnings)}
    scores, coders, hashes = _read_scores(run_dir, warnings)
    items = _items(run_dir, warnings) if run_dir.items.is_file() else {}
    unknown = set(scores) - set(blind_ids.values())
    if unknown:
        warnings.append(f"{len(unknown)} scored item(s) are not in the blinding key; not shown")
    view_cells = []
    for record in sorted(cells.values(), key=lambda r: (r.model, r.scaffold, r.prompt_id,
                                                        r.replicate, r.cell_id)):
        blind_id = blind_ids.get(record.cell_id)
        item = items.get(blind_id) if blind_id else None
        view_cells.append(ViewCell(
            id=record.cell_id, blind_id=blind_id, scenario=record.prompt_id,
            domain=record.domain, probe=record.probe, model=record.model,
            scaffold=record.scaffold, replicate=record.replicate, status=record.status,
            error=record.error, simulated=record.simulated, cost_usd=record.cost_usd,
            tokens=record.usage.total_tokens, messages=_messages(record.messages),
            calls=[_call(call) for call in record.calls],
            targets=list(item.targets) if item else [],
            reference_notes=item.reference_notes if item else "",
            scores=scores.get(blind_id, []) if blind_id else [],
        ))
    return ViewData(run_id=run_dir.name, blind=False,
                    simulated=any(r.simulated for r in cells.values()),
                    dimensions=_dimensions(run_dir, hashes, scores.values(), warnings),
                    coders=coders, cells=view_cells, warnings=warnings)


def _items(run_dir: RunDir, warnings: list[str]) -> dict[str, BlindedItem]:
    return {item.blind_id: item for _, item in read_jsonl(
        run_dir.items, BlindedItem, warnings=warnings,
        fix=f"rerun xstress blind {run_dir.root} --force")}


def build_blinded_view_data(run_dir: RunDir) -> ViewData:
    """The blinded view: the coders' items and the scores, nothing that names a model,
    scaffold or cell (the key and the transcripts are never opened).

    Raises:
        InputError: no run directory or no blinded items; a damaged item or score file.
    """
    _require_run(run_dir)
    if not run_dir.items.is_file():
        raise InputError(f"{run_dir.items}: no blinded items",
                         fix=f"run xstress blind {run_dir.root} first")
    warnings: list[str] = []
    items = _items(run_dir, warnings)
    scores, coders, hashes = _read_scores(run_dir, warnings)
    # Run-wide, so it tells nothing about any one item; a mixed run says nothing here.
    simulated = any(manifest.simulated for manifest in read_manifests(run_dir))
    cells = [
        ViewCell(id=item.blind_id, blind_id=item.blind_id, scenario=item.scenario_id,
                 domain=item.domain, simulated=simulated, messages=_messages(item.messages),
                 targets=list(item.targets), reference_notes=item.reference_notes,
                 scores=scores.get(item.blind_id, []))
        for item in sorted(items.values(), key=lambda i: (i.scenario_id, i.blind_id))
    ]
    return ViewData(run_id=None, blind=True, simulated=simulated,
                    dimensions=_dimensions(run_dir, hashes, scores.values(), warnings),
                    coders=coders, cells=cells, warnings=warnings)

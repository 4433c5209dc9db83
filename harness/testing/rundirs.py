"""Run directories for tests, written from typed records: one factory for every stage's tests.

A stage's tests need a run directory as the earlier stages would have left it: transcripts
for blinding, blinded items and a key for scoring and human coding, score files, a manifest, a
leak report and agreement rows for the report. This module writes them through the same
records (``harness.rundir``) the stages use, so a test's input is always a valid one unless the
test breaks it on purpose. Everything is deterministic; nothing here calls a provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from harness.rundir import (
    AgreementRow,
    BlindedItem,
    Identifiability,
    KeyEntry,
    LeakReport,
    Manifest,
    ManifestConfig,
    ManifestHashes,
    Message,
    RunDir,
    RunNames,
    ScoreRecord,
    StatusCounts,
    TranscriptRecord,
    Usage,
    write_bytes_atomic,
    write_jsonl_atomic,
    write_record_atomic,
)
from harness.schema import (
    ModelParams,
    ModelSpec,
    PipelineSettings,
    PromptSet,
    ProviderSettings,
    ReplaySettings,
    RubricDimension,
    RubricSpec,
    RunSettings,
    ScaffoldSpec,
    Scenario,
    Turn,
    content_hash,
)

__all__ = [
    "NOW",
    "LevelFn",
    "conversation",
    "default_levels",
    "make_item",
    "make_transcript",
    "scored_run",
    "small_rubric",
    "write_agreement_rows",
    "write_blinding",
    "write_manifest",
    "write_scores",
    "write_transcripts",
]

NOW = "2026-11-27T10:00:00+00:00"
"""The timestamp every factory record carries."""

Level = int | None | Literal["unscored"]
LevelFn = Callable[[str, str, int, int, str, str], Level]
"""(model, scaffold, prompt index, replicate, dimension, coder) -> level, None for null, or
``"unscored"``."""
CoderKind = Literal["llm_judge", "heuristic", "human"]


def conversation(*turns: str) -> list[Message]:
    """Messages alternating user, assistant, user ... starting with the user."""
    return [Message(role="user" if i % 2 == 0 else "assistant", content=text)
            for i, text in enumerate(turns)]


def make_item(blind_id: str, *turns: str, scenario_id: str = "scenario-0",
              domain: str = "health") -> BlindedItem:
    """A blinded item whose conversation is ``turns`` (user first)."""
    return BlindedItem(blind_id=blind_id, scenario_id=scenario_id, domain=domain,
                       messages=conversation(*turns))


def small_rubric(dimensions: Sequence[str] = ("D1", "D2", "D3"), name: str = "mini"
                 ) -> RubricSpec:
    """A rubric with plain anchors on the given dimension ids."""
    return RubricSpec(name=name, dimensions=[
        RubricDimension(id=d, name=f"dimension {d}", definition=f"What {d} measures.",
                        levels={0: "absent", 1: "partial", 2: "full"})
        for d in dimensions
    ])


def make_transcript(*, cell_id: str, model: str, scaffold: str, prompt_id: str,
                    replicate: int = 0, status: Literal["ok", "error", "blocked"] = "ok",
                    messages: Sequence[Message] | None = None, simulated: bool = True,
                    domain: str = "health", probe: str = "checkable", prompt_set: str = "mini",
                    error: str | None = None, run_id: str = "run-test") -> TranscriptRecord:
    """A transcript record with no calls (the conversation defaults to one exchange)."""
    return TranscriptRecord(
        run_id=run_id, cell_id=cell_id, model=model, scaffold=scaffold, prompt_id=prompt_id,
        prompt_set=prompt_set, domain=domain, probe=probe, replicate=replicate, status=status,
        simulated=simulated,
        messages=list(messages) if messages is not None else conversation("hello", "hi"),
        calls=[], usage=Usage(), cost_usd=None, error=error, started_at=NOW, finished_at=NOW,
        scaffold_hash="s" * 64, prompt_hash="p" * 64, model_hash="m" * 64,
        model_params=ModelParams(),
        litellm_model=f"xstress-sim/{model}" if simulated else f"openai/{model}",
    )


def write_transcripts(run_dir: Path, records: Sequence[TranscriptRecord]) -> Path:
    """Write ``transcripts.jsonl`` (replacing it); returns its path."""
    path = RunDir(run_dir).transcripts()
    write_jsonl_atomic(path, records)
    return path


def write_blinding(run_dir: Path, items: Sequence[BlindedItem], *,
                   key: Sequence[KeyEntry] | None = None, model: str = "secret-model",
                   scaffold: str = "secret-scaffold") -> RunDir:
    """Write ``blind/items.jsonl`` and ``blind/key.jsonl``.

    Without ``key``, each item gets a key entry naming ``model`` and ``scaffold`` (names a
    test can search for to prove a stage never read the key).
    """
    layout = RunDir(run_dir)
    if key is None:
        key = [KeyEntry(blind_id=item.blind_id, cell_id=f"cell-{model}-{n}", model=model,
                        scaffold=scaffold, prompt_id=item.scenario_id, replicate=0)
               for n, item in enumerate(items)]
    write_jsonl_atomic(layout.items, items)
    write_jsonl_atomic(layout.key, key, mode=0o600)
    return layout


def write_scores(run_dir: Path, coder: str, records: Sequence[ScoreRecord]) -> Path:
    """Write ``scores/<coder>.jsonl`` (replacing it); returns its path."""
    path = RunDir(run_dir).scores(coder)
    write_jsonl_atomic(path, records)
    return path


def write_manifest(run_dir: Path, *, models: Sequence[str], scaffolds: Sequence[str],
                   prompt_ids: Sequence[str], replicates: int = 1, simulated: bool = True,
                   rubric: RubricSpec | None = None) -> Manifest:
    """Write a valid ``manifest.json`` for a finished run of the given cells."""
    specs = [ModelSpec(name=m, litellm_model=f"xstress-sim/{m}" if simulated else f"openai/{m}",
                       family="sim" if simulated else "openai") for m in models]
    scaffold_specs = [ScaffoldSpec(name=s) for s in scaffolds]
    prompts = PromptSet(name="mini", scenarios=[
        Scenario(id=pid, domain=["health", "finance"][i % 2], probe="checkable",
                 targets=["D1"], turns=[Turn(user="hi")])
        for i, pid in enumerate(prompt_ids)
    ])
    cells = len(models) * len(scaffolds) * len(prompt_ids) * replicates
    manifest = Manifest(
        run_id=run_dir.name, simulated=simulated,
        simulated_models=list(models) if simulated else [],
        config=ManifestConfig(models=specs, scaffolds=scaffold_specs, prompts=prompts,
                              rubric=rubric, run=RunSettings(replicates=replicates),
                              provider=ProviderSettings(), replay=ReplaySettings(),
                              pipeline=PipelineSettings()),
        hashes=ManifestHashes(models={m.name: content_hash(m) for m in specs},
                              scaffolds={s.name: content_hash(s) for s in scaffold_specs},
                              prompts=content_hash(prompts),
                              rubric=content_hash(rubric) if rubric else None),
        versions={"xstress": "0.1.0", "litellm": "1.110.2", "python": "3.11"},
        git_commit="abc123", shard=0, num_shards=1, cells=cells,
        counts=StatusCounts(ok=cells), not_started=0, stopped_by=None, cost_usd=0.0,
        calls_made_this_invocation=0,
        model_versions={m: [f"{m}-2026-01-01"] for m in models},
        started_at=NOW, finished_at=NOW,
    )
    write_record_atomic(RunDir(run_dir).manifest(), manifest)
    return manifest


def default_levels(model: str, scaffold: str, prompt: int, replicate: int, dimension: str,
                   coder: str) -> Level:
    """A level pattern with a scaffold effect for the model ``alpha`` only."""
    del coder
    base = (prompt + replicate + int(dimension[1:])) % 3
    if scaffold != "bare" and model == "alpha":
        return min(2, base + 1)
    return base


def scored_run(
    root: Path,
    *,
    models: Sequence[str] = ("alpha", "beta"),
    scaffolds: Sequence[str] = ("bare", "verify"),
    n_prompts: int = 6,
    replicates: int = 2,
    dims: Sequence[str] = ("D1", "D2", "D3"),
    levels: LevelFn = default_levels,
    coders: Sequence[tuple[str, CoderKind]] = (("heuristic", "heuristic"),),
    simulated: bool = True,
    leak_report: bool = True,
    agreement: bool = True,
    failed_cells: Mapping[tuple[str, str, int, int], Literal["error", "blocked"]] | None = None,
    rubric_hash: str | None = None,
) -> Path:
    """A complete run directory ready for the report: ``root/run``.

    Every (model, scaffold, prompt, replicate) cell gets a transcript; ``failed_cells`` maps
    some to ``error`` or ``blocked`` (a transcript, but no key entry and no scores). Each coder
    scores every item on every dimension with ``levels``; the rubric (``small_rubric(dims)``)
    is stored under ``scores/rubrics/`` unless ``rubric_hash`` names another.
    """
    run_dir = root / "run"
    layout = RunDir(run_dir)
    rubric = small_rubric(dims)
    failed: dict[tuple[str, str, int, int], Literal["ok", "error", "blocked"]] = dict(
        failed_cells or {})
    prompt_ids = [f"scenario-{p:02d}" for p in range(n_prompts)]
    transcripts: list[TranscriptRecord] = []
    key: list[KeyEntry] = []
    for model in models:
        for scaffold in scaffolds:
            for p, prompt_id in enumerate(prompt_ids):
                for rep in range(replicates):
                    cell_id = f"{model}.{scaffold}.{prompt_id}.{rep}"
                    status = failed.get((model, scaffold, p, rep), "ok")
                    transcripts.append(make_transcript(
                        cell_id=cell_id, model=model, scaffold=scaffold, prompt_id=prompt_id,
                        replicate=rep, status=status, simulated=simulated,
                        messages=conversation("hello")))
                    if status == "ok":
                        key.append(KeyEntry(blind_id=f"b{len(key):05d}", cell_id=cell_id,
                                            model=model, scaffold=scaffold, prompt_id=prompt_id,
                                            replicate=rep))
    write_transcripts(run_dir, transcripts)
    write_jsonl_atomic(layout.key, key, mode=0o600)
    the_rubric_hash = rubric_hash or content_hash(rubric)
    if rubric_hash is None:
        write_record_atomic(layout.rubric(the_rubric_hash), rubric)
    for coder, kind in coders:
        write_scores(run_dir, coder, [
            _score(entry, dim, coder, kind,
                   levels(entry.model, entry.scaffold, prompt_ids.index(entry.prompt_id),
                          entry.replicate, dim, coder), the_rubric_hash)
            for entry in key for dim in dims
        ])
    write_manifest(run_dir, models=models, scaffolds=scaffolds, prompt_ids=prompt_ids,
                   replicates=replicates, simulated=simulated)
    if leak_report:
        write_record_atomic(layout.leak_report, _leak_report(len(transcripts), len(key),
                                                             len(models)))
    if agreement:
        rows = [row for dim in dims for row in (
            AgreementRow(dimension=dim, coder_a="heuristic", coder_b="alice",
                         statistic="cohen_kappa", n_items=24, value=0.5, note=""),
            AgreementRow(dimension=dim, coder_a="all", coder_b="",
                         statistic="krippendorff_alpha_ordinal", n_items=24, value=None,
                         note="not estimable: one level only"),
        )]
        write_agreement_rows(run_dir, rows)
    return run_dir


def write_agreement_rows(run_dir: Path, rows: Sequence[AgreementRow]) -> Path:
    """Write ``report/agreement.csv`` from rows."""
    import csv
    import io

    from harness.rundir import AGREEMENT_COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AGREEMENT_COLUMNS)
    writer.writerows(row.csv_cells() for row in rows)
    path = RunDir(run_dir).agreement
    write_bytes_atomic(path, buffer.getvalue().encode("utf-8"))
    return path


def _score(entry: KeyEntry, dimension: str, coder: str, kind: CoderKind, value: Level,
           rubric_hash: str) -> ScoreRecord:
    status: Literal["scored", "null", "unscored"] = (
        "unscored" if value == "unscored" else "null" if value is None else "scored")
    return ScoreRecord(
        blind_id=entry.blind_id, dimension=dimension, coder=coder, coder_kind=kind,
        status=status, level=value if isinstance(value, int) else None,
        reason=None if status == "scored" else "not applicable here",
        rubric_hash=rubric_hash,
        coder_hash=None if kind == "human" else content_hash({"judge": coder}),
        scored_at=NOW,
    )


def _leak_report(n_transcripts: int, n_items: int, n_models: int) -> LeakReport:
    return LeakReport(
        passed=True, n_transcripts=n_transcripts, n_records=n_transcripts,
        n_duplicates_replaced=0, n_items=n_items, excluded=[], replacements={},
        user_turn_replacements=0, remaining_tells=[], n_remaining_tells=0,
        known_limits=["style differences between models are not scrubbed"],
        identifiability=Identifiability(target="model", method="tfidf-logreg", accuracy=0.61,
                                        ci_low=0.55, ci_high=0.67, chance=0.5, n_items=n_items,
                                        n_classes=n_models, n_folds=5, p_value=0.01),
        scaffold_identifiability=None, tells_file="configs/blinding/tells.yaml",
        run_names=RunNames(scrubbed_everywhere={}, scrubbed_as_labels={}),
    )

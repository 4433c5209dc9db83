"""Inspect AI eval logs from a run: one log per model x scaffold, one sample per ``ok`` cell.

This module owns the mapping from xstress to Inspect's terms: the scaffold is the task (the
system around the model) and the plan's one step; a scenario is a sample id and a replicate
its epoch (replicate + 1); the conversation as the user saw it is the sample's messages, its
last reply the output; each coder is a score whose value maps every dimension to its level
(None where the coder gave none: a null is never a 0), with the code in full in the score's
metadata; the scenario's reference notes are the target. Cells that ended ``error`` or
``blocked`` are not samples; each log's metadata counts them. Scores are joined to cells
through the blinding key (read by the report's reader), so a run not yet blinded exports
samples without scores. Simulated runs say so in the task's display name, tags and metadata.
File names follow Inspect's ``<timestamp>_<task>_<id>.json`` so ``inspect view`` lists them;
they are stable, so exporting again replaces the same files.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from harness.export.inspect_records import (
    InspectChoice,
    InspectDataset,
    InspectDimensionScore,
    InspectEvalLog,
    InspectEvalScore,
    InspectEvalSpec,
    InspectGenerateConfig,
    InspectMessage,
    InspectMetric,
    InspectOutput,
    InspectPlan,
    InspectPlanStep,
    InspectResults,
    InspectSample,
    InspectSampleMetadata,
    InspectScore,
    InspectStats,
    InspectUsage,
)
from harness.export.reading import RunRecords, read_run
from harness.rundir import RunDir, ScoreRecord, TranscriptRecord, write_bytes_atomic

__all__ = ["InspectExportSummary", "InspectLogFile", "build_logs", "export_inspect",
           "log_file_name"]

SIMULATED_NOTE = ("SIMULATED models (xstress's scripted personas): these samples describe no "
                  "real model")


@dataclass(frozen=True)
class InspectLogFile:
    """One log written: its path, model, scaffold and sample count."""

    path: Path
    model: str
    scaffold: str
    samples: int


@dataclass(frozen=True)
class InspectExportSummary:
    """What ``export_inspect`` wrote.

    Attributes:
        out_dir: the folder of the logs.
        logs: one per model x scaffold.
        simulated: the run used simulated models.
        scored: scores were joined (the run was blinded and scored).
        warnings: data problems met while reading.
    """

    out_dir: Path
    logs: tuple[InspectLogFile, ...]
    simulated: bool
    scored: bool
    warnings: tuple[str, ...]


def export_inspect(path: str | Path, out: str | Path | None = None) -> InspectExportSummary:
    """Write a run's Inspect eval logs (default ``RUN/export/inspect/``).

    Raises:
        InputError: no run directory or transcripts; a damaged file.
        OutputError: a log cannot be written.
    """
    run_dir = RunDir(Path(path))
    records = read_run(path, unblind=run_dir.key.is_file())
    out_dir = Path(out) if out is not None else run_dir.export_dir / "inspect"
    written = []
    for (model, scaffold), log in build_logs(records).items():
        target = out_dir / log_file_name(log)
        write_bytes_atomic(target, log.model_dump_json(exclude_none=True).encode("utf-8"))
        written.append(InspectLogFile(target, model, scaffold, len(log.samples)))
    return InspectExportSummary(out_dir, tuple(written), records.simulated,
                                records.key is not None and bool(records.scores),
                                tuple(records.warnings))


def log_file_name(log: InspectEvalLog) -> str:
    """``<created, Inspect's style>_<task>_<eval_id>.json`` (e.g.
    ``2026-11-29T18-14-58+00-00_xstress-verify_<id>.json``)."""
    created = datetime.fromisoformat(log.eval.created).astimezone(UTC)
    # Inspect's listing reads the task from the file name: the same name as the header's, with
    # its separators replaced (the model is in the header, as in Inspect's own logs).
    task = log.eval.task.replace("/", "-").replace("_", "-")
    return f"{created.strftime('%Y-%m-%dT%H-%M-%S+00-00')}_{task}_{log.eval.eval_id}.json"


def build_logs(records: RunRecords) -> dict[tuple[str, str], InspectEvalLog]:
    """One log per (model, scaffold) of the run, in the order the cells first appear."""
    groups: dict[tuple[str, str], list[TranscriptRecord]] = defaultdict(list)
    for record in records.transcripts:
        groups[(record.model, record.scaffold)].append(record)
    dimensions = sorted({record.dimension for coder_records in records.scores.values()
                         for record in coder_records})
    by_item: dict[str, dict[str, dict[str, ScoreRecord]]] = defaultdict(dict)
    for coder, coder_records in records.scores.items():
        for code in coder_records:
            by_item[code.blind_id].setdefault(coder, {})[code.dimension] = code
    coders = sorted(records.scores) if records.key is not None else []
    key = records.key_by_cell()
    logs = {}
    for (model, scaffold), cells in groups.items():
        samples = []
        for cell in cells:
            if cell.status != "ok":
                continue
            entry = key.get(cell.cell_id)
            blind_id = entry.blind_id if entry is not None else None
            codes = by_item.get(blind_id, {}) if blind_id is not None else {}
            samples.append(_sample(cell, records, blind_id,
                                   {coder: _score(codes.get(coder, {}), dimensions)
                                    for coder in coders}))
        samples.sort(key=lambda sample: (sample.epoch, sample.id))
        logs[(model, scaffold)] = _log(records, model, scaffold, cells, samples)
    return logs


def _sample(cell: TranscriptRecord, records: RunRecords, blind_id: str | None,
            scores: dict[str, InspectScore]) -> InspectSample:
    item = records.items.get(blind_id) if blind_id is not None else None
    messages = [InspectMessage(role=message.role, content=message.content,
                               source="generate" if message.role == "assistant" else "input",
                               model=cell.litellm_model if message.role == "assistant"
                               else None) for message in cell.messages]
    replies = [m for m in messages if m.role == "assistant"]
    reported = [call.model_reported for call in cell.calls
                if call.purpose == "reply" and call.model_reported]
    usage = _usage(cell)
    last = replies[-1] if replies else InspectMessage(role="assistant", content="")
    started = datetime.fromisoformat(cell.started_at)
    finished = datetime.fromisoformat(cell.finished_at)
    return InspectSample(
        id=cell.prompt_id, epoch=cell.replicate + 1,
        input=next((m.content for m in messages if m.role == "user"), ""),
        target=item.reference_notes if item is not None else "",
        messages=messages,
        output=InspectOutput(model=reported[-1] if reported else cell.litellm_model,
                             choices=[InspectChoice(message=last,
                                                    stop_reason=_stop_reason(cell))],
                             completion=last.content,
                             usage=usage),
        scores=scores,
        metadata=InspectSampleMetadata(
            cell_id=cell.cell_id, blind_id=blind_id, model=cell.model,
            scaffold=cell.scaffold, prompt_set=cell.prompt_set, domain=cell.domain,
            probe=cell.probe, replicate=cell.replicate,
            targets=list(item.targets) if item is not None else [], simulated=cell.simulated,
            cost_usd=cell.cost_usd, scaffold_hash=cell.scaffold_hash,
            prompt_hash=cell.prompt_hash, model_hash=cell.model_hash),
        model_usage={cell.litellm_model: usage},
        started_at=cell.started_at, completed_at=cell.finished_at,
        total_time=max((finished - started).total_seconds(), 0.0), uuid=cell.cell_id,
    )


def _stop_reason(cell: TranscriptRecord) -> Literal["stop", "max_tokens"]:
    """``max_tokens`` when the last reply the user saw was cut off at the length limit."""
    shown = [i for i, m in enumerate(cell.messages) if m.role == "assistant"]
    return "max_tokens" if shown and shown[-1] in cell.truncated_messages else "stop"


def _usage(cell: TranscriptRecord) -> InspectUsage:
    return InspectUsage(input_tokens=cell.usage.prompt_tokens,
                        output_tokens=cell.usage.completion_tokens,
                        total_tokens=cell.usage.total_tokens, total_cost=cell.cost_usd)


def _score(codes: dict[str, ScoreRecord], dimensions: list[str]) -> InspectScore:
    details = {}
    for dimension in dimensions:
        record = codes.get(dimension)
        details[dimension] = InspectDimensionScore(status="missing") if record is None else \
            InspectDimensionScore(status=record.status, level=record.level, reason=record.reason,
                                  rationale=record.rationale, evidence=record.evidence)
    counts = Counter(detail.status for detail in details.values())
    explanation = ", ".join(f"{counts[status]} {status}" for status in
                            ("scored", "null", "unscored", "missing") if counts[status])
    return InspectScore(value={d: details[d].level for d in dimensions},
                        explanation=f"{explanation or 'no'} of {len(dimensions)} dimensions",
                        metadata=details)


def _log(records: RunRecords, model: str, scaffold: str, cells: list[TranscriptRecord],
         samples: list[InspectSample]) -> InspectEvalLog:
    run_id = records.run_dir.name
    first = cells[0]
    manifest = records.manifests[0] if records.manifests else None
    statuses = Counter(cell.status for cell in cells)
    simulated = any(cell.simulated for cell in cells)
    created = min([m.started_at for m in records.manifests] or [first.started_at])
    name = f"{first.prompt_set} under scaffold {scaffold}"
    usage = InspectUsage(
        input_tokens=sum(s.output.usage.input_tokens for s in samples),
        output_tokens=sum(s.output.usage.output_tokens for s in samples),
        total_tokens=sum(s.output.usage.total_tokens for s in samples),
        total_cost=None if any(s.metadata.cost_usd is None for s in samples) else
        sum(s.metadata.cost_usd or 0.0 for s in samples))
    spec = InspectEvalSpec(
        eval_id=_stable_id(run_id, model, scaffold), run_id=run_id, created=created,
        task=f"xstress/{scaffold}", task_id=_stable_id(run_id, scaffold),
        task_display_name=f"[SIMULATED] {name}" if simulated else name,
        tags=["xstress", "simulated"] if simulated else ["xstress"],
        dataset=InspectDataset(name=first.prompt_set, samples=len(samples),
                               sample_ids=sorted({s.id for s in samples})),
        model=first.litellm_model,
        model_generate_config=InspectGenerateConfig(**first.model_params.model_dump()),
        config={"epochs": max(cell.replicate for cell in cells) + 1},
        packages=dict(manifest.versions) if manifest is not None else {},
        metadata={"xstress_run": run_id, "model": model, "scaffold": scaffold,
                  "prompt_set": first.prompt_set, "simulated": simulated,
                  "cells_ok": statuses["ok"], "cells_error": statuses["error"],
                  "cells_blocked": statuses["blocked"],
                  "note": SIMULATED_NOTE if simulated else None})
    return InspectEvalLog(
        eval=spec, plan=InspectPlan(steps=[_scaffold_step(records, scaffold, first)]),
        results=InspectResults(total_samples=len(samples), completed_samples=len(samples),
                               scores=_eval_scores(samples)),
        stats=InspectStats(started_at=min(cell.started_at for cell in cells),
                           completed_at=max(cell.finished_at for cell in cells),
                           model_usage={first.litellm_model: usage}),
        samples=samples)


def _scaffold_step(records: RunRecords, scaffold: str, cell: TranscriptRecord
                   ) -> InspectPlanStep:
    params: dict[str, str | list[str]] = {"name": scaffold, "hash": cell.scaffold_hash}
    for manifest in records.manifests:
        for spec in manifest.config.scaffolds:
            if spec.name == scaffold:
                params.update(description=spec.description, system=spec.system or "",
                              passes=[p.name for p in spec.passes])
                return InspectPlanStep(solver="xstress/scaffold", params=params)
    return InspectPlanStep(solver="xstress/scaffold", params=params)


def _eval_scores(samples: list[InspectSample]) -> list[InspectEvalScore]:
    levels: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for sample in samples:
        for coder, score in sample.scores.items():
            for dimension, level in score.value.items():
                levels[(coder, dimension)].append(level)
    result = []
    for (coder, dimension), values in sorted(levels.items()):
        scored = [value for value in values if value is not None]
        metrics = {"mean": InspectMetric(name="mean", value=sum(scored) / len(scored))} \
            if scored else {}
        result.append(InspectEvalScore(name=f"{coder}/{dimension}", scorer=coder,
                                       scored_samples=len(scored),
                                       unscored_samples=len(values) - len(scored),
                                       metrics=metrics))
    return result


def _stable_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:22]

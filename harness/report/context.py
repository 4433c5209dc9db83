"""What the report knows before any wording: the run's facts merged from its manifests
(configuration hashes, versions, model and scaffold order, the prompt set, whether the models
were simulated) and ``ReportContext``, the bundle of inputs, choices and results that every
section reads. It owns how the manifests of several shards are merged and which disagreements
between them become warnings. It reads no file (``report_inputs.py`` does), computes no
statistic and words nothing (the section modules ``report_results.py``, ``report_audit.py`` and
``report_methods.py`` do).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.report.inputs import CoderFile, RunInputs, TranscriptCounts
from harness.schema import RubricSpec
from harness.stats import Design, EffectRow, InteractionRow, ProfileRow, ScoreMatrix

__all__ = ["ReportContext", "RunFacts", "run_facts"]


# =========================================================================== the run's facts


@dataclass(frozen=True)
class RunFacts:
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


def run_facts(inputs: RunInputs) -> RunFacts:
    """Merge the manifests of every shard (a disagreement becomes a warning)."""

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
    return RunFacts(
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


# =========================================================================== the context


@dataclass(frozen=True)
class ReportContext:
    """Everything the report says, gathered before any wording."""

    run_dir: Path
    facts: RunFacts
    design: Design
    scores: ScoreMatrix
    rubric: RubricSpec | None
    coder_label: str
    coder_reason: str
    coders: dict[str, CoderFile]
    coders_used: list[CoderFile]
    heuristic_only: bool
    baseline: str
    n_boot: int
    n_perm: int
    seed: int
    profiles: list[ProfileRow]
    effects: list[EffectRow]
    interactions: list[InteractionRow]
    transcripts: TranscriptCounts | None
    leak_report: dict[str, Any] | None
    agreement: list[dict[str, str]] | None
    warnings: list[str]

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimension ids the scores cover, in report order."""
        return self.scores.dimensions

    @property
    def dimension_names(self) -> dict[str, str]:
        """Dimension id -> name, when the rubric is known."""
        return {d.id: d.name for d in self.rubric.dimensions} if self.rubric else {}

    @property
    def other_scaffolds(self) -> tuple[str, ...]:
        """The scaffolds compared with the baseline."""
        return tuple(s for s in self.design.scaffolds if s != self.baseline)

    @property
    def user_kind(self) -> Literal["scripted", "simulated", "unknown"]:
        """Whether the prompt set has LLM-simulated user turns."""
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
        """The users of this run, in words."""
        return {
            "unknown": "scripted or simulated (the prompt set is not recorded in the manifest)",
            "simulated": "scripted turns plus LLM-simulated users (a model playing a persona)",
            "scripted": "scripted (fixed user turns written in advance)",
        }[self.user_kind]

    def evidence_tag(self) -> str:
        """The evidence level every finding carries, in a few words."""
        if self.facts.simulated:
            return "pipeline check only: simulated models"
        users = {"simulated": "simulated users", "scripted": "scripted users"}.get(
            self.user_kind, "scripted or simulated users"
        )
        tag = f"interaction level, fixed scaffold, {users}"
        return tag + ("; heuristic coder only" if self.heuristic_only else "")

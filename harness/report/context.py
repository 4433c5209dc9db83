"""What the report knows before any wording: the run's facts merged from its manifests
(configuration hashes, the protocol, versions, model and scaffold order, the prompt set,
whether the models were simulated) and ``ReportContext``, the bundle of inputs, choices and
results that every section reads. It owns how the manifests of several shards are merged and
which disagreements between them become warnings. It reads no file (``inputs.py`` does),
computes no statistic and words nothing (the section modules under ``sections/`` do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from harness.errors import XstressError
from harness.report.coders import CoderFile
from harness.report.inputs import RunInputs, TranscriptCounts
from harness.rundir import (
    AgreementRow,
    LeakReport,
    Manifest,
    RunDir,
    ServedIdentity,
    protocol_of_manifest,
)
from harness.schema import PromptSet, ProtocolFile, RubricSpec
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
    prompt_set: PromptSet | None
    replicates_config: int | None
    model_order: tuple[str, ...]
    scaffold_order: tuple[str, ...]
    started_at: str
    finished_at: str
    simulated_judges: frozenset[str] = frozenset()
    """Judges whose model is one of xstress's simulated models (``xstress-sim/...``)."""
    presets: frozenset[str] = frozenset()
    """The presets the shards' configs were composed with (e.g. ``offline``, ``paper``)."""
    protocol: ProtocolFile | None = None
    """The fixed-scaffolding protocol the run followed (None: see ``protocol_problem``)."""
    protocol_problem: str = ""
    """Why the run has no single protocol (e.g. its models differ in sampling)."""
    served: dict[str, ServedIdentity] = field(default_factory=dict)
    """Per model, what the provider reported serving (merged over shards)."""


def run_facts(inputs: RunInputs) -> RunFacts:
    """Merge the manifests of every shard (a disagreement becomes a warning)."""
    manifests = inputs.manifests
    model_hashes, scaffold_hashes = _merged_hashes(manifests, inputs.warnings)
    prompts_hashes = tuple(dict.fromkeys(m.hashes.prompts for m in manifests))
    if len(prompts_hashes) > 1:
        inputs.warnings.append("manifests disagree on the prompt set hash")
    configs = [m.config for m in manifests]
    simulated = (
        any(m.simulated for m in manifests)
        or any(spec.simulated for config in configs for spec in config.models)
        or (inputs.transcripts is not None and inputs.transcripts.simulated)
    )
    protocol, problem = _protocol(inputs)
    started = [m.started_at for m in manifests if m.started_at]
    finished = [m.finished_at for m in manifests if m.finished_at]
    return RunFacts(
        run_id=", ".join(dict.fromkeys(m.run_id for m in manifests if m.run_id))
        or inputs.run_dir.name,
        simulated=simulated,
        model_hashes=model_hashes,
        scaffold_hashes=scaffold_hashes,
        prompts_hashes=prompts_hashes,
        model_versions=_merged_model_versions(manifests),
        versions={name: version for m in manifests for name, version in m.versions.items()},
        git_commit=", ".join(dict.fromkeys(m.git_commit for m in manifests if m.git_commit)),
        prompt_set=configs[-1].prompts if configs else None,
        replicates_config=configs[-1].run.replicates if configs else None,
        model_order=tuple(dict.fromkeys(s.name for config in configs for s in config.models)),
        scaffold_order=tuple(
            dict.fromkeys(s.name for config in configs for s in config.scaffolds)
        ),
        started_at=min(started) if started else "",
        finished_at=max(finished) if finished else "",
        presets=frozenset(config.preset for config in configs if config.preset),
        protocol=protocol,
        protocol_problem=problem,
        served=_merged_served(manifests),
        simulated_judges=frozenset(
            judge.name for config in configs for judge in config.judges
            if judge.litellm_model and judge.litellm_model.startswith("xstress-sim/")),
    )


def _protocol(inputs: RunInputs) -> tuple[ProtocolFile | None, str]:
    """The run's protocol, from its manifest (the same hash the sweep recorded)."""
    if not inputs.manifests:
        return None, "no manifest"
    try:
        protocol = protocol_of_manifest(inputs.manifests[0])
    except XstressError as exc:
        return None, exc.message
    recorded = {m.protocol_hash for m in inputs.manifests if m.protocol_hash}
    if recorded - {protocol.protocol_hash}:
        inputs.warnings.append("the manifest's protocol hash differs from the one its "
                               "configuration gives now (written by another xstress version?)")
    return protocol, ""


def _merged_hashes(
    manifests: list[Manifest], warnings: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Model and scaffold hashes over every shard; the last shard wins a disagreement."""
    model_hashes: dict[str, str] = {}
    scaffold_hashes: dict[str, str] = {}
    for manifest in manifests:
        for target, new in (
            (model_hashes, manifest.hashes.models),
            (scaffold_hashes, manifest.hashes.scaffolds),
        ):
            for name, value in new.items():
                if target.get(name, value) != value:
                    warnings.append(f"manifests disagree on the hash of {name!r}")
                target[name] = value
    return model_hashes, scaffold_hashes


def _merged_model_versions(manifests: list[Manifest]) -> dict[str, list[str]]:
    """Every model version any shard's provider reported, per model, in order of appearance."""
    merged: dict[str, list[str]] = {}
    for manifest in manifests:
        for model, found in manifest.model_versions.items():
            known = merged.setdefault(model, [])
            for version in found:
                if version not in known:
                    known.append(version)
    return merged


def _merged_served(manifests: list[Manifest]) -> dict[str, ServedIdentity]:
    """Per model, every reported model and fingerprint of any shard; the last listing."""
    merged: dict[str, ServedIdentity] = {}
    for manifest in manifests:
        for model, found in manifest.served.items():
            known = merged.get(model)
            if known is not None:
                found = found.model_copy(update={
                    "reported_models": list(dict.fromkeys(
                        [*known.reported_models, *found.reported_models])),
                    "system_fingerprints": list(dict.fromkeys(
                        [*known.system_fingerprints, *found.system_fingerprints])),
                    "listing": found.listing or known.listing})
            merged[model] = found
    return merged


# =========================================================================== the context


@dataclass(frozen=True)
class ReportContext:
    """Everything the report says, gathered before any wording."""

    run_dir: RunDir
    facts: RunFacts
    design: Design
    scores: ScoreMatrix
    rubric: RubricSpec | None
    coder_label: str
    coder_reason: str
    coders: dict[str, CoderFile]
    coders_used: list[CoderFile]
    heuristic_only: bool
    """Every level the profiles use came from the heuristic (coders with no level at all,
    such as a judge that failed on every item, are left out of this)."""
    simulated_judge_only: bool
    """Every level the profiles use came from a simulated judge."""
    baseline: str
    n_perm: int
    seed: int
    profiles: list[ProfileRow]
    effects: list[EffectRow]
    interactions: list[InteractionRow]
    transcripts: TranscriptCounts | None
    leak_report: LeakReport | None
    agreement: list[AgreementRow] | None
    warnings: list[str]
    coder_scores: dict[str, ScoreMatrix] = field(default_factory=dict)
    """The scores of each coder in ``coders_used``, by name (``scores`` combines them)."""

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimension ids the scores cover, in report order."""
        return self.scores.dimensions

    @property
    def dimension_names(self) -> dict[str, str]:
        """Dimension id -> name, when the rubric is known."""
        return {d.id: d.name for d in self.rubric.dimensions} if self.rubric else {}

    @property
    def uncoded_dimensions(self) -> tuple[str, ...]:
        """Dimensions on which no coder behind the profiles gave a level to any item."""
        if not self.coders_used:
            return ()
        uncoded = [{found[0] for found in coder.uncoded(self.dimensions)}
                   for coder in self.coders_used]
        return tuple(d for d in self.dimensions if all(d in each for each in uncoded))

    def levels_from(self) -> dict[str, tuple[str, ...]]:
        """Per dimension, the coders behind the profiles that gave a level to some item."""
        return {d: tuple(c.name for c in self.coders_used if c.scored_by_dimension[d])
                for d in self.dimensions}

    def dimension_tag(self, dimension: str) -> str:
        """`` [format check only]`` for a finding on a dimension whose levels came from the
        heuristic alone while others' did not (a profile made by it alone has the banner)."""
        names = self.levels_from().get(dimension, ())
        kinds = {c.name: c.kinds for c in self.coders_used}
        if self.heuristic_only or not names or any(kinds[n] != {"heuristic"} for n in names):
            return ""
        return " [format check only]"

    @property
    def figure_dimension_names(self) -> dict[str, str]:
        """Dimension labels for the figures: an uncoded dimension says so on its axis."""
        names = dict(self.dimension_names)
        for dimension in self.uncoded_dimensions:
            names[dimension] = f"{names.get(dimension, '')} (not coded)".strip()
        return names

    @property
    def other_scaffolds(self) -> tuple[str, ...]:
        """The scaffolds compared with the baseline."""
        return tuple(s for s in self.design.scaffolds if s != self.baseline)

    @property
    def user_kind(self) -> Literal["scripted", "simulated", "unknown"]:
        """Whether the prompt set has simulated-user turns (a model or the scripted user)."""
        prompt_set = self.facts.prompt_set
        if prompt_set is None:
            return "unknown"
        simulated_turns = any(
            turn.simulated_user is not None
            for scenario in prompt_set.scenarios
            for turn in scenario.turns
        )
        return "simulated" if simulated_turns else "scripted"

    @property
    def users(self) -> str:
        """The users of this run, in words."""
        return {
            "unknown": "scripted or simulated (the prompt set is not recorded in the manifest)",
            "simulated": "scripted turns plus simulated users (a model or the scripted "
                         "simulated user playing a persona card that reveals hidden facts only "
                         "when asked)",
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
        return tag + ("; format check (heuristic) only" if self.heuristic_only else "")

"""The resolved run: a composed Hydra tree validated into a ``RunConfig``.

This module owns ``RunConfig`` (everything one run needs, validated, with the content hashes
of every protocol element and the manifest's view of it) and ``resolve``, whose errors name
the file and the field. It does not compose (``compose.py``) or run anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from harness.config.files import (
    check_prompt_source,
    display_path,
    load_spec,
    spec_path,
    validate_spec,
    with_included,
    with_prompt,
)
from harness.config.limits import check_input_limits
from harness.config.protocol import build_protocol, load_protocol_setting, local_settings
from harness.errors import ConfigError
from harness.schema import (
    BlindSettings,
    JudgeSpec,
    ModelSpec,
    PipelineSettings,
    PromptSet,
    ProtocolFile,
    ProviderSettings,
    ReplaySettings,
    ReportSettings,
    RubricSpec,
    RunSettings,
    ScaffoldSpec,
    content_hash,
)

__all__ = [
    "SIMULATED_BANNER",
    "RunConfig",
    "apply_protocol",
    "protocol_of_config",
    "resolve",
]

SpecT = TypeVar("SpecT", bound=BaseModel)

SIMULATED_BANNER = "SIMULATED models (xstress-sim personas, not real models)"
"""How every output of a run on simulated models says so."""



@dataclass(frozen=True)
class RunConfig:
    """Everything one sweep needs, validated. Built by :func:`resolve`."""

    models: tuple[ModelSpec, ...]
    scaffolds: tuple[ScaffoldSpec, ...]
    prompts: PromptSet
    run: RunSettings
    provider: ProviderSettings
    replay: ReplaySettings
    pipeline: PipelineSettings
    rubric: RubricSpec | None = None
    judges: tuple[JudgeSpec, ...] = ()
    simulated_user_models: tuple[ModelSpec, ...] = ()
    """Models named by a scenario's ``simulated_user.model`` (loaded and checked here, before
    any call, like the targets)."""
    user_model: ModelSpec | None = None
    """The run's choice of who plays ``simulated_user`` blocks that name no model
    (``users=<name>``, ``configs/users/<name>.yaml``); None: each target plays its own user."""
    blind: BlindSettings = field(default_factory=BlindSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    preset: str | None = None
    protocol: str | None = None
    """The protocol file this run follows (``protocol=FILE``), as given; None: none named."""

    @property
    def simulated(self) -> bool:
        """True when every model is one of xstress's simulated models."""
        return all(m.simulated for m in self.models)

    def hashes(self) -> dict[str, Any]:
        """Content hashes of every config object in full (they identify files; what a study
        holds fixed is the protocol's, ``harness.config.protocol``)."""
        return {
            "models": {m.name: content_hash(m) for m in self.models},
            "scaffolds": {s.name: content_hash(s) for s in self.scaffolds},
            "prompts": content_hash(self.prompts),
            "rubric": content_hash(self.rubric) if self.rubric else None,
            "judges": {j.name: content_hash(j) for j in self.judges},
            "simulated_user_models": {m.name: content_hash(m)
                                      for m in self.simulated_user_models},
            "users": content_hash(self.user_model) if self.user_model else None,
        }

    def simulated_user_model(self, name: str | None) -> ModelSpec | None:
        """Who plays a ``simulated_user`` block naming ``name`` (a model config), or naming
        none (the run's ``users`` choice); None: the target model plays its own user."""
        if name is None:
            return self.user_model
        return next((m for m in self.simulated_user_models if m.name == name), None)

    def user_models(self) -> list[ModelSpec]:
        """Every model that may play a user (their keys are checked before the first call)."""
        return [*self.simulated_user_models, *([self.user_model] if self.user_model else [])]

    def to_manifest(self) -> dict[str, Any]:
        """The resolved config as plain data (names of key variables, never their values)."""

        def dump(obj: BaseModel) -> Any:
            return obj.model_dump(mode="json", by_alias=True)

        return {
            "models": [dump(m) for m in self.models],
            "scaffolds": [dump(s) for s in self.scaffolds],
            "prompts": dump(self.prompts),
            "rubric": dump(self.rubric) if self.rubric else None,
            "judges": [dump(j) for j in self.judges],
            "simulated_user_models": [dump(m) for m in self.simulated_user_models],
            "users": dump(self.user_model) if self.user_model else None,
            "run": dump(self.run),
            "provider": dump(self.provider),
            "replay": dump(self.replay),
            "pipeline": dump(self.pipeline),
            "blind": dump(self.blind),
            "report": dump(self.report),
            "preset": self.preset,
            "protocol": self.protocol,
        }


def _group_members(tree: Any, kind: str, model: type[SpecT]) -> tuple[SpecT, ...]:
    members = []
    for key, data in (tree or {}).items():
        where = display_path(spec_path(kind, str(key)))
        spec = validate_spec(model, data, where)
        if kind == "judges":
            check_prompt_source(data, where)
        if getattr(spec, "name", None) != key:
            raise ConfigError(
                f"{where}: field 'name' is {getattr(spec, 'name', None)!r} but the file is "
                f"named {key!r}",
                fix=f"set name: {key} (a config's name is its file name)",
            )
        members.append(spec)
    return tuple(members)


def _check_only(run: RunSettings, prompts: PromptSet, where: str) -> None:
    """Every id in ``run.only`` (``prompts.only``) must be a scenario of the prompt set."""
    import difflib

    ids = [scenario.id for scenario in prompts.scenarios]
    for wanted in run.only or ():
        if wanted not in ids:
            close = difflib.get_close_matches(wanted, ids, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(
                f"prompts.only: no scenario {wanted!r} in {where}",
                fix=f"{hint}'xstress list prompts {prompts.name}' lists the ids",
            )


def resolve(cfg: Any) -> RunConfig:
    """Validate a composed Hydra config into a :class:`RunConfig` (errors name file + field)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        tree = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"configuration: {str(exc).splitlines()[0]}") from None
    assert isinstance(tree, dict)
    tree.pop("hydra", None)
    known = {"models", "scaffolds", "prompts", "rubric", "judges", "provider", "run", "pipeline",
             "replay", "blind", "report", "preset", "users", "protocol"}
    unknown = sorted(set(tree) - known)
    if unknown:
        raise ConfigError(
            f"configs/config.yaml: unknown top-level key(s) {', '.join(unknown)}",
            fix=f"use one of {', '.join(sorted(known))}",
        )
    models = _group_members(tree.get("models"), "models", ModelSpec)
    scaffolds = _group_members(tree.get("scaffolds"), "scaffolds", ScaffoldSpec)
    judges = tuple(with_prompt(judge)
                   for judge in _group_members(tree.get("judges"), "judges", JudgeSpec))
    if not models:
        raise ConfigError("models: no model selected", fix="e.g. models=[gpt4o,claude]")
    if not scaffolds:
        raise ConfigError("scaffolds: no scaffold selected", fix="e.g. scaffolds=[bare,verify]")
    prompts_tree = tree.get("prompts") or {}
    prompts_name = prompts_tree.get("name", "?") if isinstance(prompts_tree, dict) else "?"
    prompts_where = display_path(spec_path("prompts", str(prompts_name)))
    prompts = with_included(validate_spec(PromptSet, prompts_tree, prompts_where), prompts_where)
    rubric_tree = tree.get("rubric")
    rubric = None
    if rubric_tree:
        rubric_name = rubric_tree.get("name", "?") if isinstance(rubric_tree, dict) else "?"
        rubric = validate_spec(
            RubricSpec, rubric_tree, display_path(spec_path("rubric", str(rubric_name)))
        )
    run_settings = validate_spec(RunSettings, tree.get("run") or {}, "run (configs/config.yaml)")
    _check_only(run_settings, prompts, prompts_where)
    preset = tree.get("preset")
    users_tree = tree.get("users")
    user_model = None
    if users_tree:
        users_name = users_tree.get("name", "?") if isinstance(users_tree, dict) else "?"
        user_model = validate_spec(ModelSpec, users_tree,
                                   display_path(spec_path("users", str(users_name))))
    simulated_user_models = tuple(
        load_spec("models", name)
        for name in sorted({turn.simulated_user.model for scenario in prompts.scenarios
                            for turn in scenario.turns
                            if turn.simulated_user is not None and turn.simulated_user.model})
    )
    protocol = load_protocol_setting(tree.get("protocol"))
    config = RunConfig(
        models=models,
        scaffolds=scaffolds,
        prompts=prompts,
        rubric=rubric,
        judges=judges,
        run=run_settings,
        provider=validate_spec(
            ProviderSettings, tree.get("provider") or {}, "provider (configs/provider/)"
        ),
        replay=validate_spec(ReplaySettings, tree.get("replay") or {}, "replay"),
        pipeline=validate_spec(PipelineSettings, tree.get("pipeline") or {}, "pipeline"),
        simulated_user_models=simulated_user_models,
        user_model=user_model,
        blind=validate_spec(BlindSettings, tree.get("blind") or {}, "blind (configs/config.yaml)"),
        report=validate_spec(ReportSettings, tree.get("report") or {},
                             "report (configs/config.yaml)"),
        preset=preset if isinstance(preset, str) else None,
        protocol=str(tree["protocol"]) if protocol is not None else None,
    )
    return check_input_limits(apply_protocol(config, protocol) if protocol is not None
                              else config)


def protocol_of_config(config: RunConfig, *, run_id: str | None = None) -> ProtocolFile:
    """The protocol of a resolved run config."""
    return build_protocol(
        models=config.models, scaffolds=config.scaffolds, prompts=config.prompts,
        rubric=config.rubric, judges=config.judges, replicates=config.run.replicates,
        users=config.user_model, user_models=config.simulated_user_models, run_id=run_id,
        where="the run configuration", analysis=config.report)


def apply_protocol(config: RunConfig, protocol: ProtocolFile) -> RunConfig:
    """``config`` running ``protocol``: its scaffolds, scenarios, rubric, coders, sampling,
    replicates and users; the models under test (with the protocol's sampling) and every local
    setting (endpoints, keys, rate limits, output folder) stay the run's own."""
    models = tuple(m.model_copy(update={"params": protocol.sampling}) for m in config.models)
    return dataclasses.replace(
        config,
        models=models,
        scaffolds=tuple(protocol.scaffolds),
        prompts=protocol.prompts,
        rubric=protocol.rubric,
        judges=tuple(local_settings(j, "judges") for j in protocol.judges),
        run=config.run.model_copy(update={"replicates": protocol.replicates}),
        user_model=(local_settings(protocol.users, "users")
                    if protocol.users is not None else None),
        simulated_user_models=tuple(local_settings(m, "models")
                                    for m in protocol.user_models),
    )

"""Configuration: Hydra composition of ``configs/`` and ``scaffolds/`` into a validated RunConfig.

This module owns where config files live, how Hydra composes them, and how the composed tree
becomes pydantic objects whose errors name the file and the field. It does not run anything.
Plain YAML files in ``configs/models``, ``configs/judges`` and ``scaffolds/`` become Hydra
config groups through the plugins in ``hydra_plugins/xstress_searchpath``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import ConfigError
from harness.paths import project_root
from harness.schema import (
    BlindSettings,
    JudgeSpec,
    ModelSpec,
    PipelineSettings,
    PromptSet,
    ProviderSettings,
    ReplaySettings,
    ReportSettings,
    RubricSpec,
    RunSettings,
    ScaffoldSpec,
    content_hash,
)

__all__ = [
    "KINDS",
    "SIMULATED_BANNER",
    "RunConfig",
    "compose",
    "config_dir",
    "expand_all_selections",
    "list_names",
    "load_spec",
    "load_spec_file",
    "resolve",
    "spec_path",
]

SpecT = TypeVar("SpecT", bound=BaseModel)

SIMULATED_BANNER = "SIMULATED models (xstress-sim personas, not real models)"
"""How every output of a run on simulated models says so."""

KINDS: dict[str, type[BaseModel]] = {
    "models": ModelSpec,
    "scaffolds": ScaffoldSpec,
    "prompts": PromptSet,
    "rubric": RubricSpec,
    "judges": JudgeSpec,
}


def config_dir() -> Path:
    """Absolute path of ``configs/``."""
    return project_root() / "configs"


def kind_dir(kind: str) -> Path:
    """Folder holding the files of one kind (scaffolds live at the project root)."""
    if kind not in KINDS:
        raise ConfigError(f"unknown config kind {kind!r}", fix=f"use one of {', '.join(KINDS)}")
    return project_root() / "scaffolds" if kind == "scaffolds" else config_dir() / kind


def display_path(path: Path) -> str:
    """A path relative to the project root when it is inside it (shorter error messages)."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def spec_path(kind: str, name: str) -> Path:
    """Where the file for ``name`` of ``kind`` lives."""
    return kind_dir(kind) / f"{name}.yaml"


def list_names(kind: str) -> list[str]:
    """Names of every file of ``kind``, sorted."""
    folder = kind_dir(kind)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if not p.name.startswith("."))


def describe_validation_error(where: str, exc: ValidationError) -> str:
    """One line naming the file, each bad field and what is wrong with it."""
    parts = []
    for error in exc.errors()[:3]:
        location = ".".join(str(x) for x in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see the README's configuration reference)"
        elif error["type"] == "missing":
            message = "required field is missing"
        parts.append(f"field '{location}': {message}")
    more = f" (+{len(exc.errors()) - 3} more)" if len(exc.errors()) > 3 else ""
    return f"{where}: " + "; ".join(parts) + more


def validate_spec(model: type[SpecT], data: Any, where: str) -> SpecT:
    """Validate ``data`` as ``model``; a ConfigError names ``where`` and the field."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: expected a mapping of fields, got {type(data).__name__}",
            fix="write the file as 'field: value' lines",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(where, exc)) from None


def load_spec_file(kind: str, path: Path) -> BaseModel:
    """Load and validate one YAML file of ``kind`` (its name must match the file name)."""
    where = display_path(path)
    if not path.is_file():
        raise ConfigError(f"{where}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{line} is not valid YAML", fix="check indentation") from None
    spec = validate_spec(KINDS[kind], data, where)
    name = getattr(spec, "name", None)
    if name != path.stem:
        raise ConfigError(
            f"{where}: field 'name' is {name!r} but the file is named {path.stem!r}",
            fix=f"set name: {path.stem} (a config's name is its file name)",
        )
    return spec


def load_spec(kind: str, name: str) -> Any:
    """Load the named config of ``kind`` (e.g. ``load_spec("judges", "heuristic")``)."""
    path = spec_path(kind, name)
    if not path.is_file():
        available = ", ".join(list_names(kind)) or "none"
        raise ConfigError(
            f"{display_path(path)}: no {kind} config named {name!r}",
            fix=f"choose one of: {available}; or add {display_path(path)}",
        )
    return load_spec_file(kind, path)


# --------------------------------------------------------------------------- Hydra composition

_ALL_OVERRIDE = re.compile(r"^(?P<key>models|scaffolds|judges)=all$")


def expand_all_selections(overrides: Sequence[str]) -> list[str]:
    """Rewrite ``scaffolds=all`` (and models/judges) into the list of every file's name."""
    expanded = []
    for override in overrides:
        match = _ALL_OVERRIDE.match(override.strip())
        if match:
            kind = match["key"]
            names = list_names(kind)
            if not names:
                raise ConfigError(f"{kind}=all: no files in {display_path(kind_dir(kind))}")
            override = f"{kind}=[{','.join(names)}]"
        expanded.append(override)
    return expanded


@contextmanager
def hydra_context() -> Iterator[None]:
    """Hydra's compose API rooted at xstress's configs (absolute path, no chdir)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        yield


def hydra_error_to_config_error(exc: Exception) -> ConfigError:
    """Turn Hydra's multi-line composition errors into one actionable line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    missing = re.search(r"Could not (?:load|find) '([^']+)/([^']+)'", text)
    if missing:
        kind, name = missing.group(1), missing.group(2)
        if kind in KINDS:
            path = spec_path(kind, name)
            available = ", ".join(list_names(kind)) or "none"
            return ConfigError(
                f"{display_path(path)}: no {kind} config named {name!r}",
                fix=f"choose one of: {available}; or add {display_path(path)}",
            )
    no_match = re.search(r"Could not override '([^']+)'", text)
    if no_match:
        return ConfigError(
            f"override {no_match.group(1)!r}: {text}",
            fix="see 'xstress run --help' for the settings, or the README's configuration "
                "reference",
        )
    return ConfigError(f"configuration: {text}", fix="check the overrides and config files")


def compose(overrides: Sequence[str]) -> Any:
    """Compose ``configs/config.yaml`` with command-line overrides (returns a DictConfig)."""
    from hydra.compose import compose as hydra_compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = expand_all_selections(overrides)
    try:
        with hydra_context():
            return hydra_compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise hydra_error_to_config_error(exc) from None


# --------------------------------------------------------------------------- the resolved run


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
    blind: BlindSettings = field(default_factory=BlindSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    preset: str | None = None

    @property
    def simulated(self) -> bool:
        """True when every model is one of xstress's simulated models."""
        return all(m.simulated for m in self.models)

    def hashes(self) -> dict[str, Any]:
        """Content hashes of every protocol element (the fixed-scaffolding protocol)."""
        return {
            "models": {m.name: content_hash(m) for m in self.models},
            "scaffolds": {s.name: content_hash(s) for s in self.scaffolds},
            "prompts": content_hash(self.prompts),
            "rubric": content_hash(self.rubric) if self.rubric else None,
            "judges": {j.name: content_hash(j) for j in self.judges},
            "simulated_user_models": {m.name: content_hash(m)
                                      for m in self.simulated_user_models},
        }

    def simulated_user_model(self, name: str | None) -> ModelSpec | None:
        """The model config named by a ``simulated_user.model`` (None: the target plays)."""
        return next((m for m in self.simulated_user_models if m.name == name), None)

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
            "run": dump(self.run),
            "provider": dump(self.provider),
            "replay": dump(self.replay),
            "pipeline": dump(self.pipeline),
            "blind": dump(self.blind),
            "report": dump(self.report),
            "preset": self.preset,
        }


def _group_members(tree: Any, kind: str, model: type[SpecT]) -> tuple[SpecT, ...]:
    members = []
    for key, data in (tree or {}).items():
        where = display_path(spec_path(kind, str(key)))
        spec = validate_spec(model, data, where)
        if getattr(spec, "name", None) != key:
            raise ConfigError(
                f"{where}: field 'name' is {getattr(spec, 'name', None)!r} but the file is "
                f"named {key!r}",
                fix=f"set name: {key} (a config's name is its file name)",
            )
        members.append(spec)
    return tuple(members)


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
             "replay", "blind", "report", "preset"}
    unknown = sorted(set(tree) - known)
    if unknown:
        raise ConfigError(
            f"configs/config.yaml: unknown top-level key(s) {', '.join(unknown)}",
            fix=f"use one of {', '.join(sorted(known))}",
        )
    models = _group_members(tree.get("models"), "models", ModelSpec)
    scaffolds = _group_members(tree.get("scaffolds"), "scaffolds", ScaffoldSpec)
    judges = _group_members(tree.get("judges"), "judges", JudgeSpec)
    if not models:
        raise ConfigError("models: no model selected", fix="e.g. models=[gpt4o,claude]")
    if not scaffolds:
        raise ConfigError("scaffolds: no scaffold selected", fix="e.g. scaffolds=[bare,verify]")
    prompts_tree = tree.get("prompts") or {}
    prompts_name = prompts_tree.get("name", "?") if isinstance(prompts_tree, dict) else "?"
    prompts = validate_spec(
        PromptSet, prompts_tree, display_path(spec_path("prompts", str(prompts_name)))
    )
    rubric_tree = tree.get("rubric")
    rubric = None
    if rubric_tree:
        rubric_name = rubric_tree.get("name", "?") if isinstance(rubric_tree, dict) else "?"
        rubric = validate_spec(
            RubricSpec, rubric_tree, display_path(spec_path("rubric", str(rubric_name)))
        )
    preset = tree.get("preset")
    simulated_user_models = tuple(
        load_spec("models", name)
        for name in sorted({turn.simulated_user.model for scenario in prompts.scenarios
                            for turn in scenario.turns
                            if turn.simulated_user is not None and turn.simulated_user.model})
    )
    return RunConfig(
        models=models,
        scaffolds=scaffolds,
        prompts=prompts,
        rubric=rubric,
        judges=judges,
        run=validate_spec(RunSettings, tree.get("run") or {}, "run (configs/config.yaml)"),
        provider=validate_spec(
            ProviderSettings, tree.get("provider") or {}, "provider (configs/provider/)"
        ),
        replay=validate_spec(ReplaySettings, tree.get("replay") or {}, "replay"),
        pipeline=validate_spec(PipelineSettings, tree.get("pipeline") or {}, "pipeline"),
        simulated_user_models=simulated_user_models,
        blind=validate_spec(BlindSettings, tree.get("blind") or {}, "blind (configs/config.yaml)"),
        report=validate_spec(ReportSettings, tree.get("report") or {},
                             "report (configs/config.yaml)"),
        preset=preset if isinstance(preset, str) else None,
    )

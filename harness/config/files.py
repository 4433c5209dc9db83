"""Config files: where each kind lives, and loading one file into its validated spec.

Every file is a plain YAML file named after its ``name`` (``configs/<kind>/<name>.yaml``;
scaffolds under ``scaffolds/``). This module owns the folders, the one-line errors that name
the file and the field, and an LLM judge's prompt template (read into the spec so that its hash
versions the prompt). Composing several files into a run is ``compose``'s and ``run``'s job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.config.limits import check_file_size
from harness.errors import ConfigError
from harness.paths import project_root
from harness.schema import JudgeSpec, ModelSpec, PromptSet, RubricSpec, ScaffoldSpec

__all__ = [
    "KINDS",
    "check_prompt_source",
    "config_dir",
    "describe_validation_error",
    "display_path",
    "kind_dir",
    "list_names",
    "load_spec",
    "load_spec_file",
    "read_yaml",
    "spec_path",
    "validate_spec",
    "with_included",
    "with_prompt",
]

SpecT = TypeVar("SpecT", bound=BaseModel)

KINDS: dict[str, type[BaseModel]] = {
    "models": ModelSpec,
    "users": ModelSpec,
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


def read_yaml(path: Path) -> Any:
    """The data of one YAML file: the one way config files are read.

    Raises:
        ConfigError: the file is missing or unreadable, not UTF-8, or not YAML (naming the
            line when YAML says which).
    """
    where = display_path(path)
    if not path.is_file():
        raise ConfigError(f"{where}: file not found")
    check_file_size(path, where)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: is not UTF-8 text", fix="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror or exc})",
                          fix="check the file's permissions") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{line} is not valid YAML",
                          fix="check indentation and quoting") from None


def load_spec_file(kind: str, path: Path) -> BaseModel:
    """Load and validate one YAML file of ``kind`` (its name must match the file name)."""
    where = display_path(path)
    data = read_yaml(path)
    spec = validate_spec(KINDS[kind], data, where)
    if kind == "judges":
        check_prompt_source(data, where)
    if isinstance(spec, PromptSet):
        spec = with_included(spec, where)
    name = getattr(spec, "name", None)
    if name != path.stem:
        raise ConfigError(
            f"{where}: field 'name' is {name!r} but the file is named {path.stem!r}",
            fix=f"set name: {path.stem} (a config's name is its file name)",
        )
    return with_prompt(spec) if isinstance(spec, JudgeSpec) else spec


def check_prompt_source(data: dict[str, Any], where: str) -> None:
    """A judge file gives ``prompt_file`` or an inline ``prompt_template``, not both.

    Raises:
        ConfigError: both are set.
    """
    if data.get("prompt_file") is not None and data.get("prompt_template") is not None:
        raise ConfigError(f"{where}: both prompt_file and prompt_template are set",
                          fix="keep one: a template file under configs/judges/, or inline text")


def with_prompt(judge: JudgeSpec) -> JudgeSpec:
    """An LLM judge with its prompt template's text in ``prompt_template`` (read from
    ``configs/judges/<prompt_file>``, default ``templates/<mode>.md``), so that the judge's
    content hash, the manifest and every score's ``coder_hash`` carry the prompt itself.

    Raises:
        ConfigError: the template file is missing or not UTF-8 text.
    """
    if judge.kind != "llm" or judge.prompt_template is not None:
        return judge
    path = kind_dir("judges") / judge.template_path()
    where = display_path(spec_path("judges", judge.name))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{where}: prompt template {display_path(path)} cannot be read "
            f"({getattr(exc, 'strerror', None) or exc})",
            fix="set prompt_file to a template under configs/judges/ (e.g. "
                "templates/per_dimension.md)",
        ) from None
    return judge.model_copy(update={"prompt_template": text,
                                    "prompt_file": judge.template_path()})


def with_included(prompts: PromptSet, where: str, chain: tuple[str, ...] = ()) -> PromptSet:
    """``prompts`` with the scenarios of the sets it includes first (recursively), and an
    empty ``include``: the loaded set holds every scenario's full text.

    Raises:
        ConfigError: an included set is missing, includes itself (a cycle), or a scenario id
            appears twice across the sets.
    """
    if not prompts.include:
        return prompts
    if prompts.name in chain:
        raise ConfigError(f"{where}: prompt sets include each other "
                          f"({' -> '.join([*chain, prompts.name])})", fix="break the cycle")
    scenarios = []
    for name in prompts.include:
        included = _load_prompt_set(name, (*chain, prompts.name))
        scenarios.extend(included.scenarios)
    scenarios.extend(prompts.scenarios)
    return validate_spec(PromptSet, {**prompts.model_dump(mode="json"), "include": [],
                                     "scenarios": [s.model_dump(mode="json") for s in scenarios]},
                         where)


def _load_prompt_set(name: str, chain: tuple[str, ...]) -> PromptSet:
    """The named prompt set, its own includes expanded (``chain`` detects cycles)."""
    path = spec_path("prompts", name)
    where = display_path(path)
    if not path.is_file():
        available = ", ".join(list_names("prompts")) or "none"
        raise ConfigError(f"{where}: no prompts config named {name!r} (included by "
                          f"{chain[-1]})", fix=f"choose one of: {available}")
    spec = validate_spec(PromptSet, read_yaml(path), where)
    return with_included(spec, where, chain)


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

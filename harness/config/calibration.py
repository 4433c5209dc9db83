"""Loading a known-answer calibration set and checking it against its prompt set.

A set is a folder, ``configs/calibration/<name>/``, of YAML files (``CalibrationFile``); this
module merges them into one ``CalibrationSet`` and checks what no single file can: ids unique
across files, one prompt set, every scenario known, and each conversation's user turns equal
to the start of its scenario's scripted turns (so the replies answer the real scenario). It
does not code anything (``xstress calibrate``).
"""

from __future__ import annotations

from pathlib import Path

from harness.config.files import config_dir, display_path, load_spec, read_yaml, validate_spec
from harness.errors import ConfigError
from harness.schema import CalibrationFile, CalibrationItem, CalibrationSet, PromptSet

__all__ = ["calibration_dir", "list_calibration_sets", "load_calibration_set"]


def calibration_dir() -> Path:
    """``configs/calibration/``: one folder per set."""
    return config_dir() / "calibration"


def list_calibration_sets() -> list[str]:
    """The names of the calibration sets (folders holding YAML files)."""
    folder = calibration_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def load_calibration_set(name: str) -> CalibrationSet:
    """Every file of ``configs/calibration/<name>/``, validated and checked.

    Raises:
        ConfigError: no such set, a file that does not validate, a repeated id, two prompt
            sets, an unknown scenario, or user turns that are not the scenario's.
    """
    folder = calibration_dir() / name
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        available = ", ".join(list_calibration_sets()) or "none"
        raise ConfigError(f"{display_path(folder)}: no calibration set named {name!r}",
                          fix=f"choose one of: {available}")
    parts = [_load_file(path) for path in files]
    prompt_sets = {part.prompt_set for part in parts}
    if len(prompt_sets) != 1:
        raise ConfigError(f"{display_path(folder)}: files name different prompt sets "
                          f"({', '.join(sorted(prompt_sets))})", fix="use one prompt set per set")
    prompts: PromptSet = load_spec("prompts", parts[0].prompt_set)
    seen: dict[str, Path] = {}
    items: list[CalibrationItem] = []
    for path, part in zip(files, parts, strict=True):
        for item in part.items:
            where = f"{display_path(path)}: item {item.id!r}"
            if item.id in seen:
                raise ConfigError(f"{where}: id also used in {display_path(seen[item.id])}",
                                  fix="give every item a distinct id")
            seen[item.id] = path
            _check_turns(item, prompts, where)
            items.append(item)
    return CalibrationSet(name=name, prompt_set=prompts.name, items=items)


def _load_file(path: Path) -> CalibrationFile:
    return validate_spec(CalibrationFile, read_yaml(path), display_path(path))


def _check_turns(item: CalibrationItem, prompts: PromptSet, where: str) -> None:
    scenario = next((s for s in prompts.scenarios if s.id == item.scenario_id), None)
    if scenario is None:
        raise ConfigError(f"{where}: scenario {item.scenario_id!r} is not in prompt set "
                          f"{prompts.name!r}", fix="use a scenario id of that prompt set")
    users = [m.content for m in item.messages if m.role == "user"]
    scripted = [turn.user for turn in scenario.turns]
    if len(users) > len(scripted):
        raise ConfigError(f"{where}: {len(users)} user turns, the scenario has "
                          f"{len(scripted)}", fix="replay the scenario's turns only")
    for index, (text, turn) in enumerate(zip(users, scripted, strict=False)):
        if turn is not None and text.strip() != turn.strip():
            raise ConfigError(f"{where}: user turn {index + 1} differs from the scenario's",
                              fix="copy the scenario's user turn verbatim")

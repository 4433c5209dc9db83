"""The one argument dialect of every ``xstress`` command, parsed here and nowhere else.

A command line is positionals (``RUN_DIR``, ``FILE``), ``key=value`` settings and ``--flags``:

* settings configure: Hydra overrides of the run config on ``run``, ``plan`` and ``score``
  (``models=[a,b]``, ``run.timeout_s=5``), and the stage's own section elsewhere
  (``report.coder=alice``; on ``xstress report`` the ``report.`` prefix may be left out). Values
  are read as YAML scalars and flow lists (``null``, ``3``, ``[a,b]``), like Hydra's;
* flags only switch an action on (``--force``, ``--replace``), never carry a value.

Each command declares a ``CommandSpec``; ``parse`` checks a command line against it and
``render_help`` writes its ``--help`` from the same declaration, one line per flag and per
setting, so the help cannot drift from what is accepted. This module raises ``ConfigError`` for
anything malformed, with the fix; it does not run commands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from harness.config import validate_spec
from harness.errors import ConfigError

__all__ = [
    "CommandSpec",
    "Flag",
    "Parsed",
    "Setting",
    "describe",
    "parse",
    "render_help",
    "settings_from",
]

_KEY = re.compile(r"^[+~]?[A-Za-z_][A-Za-z0-9_.@/-]*$")
_MULTI = ("models", "scaffolds", "judges", "prompts.only", "run.only")


@dataclass(frozen=True)
class Flag:
    """A ``--name`` switch that turns an action on."""

    name: str
    help: str
    short: str | None = None


@dataclass(frozen=True)
class Setting:
    """A ``key=value`` setting a command documents in its help."""

    key: str
    help: str


@dataclass(frozen=True)
class CommandSpec:
    """What one command accepts, and its help text."""

    name: str
    """``run``, ``code export`` ..."""
    summary: str
    positionals: tuple[tuple[str, str], ...] = ()
    """(NAME, help); a NAME ending in ``...`` takes zero or more values."""
    flags: tuple[Flag, ...] = ()
    settings: tuple[Setting, ...] = ()
    section: str | None = None
    """Settings of this section may be written without the ``<section>.`` prefix."""
    examples: tuple[str, ...] = ()
    hydra: bool = False
    """Settings are Hydra overrides of the whole run config (any config key is accepted)."""
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Parsed:
    """A checked command line."""

    positionals: list[str]
    flags: frozenset[str]
    overrides: list[str]
    """``key=value`` strings, with the section prefix added where it was left out."""
    help: bool = False


def parse(spec: CommandSpec, argv: Sequence[str]) -> Parsed:
    """Split ``argv`` into positionals, flags and settings, and check them against ``spec``.

    Raises:
        ConfigError: an unknown flag, a setting written as a flag, a malformed setting, or
            the wrong number of positionals (the message names the fix).
    """
    if any(arg in ("-h", "--help") for arg in argv):
        return Parsed([], frozenset(), [], help=True)
    flags: set[str] = set()
    positionals: list[str] = []
    overrides: list[str] = []
    by_name = {f"--{f.name}": f.name for f in spec.flags}
    by_name.update({f"-{f.short}": f.name for f in spec.flags if f.short})
    for index, arg in enumerate(argv):
        if arg.startswith("-") and not _looks_like_a_number(arg):
            following = argv[index + 1] if index + 1 < len(argv) else ""
            flags.add(_flag(spec, arg, by_name, following))
        elif "=" in arg and _KEY.match(arg.partition("=")[0]):
            overrides.append(_override(spec, arg))
        else:
            positionals.append(arg)
    _check_positionals(spec, positionals)
    return Parsed(positionals, frozenset(flags), overrides)


def _looks_like_a_number(arg: str) -> bool:
    return re.fullmatch(r"-\d+(\.\d+)?", arg) is not None


def _flag(spec: CommandSpec, arg: str, by_name: Mapping[str, str], following: str) -> str:
    name, has_value, value = arg.partition("=")
    if name in by_name and not has_value:
        return by_name[name]
    key = name.lstrip("-").replace("-", "_")
    known = _documented_keys(spec)
    match = next((k for k in known if k == key or k.endswith(f".{key}")), None)
    if match is not None:
        shown = match.removeprefix(f"{spec.section}.") if spec.section else match
        example = value or (following if following and not following.startswith("-")
                             and "=" not in following else "VALUE")
        raise ConfigError(f"xstress {spec.name}: {name} is a setting, not a flag",
                          fix=f"write {shown}={example} (settings are key=value)")
    flags = ", ".join(sorted(by_name)) or "none"
    raise ConfigError(f"xstress {spec.name}: unknown option {arg!r}",
                      fix=f"flags here: {flags}; settings are key=value; see "
                          f"'xstress {spec.name} --help'")


def _documented_keys(spec: CommandSpec) -> list[str]:
    return [setting.key.split("=")[0] for setting in spec.settings]


def _override(spec: CommandSpec, arg: str) -> str:
    key, _, value = arg.partition("=")
    if spec.hydra and key in _MULTI and "," in value and not value.startswith("["):
        raise ConfigError(f"xstress {spec.name}: {arg!r} selects several {key} without brackets",
                          fix=f"write {key}=[{value}]")
    if spec.section and "." not in key and key in _section_fields(spec):
        key = f"{spec.section}.{key}"
    return f"{key}={value}"


def _section_fields(spec: CommandSpec) -> set[str]:
    prefix = f"{spec.section}."
    return {k.removeprefix(prefix) for k in _documented_keys(spec) if k.startswith(prefix)}


def _check_positionals(spec: CommandSpec, positionals: list[str]) -> None:
    names = [name for name, _ in spec.positionals]
    variadic = bool(names) and names[-1].endswith("...")
    required = len(names) - (1 if variadic else 0)
    if len(positionals) < required or (not variadic and len(positionals) > len(names)):
        usage = " ".join(names) or "no positional arguments"
        got = " ".join(positionals) or "none"
        fix = f"run 'xstress {spec.name} --help'"
        if any("=" in p for p in positionals):
            fix = "write settings as key=value with a known key; " + fix
        raise ConfigError(f"xstress {spec.name}: expected {usage}, got {got}", fix=fix)


def settings_from(overrides: Sequence[str], sections: Mapping[str, type[BaseModel]],
                  command: str) -> dict[str, BaseModel]:
    """Validate ``section.field=value`` overrides into one model per section (the section
    ``""`` takes keys without a dot, e.g. ``rubric=NAME``).

    Keys are checked against the models' fields (a typo names the key and lists the valid
    ones); values are YAML scalars or flow lists.

    Raises:
        ConfigError: an unknown key or an invalid value.
    """
    import yaml

    data: dict[str, dict[str, Any]] = {name: {} for name in sections}
    for override in overrides:
        key, _, raw = override.partition("=")
        section, _, name = key.rpartition(".")
        model = sections.get(section)
        if model is None or name not in model.model_fields:
            valid = ", ".join(f"{s}.{f}".lstrip(".") for s, m in sections.items()
                              for f in m.model_fields)
            raise ConfigError(f"xstress {command}: unknown setting {key!r}",
                              fix=f"settings here: {valid}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        data[section][name] = value
    result: dict[str, BaseModel] = {}
    for section, model in sections.items():
        where = f"xstress {command}"
        try:
            result[section] = validate_spec(model, data[section], where)
        except ConfigError as exc:
            prefix = f"{section}." if section else ""
            raise ConfigError(exc.message.replace("field '", f"setting '{prefix}"),
                              fix=exc.fix) from None
    return result


def render_help(spec: CommandSpec) -> str:
    """The command's ``--help``: usage, summary, one line per positional, flag and setting."""
    parts = [f"xstress {spec.name}", *(name for name, _ in spec.positionals)]
    if spec.settings or spec.hydra:
        parts.append("[key=value ...]")
    parts.extend(f"[--{f.name}]" for f in spec.flags)
    lines = ["usage: " + " ".join(parts), "", spec.summary]
    width = max([len(n) for n, _ in spec.positionals]
                + [len(f"--{f.name}") + (len(f.short) + 3 if f.short else 0) for f in spec.flags]
                + [len(s.key) for s in spec.settings] + [12])
    if spec.positionals:
        lines += ["", "arguments:"]
        lines += [_entry(name, text, width) for name, text in spec.positionals]
    if spec.flags:
        lines += ["", "flags (actions):"]
        for flag in spec.flags:
            label = f"--{flag.name}" + (f", -{flag.short}" if flag.short else "")
            lines.append(_entry(label, flag.help, width))
    if spec.settings:
        title = "settings (key=value; Hydra overrides of the run config)" if spec.hydra else \
            "settings (key=value)"
        lines += ["", title + ":"]
        lines += [_entry(s.key, s.help, width) for s in spec.settings]
    if spec.section:
        lines += ["", f"On this command the '{spec.section}.' prefix may be left out "
                      f"(e.g. {_example_field(spec)})."]
    lines += ["", *spec.notes] if spec.notes else []
    if spec.examples:
        lines += ["", "examples:", *(f"  {example}" for example in spec.examples)]
    return "\n".join(lines) + "\n"


def _entry(label: str, text: str, width: int) -> str:
    """One help line: the label, then the text wrapped under itself (docstring markup gone)."""
    import shutil
    import textwrap

    columns = max(60, min(100, shutil.get_terminal_size((100, 24)).columns))
    indent = " " * (width + 4)
    body = textwrap.fill(text.replace("``", ""), columns, initial_indent=indent,
                         subsequent_indent=indent)
    return f"  {label.ljust(width)}  {body[len(indent):]}"


def _example_field(spec: CommandSpec) -> str:
    fields = sorted(_section_fields(spec))
    return f"{fields[0]}=..." if fields else f"{spec.section}.KEY=..."


def describe(model: type[BaseModel], prefix: str) -> tuple[Setting, ...]:
    """One ``Setting`` per field of a settings model, its help the field's docstring."""
    settings = []
    for name, info in model.model_fields.items():
        text = " ".join((info.description or "").split())
        default = info.get_default(call_default_factory=True)
        shown = "null" if default is None else str(default).lower() if isinstance(
            default, bool) else str(default)
        settings.append(Setting(f"{prefix}.{info.alias or name}", f"{text} (default {shown})"))
    return tuple(settings)


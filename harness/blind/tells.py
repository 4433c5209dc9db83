"""The tells file: what counts as an identity tell, as data.

This module owns the tells file (``configs/blinding/tells.yaml``, schema ``xstress.tells/1``):
its pydantic models, its default path and its loading, plus the placeholders and the category
names reserved for a run's own names. The file holds vendor, product, model and platform names
(closed and open-weight), self-identification and knowledge-cutoff patterns; its header
explains the matching rules.
It does not gather a run's own names (``terms.py``), turn names into regexes (``patterns.py``)
or scrub and scan text (``rules.py``, ``scrubber.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError
from harness.paths import project_root

__all__ = [
    "BUILTIN_MACROS",
    "PLACEHOLDER_INSTRUCTIONS",
    "PLACEHOLDER_MODEL",
    "PLACEHOLDER_SCAFFOLD",
    "PLACEHOLDER_VENDOR",
    "RUN_CATEGORIES",
    "TELLS_FILE",
    "NameSpec",
    "TellCategory",
    "TellsSpec",
    "default_tells_path",
    "load_tells",
]

TELLS_FILE = Path("blinding") / "tells.yaml"
"""The default tells file, relative to the project's ``configs/`` folder."""
RUN_CATEGORIES = ("scaffold_text", "scaffold_wrapper", "run_model", "run_scaffold")
"""Replacement categories of a run's own names and text (a tells file may not use them)."""
PLACEHOLDER_MODEL = "[MODEL]"
PLACEHOLDER_VENDOR = "[VENDOR]"
BUILTIN_MACROS = ("name", "unlisted", "unlisted_maker")
"""Macros every pattern may use: any listed name; a name or maker not in any list."""
PLACEHOLDER_SCAFFOLD = "[SCAFFOLD]"
PLACEHOLDER_INSTRUCTIONS = "[INSTRUCTIONS]"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NameSpec(_Spec):
    """One name in a ``names`` list (a bare string is shorthand for ``{name: ...}``)."""

    name: str = Field(min_length=1)
    match_case: bool = False
    """Match only as written (for names that are ordinary words in lowercase)."""
    require_version: bool = False
    """Match only as a model: a version follows (``Phi-3``, not ``phi``) or a model word does
    (``Phi models``); self-identification patterns (``<<name>>``) match it alone."""
    ordinary_word: bool = False
    """A family name that is also a word (``Llama``, ``Mistral``): left alone where it reads as
    the word (lowercase prose, inside a title); see ``harness/blind/words.py``."""
    not_followed_by: str | None = None
    """A regular expression that must not follow the match."""

    @model_validator(mode="after")
    def _one_word_rule(self) -> NameSpec:
        if self.require_version and self.ordinary_word:
            raise ValueError("choose one of 'require_version' or 'ordinary_word'")
        return self


class TellCategory(_Spec):
    """A category of tells: a list of names, or a list of patterns, and its placeholder."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    placeholder: str = Field(min_length=1)
    names: list[str | NameSpec] = Field(default_factory=list)
    versioned: bool = False
    """Names only: a version or variant after the name is replaced with it."""
    patterns: list[str] = Field(default_factory=list)
    detect: list[str] = Field(default_factory=list)
    """Patterns only: what the leak scan looks for after scrubbing."""
    anchors: list[str] | None = None
    """Patterns only: lowercase words of which every match contains one (a prefilter)."""

    @model_validator(mode="after")
    def _names_or_patterns(self) -> TellCategory:
        if bool(self.names) == bool(self.patterns):
            raise ValueError("a category needs exactly one of 'names' or 'patterns'")
        if self.names and (self.detect or self.anchors is not None):
            raise ValueError("'detect' and 'anchors' belong to pattern categories only")
        for word in self.anchors or []:
            if not re.fullmatch(r"[a-z]+", word):
                raise ValueError(f"anchors: {word!r} must be lowercase ASCII letters only")
        return self


class TellsSpec(_Spec):
    """The tells file (``configs/blinding/tells.yaml``, schema ``xstress.tells/1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["xstress.tells/1"] = Field(alias="schema")
    macros: dict[str, str] = Field(default_factory=dict)
    version_words: list[str] = Field(default_factory=list)
    categories: list[TellCategory] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_categories(self) -> TellsSpec:
        names = [c.name for c in self.categories]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"categories: {name!r} appears twice")
            if name in RUN_CATEGORIES:
                raise ValueError(f"categories: {name!r} is reserved for the run's own names")
        for builtin in BUILTIN_MACROS:
            if builtin in self.macros:
                raise ValueError(f"macros: {builtin!r} is built in; choose another key")
        return self


def default_tells_path() -> Path:
    """``configs/blinding/tells.yaml`` of the project (``XSTRESS_ROOT`` moves it)."""
    return project_root() / "configs" / TELLS_FILE


def load_tells(path: Path) -> TellsSpec:
    """Load and validate a tells file; raise ``ConfigError`` naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"tells file {path} not found",
            fix="restore configs/blinding/tells.yaml or pass the path of your tells file",
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})", fix="repair the YAML") from None
    try:
        return TellsSpec.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A names entry is "a string or a NameSpec": report the NameSpec branch's complaint
        # (the string branch's "should be a valid string" tells the user nothing).
        first = next((e for e in errors if e["loc"][-1:] != ("str",)), errors[0])
        loc = [part for part in first["loc"] if part not in ("str", "NameSpec")]
        where = ".".join(str(part) for part in loc) or "(top level)"
        raise ConfigError(
            f"{path}: {where}: {first['msg']}",
            fix="see the comments at the top of configs/blinding/tells.yaml",
        ) from None

"""Loading a study's published figures: ``configs/paper/<name>.yaml`` into ``PublishedFigures``.

The file is data about a publication, not part of any run: nothing composes it into a run
config or hashes it into a protocol. This module owns where such files live and the one-line
errors a bad one gets (file, line or field, and the fix); the shape is
``harness.schema.published``'s and printing the figures the report's.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.config.files import config_dir, display_path, validate_spec
from harness.errors import ConfigError
from harness.schema import PublishedFigures

__all__ = ["PAPER_FIGURES", "load_published_figures", "published_figures_path"]

PAPER_FIGURES = "published"
"""The figures of the paper the ``paper`` preset reproduces the design of."""


def published_figures_path(name: str = PAPER_FIGURES) -> Path:
    """Where the published figures called ``name`` live: ``configs/paper/<name>.yaml``."""
    return config_dir() / "paper" / f"{name}.yaml"


def load_published_figures(name: str = PAPER_FIGURES) -> PublishedFigures:
    """The published figures called ``name``, validated.

    Raises:
        ConfigError: the file is missing, is not YAML, does not validate, or its ``name`` is
            not its file name.
    """
    path = published_figures_path(name)
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"{where}: cannot be read",
                          fix=f"restore {where} from the repository") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}:{line} is not valid YAML",
                          fix="check indentation and quoting") from None
    figures = validate_spec(PublishedFigures, data, where)
    if figures.name != path.stem:
        raise ConfigError(f"{where}: field 'name' is {figures.name!r} but the file is named "
                          f"{path.stem!r}", fix=f"set name: {path.stem}")
    return figures

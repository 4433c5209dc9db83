"""Loading a study's published figures: ``configs/paper/<name>.yaml`` into ``PublishedFigures``.

The file is data about a publication, not part of any run: nothing composes it into a run
config or hashes it into a protocol. This module owns where such files live and the one-line
errors a bad one gets (file, line or field, and the fix); the shape is
``harness.schema.published``'s and printing the figures the report's.
"""

from __future__ import annotations

from pathlib import Path

from harness.config.files import config_dir, display_path, read_yaml, validate_spec
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
    figures = validate_spec(PublishedFigures, read_yaml(path), where)
    if figures.name != path.stem:
        raise ConfigError(f"{where}: field 'name' is {figures.name!r} but the file is named "
                          f"{path.stem!r}", fix=f"set name: {path.stem}")
    return figures

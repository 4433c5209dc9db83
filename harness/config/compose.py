"""Hydra composition of ``configs/config.yaml`` with command-line overrides.

Plain YAML files in ``configs/models``, ``configs/judges`` and ``scaffolds/`` become Hydra
config groups through the plugins in ``hydra_plugins/xstress_searchpath``. This module owns
the compose call, ``models=all``-style selections, and turning Hydra's multi-line errors into
one line with a fix. It validates nothing (``run.resolve`` does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.config.files import KINDS, config_dir, display_path, kind_dir, list_names, spec_path
from harness.errors import ConfigError

__all__ = ["compose", "expand_all_selections", "hydra_context"]


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
    import yaml
    from hydra.compose import compose as hydra_compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = expand_all_selections(overrides)
    try:
        with hydra_context():
            return hydra_compose(config_name="config", overrides=list(overrides))
    except yaml.YAMLError as exc:
        # A settings file (config.yaml, a preset, a provider) that is not YAML; the data
        # files are read by read_yaml, whose errors already name the file.
        mark = getattr(exc, "problem_mark", None)
        where = (f"{display_path(Path(mark.name))}: line {mark.line + 1}" if mark is not None
                 else "a config file")
        raise ConfigError(f"{where} is not valid YAML",
                          fix="check indentation and quoting") from None
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise hydra_error_to_config_error(exc) from None

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

from pydantic import BaseModel

from harness.config.files import KINDS, config_dir, display_path, kind_dir, list_names, spec_path
from harness.config.protocol import analysis_overrides, check_protocol_overrides
from harness.errors import ConfigError

__all__ = ["compose", "expand_all_selections", "hydra_context"]


_ALL_OVERRIDE = re.compile(r"^(?P<key>models|scaffolds|judges)=all$")


_ONLY_ALIAS = re.compile(r"^\+?prompts\.only=")


def expand_all_selections(overrides: Sequence[str]) -> list[str]:
    """Rewrite ``scaffolds=all`` (and models/judges) into the list of every file's name, and
    ``prompts.only=[...]`` into ``run.only=[...]`` (the prompt set's node is a validated prompt
    set with no room for a selection; the selection is a run setting)."""
    expanded = []
    for override in overrides:
        override = _ONLY_ALIAS.sub("run.only=", override.strip())
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


_GROUPS = ("models", "scaffolds", "prompts", "rubric", "judges", "provider", "users", "preset")


def known_keys() -> list[str]:
    """Every key an override of the run config may set (groups, then ``section.field``)."""
    from harness.schema import (
        BlindSettings,
        PipelineSettings,
        ProviderSettings,
        ReplaySettings,
        ReportSettings,
        RunSettings,
    )

    sections: dict[str, type[BaseModel]] = {
        "run": RunSettings, "provider": ProviderSettings, "replay": ReplaySettings,
        "pipeline": PipelineSettings, "blind": BlindSettings, "report": ReportSettings}
    return [*_GROUPS, "protocol", "prompts.only", *(f"{section}.{info.alias or name}"
                                        for section, model in sections.items()
                                        for name, info in model.model_fields.items())]


def _did_you_mean(wrong: str, choices: Sequence[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(wrong, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def hydra_error_to_config_error(exc: Exception, overrides: Sequence[str] = ()) -> ConfigError:
    """Turn Hydra's multi-line composition errors into one actionable line (with the override
    the user probably meant, written out)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    missing = re.search(r"Could not (?:load|find) '([^']+)/([^']+)'", text)
    if missing:
        kind, name = missing.group(1), missing.group(2)
        if kind in KINDS:
            path = spec_path(kind, name)
            names = list_names(kind)
            close = _did_you_mean(name, names)
            hint = f"did you mean {close}? " if close else ""
            return ConfigError(
                f"{display_path(path)}: no {kind} config named {name!r}",
                fix=f"{hint}choose one of: {', '.join(names) or 'none'}; or add "
                    f"{display_path(path)}",
            )
    no_match = re.search(r"Could not (?:override|append to) '([^']+)'", text)
    if no_match:
        key = no_match.group(1)
        value = next((o.partition("=")[2] for o in overrides
                      if o.partition("=")[0].lstrip("+~") == key), "VALUE")
        keys = known_keys()
        # A section's field written without its section ("coder=" for report.coder).
        owners = [known for known in keys if known.rpartition(".")[2] == key]
        close = owners[0] if len(owners) == 1 else _did_you_mean(key, keys)
        fix = (f"did you mean {close}? write {close}={value}" if close else
               "the settings are listed by 'xstress run --help'")
        return ConfigError(f"override {key!r}: no such setting", fix=fix)
    return ConfigError(f"configuration: {text}",
                       fix="check the overrides ('xstress run --help') and the config files")


def compose(overrides: Sequence[str]) -> Any:
    """Compose ``configs/config.yaml`` with command-line overrides (returns a DictConfig)."""
    import yaml
    from hydra.compose import compose as hydra_compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    check_protocol_overrides(overrides)
    overrides = expand_all_selections(analysis_overrides(overrides))
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
        raise hydra_error_to_config_error(exc, overrides) from None

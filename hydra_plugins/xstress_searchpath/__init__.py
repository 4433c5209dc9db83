"""Hydra plugins that make xstress's plain YAML files behave as config groups.

Two jobs, both needed only because users must be able to drop a plain YAML file (no Hydra
header, no code) into ``configs/models/``, ``configs/judges/`` or the top-level ``scaffolds/``:

* ``XstressSearchPathPlugin`` puts the project root on Hydra's search path, so the top-level
  ``scaffolds/`` folder is a config group that ``glob(*)`` sweeps and option listings see
  (``hydra.searchpath`` in a config file composes, but Hydra 1.3 hides such groups from sweeps).
* ``XstressConfigSource`` (scheme ``xstress://``) reads files like Hydra's file source but gives
  every file of a multi-select group (models, scaffolds, judges) the package ``<group>.<name>``,
  as if it carried ``# @package <group>.<name>``: selecting several files of one group
  (``models=[a,b]``) then yields ``cfg.models.a`` and ``cfg.models.b`` instead of one file
  silently overwriting the other.

* It also keeps the text of config files literal. Scenario turns, scaffold texts, persona
  cards, rubric anchors and judge prompts are data: OmegaConf would otherwise resolve any
  ``${...}`` in them (``${oc.env:OPENAI_API_KEY}`` in a prompt would send the key to the
  provider and write it into every transcript) and refuse prompts that merely contain one
  (``rm -rf ${BUILD_DIR}/``). Files of the ``LITERAL_GROUPS`` are read with xstress's own YAML
  reader (a bad file is a one-line error naming it) and every ``${`` in their strings is
  escaped, so resolution gives back exactly the text written. Interpolation stays available in
  the run settings (``configs/config.yaml``, presets, providers).

The plugins act only when the primary config directory is xstress's own ``configs/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.file_config_source import FileConfigSource
from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.config_source import ConfigResult, ConfigSource
from hydra.plugins.search_path_plugin import SearchPathPlugin

from harness.paths import project_root

MULTI_SELECT_GROUPS = ("models", "scaffolds", "judges")
LITERAL_GROUPS = ("models", "users", "scaffolds", "prompts", "rubric", "judges")
"""Config groups whose files are data: their strings are never interpolated."""

_INTERPOLATION_START = re.compile(r"(\\*)\$\{")


def escape_interpolations(value: Any) -> Any:
    """``value`` with every ``${`` in its strings escaped for OmegaConf (recursively).

    OmegaConf reads ``\\${`` as a literal ``${`` and ``\\\\`` before ``${`` as one literal
    backslash, so doubling the backslashes that precede ``${`` and adding one more makes the
    resolved string equal to the written one, whatever it holds.
    """
    if isinstance(value, str):
        return _INTERPOLATION_START.sub(lambda m: m.group(1) * 2 + "\\${", value)
    if isinstance(value, dict):
        return {key: escape_interpolations(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape_interpolations(item) for item in value]
    return value


class XstressConfigSource(FileConfigSource):
    """File config source that packages multi-select group members under their own name."""

    @staticmethod
    def scheme() -> str:
        return "xstress"

    def load_config(self, config_path: str) -> ConfigResult:
        group, _, file_name = config_path.replace("\\", "/").rpartition("/")
        if group in LITERAL_GROUPS:
            result = self._load_literal(config_path)
        else:
            result = super().load_config(config_path)
        if group in MULTI_SELECT_GROUPS and result.header.get("package") in (None, ""):
            name = file_name.removesuffix(".yaml").removesuffix(".yml")
            result.header["package"] = f"{group}.{name}"
        return result


    def _load_literal(self, config_path: str) -> ConfigResult:
        """A data file read by xstress's YAML reader, its ``${`` escaped (see the module)."""
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        from harness.config import read_yaml
        from harness.errors import ConfigError

        path = os.path.realpath(os.path.join(self.path, self._normalize_file_name(config_path)))
        data = read_yaml(Path(path))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{config_path}: expected a mapping of fields, got "
                              f"{type(data).__name__}",
                              fix="write the file as 'field: value' lines")
        with open(path, encoding="utf-8") as file:
            header = ConfigSource._get_header_dict(file.read(512))
        try:
            config = OmegaConf.create(escape_interpolations(data))
        except OmegaConfBaseException as exc:
            raise ConfigError(f"{config_path}: {str(exc).splitlines()[0]}",
                              fix="quote the value as text") from None
        return ConfigResult(config=config, path=f"{self.scheme()}://{self.path}",
                            provider=self.provider, header=header)


class XstressSearchPathPlugin(SearchPathPlugin):
    """Adds xstress's config sources when the app being composed is xstress."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        root = project_root()
        configs = root / "configs"
        def is_ours(path: str | None) -> bool:
            return path is not None and path.removeprefix("file://").rstrip("/") == str(configs)

        if not any(is_ours(element.path) for element in search_path.get_path()):
            return
        search_path.prepend(provider="xstress", path=f"xstress://{configs}")
        search_path.append(provider="xstress-root", path=f"xstress://{root}")

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

The plugins act only when the primary config directory is xstress's own ``configs/``.
"""

from __future__ import annotations

from hydra._internal.core_plugins.file_config_source import FileConfigSource
from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.config_source import ConfigResult
from hydra.plugins.search_path_plugin import SearchPathPlugin

from harness.paths import project_root

MULTI_SELECT_GROUPS = ("models", "scaffolds", "judges")


class XstressConfigSource(FileConfigSource):
    """File config source that packages multi-select group members under their own name."""

    @staticmethod
    def scheme() -> str:
        return "xstress"

    def load_config(self, config_path: str) -> ConfigResult:
        result = super().load_config(config_path)
        group, _, file_name = config_path.replace("\\", "/").rpartition("/")
        if group in MULTI_SELECT_GROUPS and result.header.get("package") in (None, ""):
            name = file_name.removesuffix(".yaml").removesuffix(".yml")
            result.header["package"] = f"{group}.{name}"
        return result


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

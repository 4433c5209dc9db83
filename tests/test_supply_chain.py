"""Guards on the installed environment (the litellm 1.82.7/1.82.8 incident shipped a .pth
file that ran at every interpreter start)."""

from __future__ import annotations

import site
import sys
from pathlib import Path

EXPECTED_PTH = {"_editable_impl_xstress.pth", "distutils-precedence.pth", "_virtualenv.pth"}


def test_no_unexpected_pth_files_in_site_packages() -> None:
    folders = {Path(p) for p in site.getsitepackages()} | {Path(site.getusersitepackages())}
    venv_folders = [f for f in folders if str(f).startswith(sys.prefix)]
    assert venv_folders, "tests must run inside the project's environment (uv run pytest)"
    found = {p.name for folder in venv_folders if folder.is_dir() for p in folder.glob("*.pth")}
    unexpected = found - EXPECTED_PTH
    assert not unexpected, f"unexpected .pth files run code at interpreter start: {unexpected}"


def test_litellm_is_the_pinned_release() -> None:
    from importlib.metadata import version

    assert version("litellm") == "1.110.2"
    assert version("hydra-core") == "1.3.8"

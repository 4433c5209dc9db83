"""Shared fixtures: a network guard, a private copy of the project's configs, the CLI run
in-process (``xstress``) or as a process (``run_cli``), and one offline run per session.

Run directories for a single stage are written by ``harness.testing.rundirs``; a scripted judge
client is ``harness.testing.fakes.FakeJudgeClient``.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]

# The system Chromium for browser tests (Debian's package; .ci/run installs it). Without the
# background-networking flags it tries to reach Google's hosts at every start.
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Offline before anything imports litellm (the harness sets these too; tests must not depend
# on import order).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise RuntimeError(f"test tried to reach the network: {address!r} (only 127.0.0.1)")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise RuntimeError(f"test tried to reach the network: {address!r} (only 127.0.0.1)")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of configs/ and scaffolds/ that tests may edit; XSTRESS_ROOT points at it."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "configs", root / "configs")
    shutil.copytree(ROOT / "scaffolds", root / "scaffolds")
    monkeypatch.setenv("XSTRESS_ROOT", str(root))
    return root


def cli_env(project_root: Path | None = None, **extra: str) -> dict[str, str]:
    """Environment for running the CLI in a subprocess (no keys unless given)."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and k not in ("XSTRESS_ROOT",)}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["LITELLM_OFFLINE_MODE"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    if project_root is not None:
        env["XSTRESS_ROOT"] = str(project_root)
    env.update(extra)
    return env


def run_cli(args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``xstress ARGS`` as a user would (a separate process)."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=cwd, env=env or cli_env(),
        capture_output=True, text=True, timeout=timeout, check=False,
    )


@dataclass(frozen=True)
class Ran:
    """What one in-process ``xstress`` command did."""

    code: int
    out: str
    err: str


@pytest.fixture
def xstress(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """Run ``xstress ARGS`` in this process (``main(argv)``); returns code, stdout, stderr."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


OFFLINE_RUN_NAME = "golden-offline-run"
"""The session's offline run; its name is the one the stored reference report was made with."""


@pytest.fixture(scope="session")
def offline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full offline pipeline run (180 cells, every stage), shared by the session.

    Tests may read it and rerun stages on it (resuming changes nothing); tests that change a
    run copy what they need into their own folder.
    """
    out = tmp_path_factory.mktemp("offline")
    saved = os.environ.pop("XSTRESS_ROOT", None)
    try:
        code = main(["run", "preset=offline", f"run.out_dir={out}",
                     f"run.name={OFFLINE_RUN_NAME}"])
    finally:
        if saved is not None:
            os.environ["XSTRESS_ROOT"] = saved
    assert code == 0, "the offline pipeline failed"
    return out / OFFLINE_RUN_NAME

"""Shared parts of the sweep benchmarks (``bench_sweep.py``, ``bench_peers.py``).

This module owns what both scripts measure the same way: the local test server as a process
(its URL, its request counts from ``GET /_stats``, its own CPU time), the two reference loops
(a plain ``litellm.acompletion`` loop and a bare aiohttp loop, run as ``python -c``), the
throwaway xstress project with 60 single-turn scenarios and the ``xstress run`` command
against it, and ``measure``: one command run to completion with its wall time, CPU time and
peak RSS. It does not choose contenders, rounds or what to print; the scripts do.

What ``measure`` reports: on Linux ``os.wait4`` returns the resource usage of the child *and
of every descendant that was waited for* (a reaped process's usage is folded into its parent's
"children" counters; checked with a child that starts a grandchild), so CPU is user+sys of the
whole process tree (worker processes included, once joined) and peak RSS is the largest single
process of that tree, not the sum of processes that ran at the same time. A descendant left
running or never reaped is not counted.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AIOHTTP_LOOP",
    "BENCH_KEY",
    "LITELLM_LOOP",
    "ROOT",
    "ContenderFailed",
    "LocalServer",
    "Measurement",
    "local_server",
    "make_project",
    "measure",
    "median_of",
    "xstress_command",
]

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "bench-not-a-key"
"""What every contender sends as its API key; the local server does not check it."""

LITELLM_LOOP = textwrap.dedent("""
    import asyncio, os, sys
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm
    litellm.suppress_debug_info = True
    url, n, c, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

    async def main():
        semaphore = asyncio.Semaphore(c)

        async def one(i):
            async with semaphore:
                await litellm.acompletion(
                    model="openai/bench", api_base=url, api_key=key,
                    messages=[{"role": "user", "content": f"bench prompt {i}"}],
                    max_retries=0, temperature=0.0, max_tokens=64)

        await asyncio.gather(*(one(i) for i in range(n)))

    asyncio.run(main())
""")

AIOHTTP_LOOP = textwrap.dedent("""
    import asyncio, sys
    import aiohttp
    url, n, c, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

    async def main():
        semaphore = asyncio.Semaphore(c)
        connector = aiohttp.TCPConnector(limit=c)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one(i):
                async with semaphore:
                    body = {"model": "bench", "temperature": 0.0, "max_tokens": 64,
                            "messages": [{"role": "user", "content": f"bench prompt {i}"}]}
                    async with session.post(url + "/chat/completions", json=body,
                                            headers={"Authorization": "Bearer " + key}) as r:
                        r.raise_for_status()
                        await r.json()
            await asyncio.gather(*(one(i) for i in range(n)))

    asyncio.run(main())
""")


@dataclass(frozen=True)
class Measurement:
    """One contender's figures (one run, or the per-field medians of several)."""

    name: str
    wall_s: float
    cpu_s: float
    """User + system CPU of the process and every descendant it waited for."""
    peak_rss_mb: float
    """The largest resident set of any single process of the tree (MiB)."""


class ContenderFailed(RuntimeError):
    """A measured command exited non-zero; carries the tail of its stderr."""

    def __init__(self, name: str, exit_code: int, stderr_tail: str) -> None:
        super().__init__(f"{name} failed (exit {exit_code}): {stderr_tail.strip()[-1500:]}")
        self.name = name
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


def measure(name: str, command: Sequence[str], env: dict[str, str], cwd: Path) -> Measurement:
    """Run ``command`` to completion: wall time, CPU and peak RSS of its whole process tree.

    Raises:
        ContenderFailed: The command exited non-zero.
    """
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), env=env, cwd=cwd, stdout=devnull, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if process.returncode != 0:
        raise ContenderFailed(name, process.returncode, stderr[-4000:])
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss_mb = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
    return Measurement(name, wall, usage.ru_utime + usage.ru_stime, rss_mb)


def median_of(measurements: Sequence[Measurement]) -> Measurement:
    """Per-field medians of repeated measurements of one contender."""
    return Measurement(measurements[0].name,
                       statistics.median(m.wall_s for m in measurements),
                       statistics.median(m.cpu_s for m in measurements),
                       statistics.median(m.peak_rss_mb for m in measurements))


@dataclass(frozen=True)
class LocalServer:
    """The test server running as a subprocess (``harness.testing.testserver``)."""

    url: str
    """Base URL ending in ``/v1`` (what litellm takes as ``api_base``)."""
    pid: int

    def counts(self) -> tuple[int, int]:
        """Chat requests answered so far: (all, HTTP 200)."""
        root = self.url.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/_stats", timeout=10) as response:
            stats = json.load(response)
        return int(stats["total"]), int(stats["by_status"].get("200", 0))

    def cpu_s(self) -> float:
        """The server's own user + system CPU so far (Linux ``/proc``; NaN elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def local_server(latency_s: float) -> Iterator[LocalServer]:
    """Start the test server with a fixed latency; stop it on exit."""
    server = subprocess.Popen(
        [sys.executable, "-m", "harness.testing.testserver", "--latency", str(latency_s)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the test server did not start (printed {url!r})")
        yield LocalServer(url, server.pid)
    finally:
        server.terminate()
        server.wait()


def make_project(folder: Path, concurrency: int) -> Path:
    """A project root with one local model, the bare scaffold and 60 single-turn scenarios."""
    root = folder / "project"
    shutil.copytree(ROOT / "configs", root / "configs")
    (root / "scaffolds").mkdir()
    shutil.copy(ROOT / "scaffolds" / "bare.yaml", root / "scaffolds" / "bare.yaml")
    (root / "configs" / "models" / "bench.yaml").write_text(
        "name: bench\nlitellm_model: openai/bench\nfamily: local\napi_key_env: BENCH_KEY\n"
        f"params: {{temperature: 0.0, max_tokens: 64}}\nlimits: {{max_concurrency: "
        f"{concurrency}}}\n")
    scenarios = "\n".join(
        f"  - {{id: b{i}, domain: technical, probe: checkable, targets: [D3], "
        f"turns: [{{user: 'bench prompt {i}'}}]}}" for i in range(60))
    (root / "configs" / "prompts" / "bench60.yaml").write_text(
        f"name: bench60\nscenarios:\n{scenarios}\n")
    return root


def xstress_command(url: str, n: int, concurrency: int, out_dir: Path, name: str,
                    *overrides: str) -> list[str]:
    """``xstress run`` of N cells (60 scenarios x N/60 replicates) on the bench project.

    Run it with ``XSTRESS_ROOT`` set to ``make_project``'s folder and ``BENCH_KEY`` set.
    """
    return [sys.executable, "-m", "harness", "run", "models=[bench]", "scaffolds=[bare]",
            "prompts=bench60", f"run.replicates={n // 60}", f"run.concurrency={concurrency}",
            f"provider.api_base={url}", f"run.out_dir={out_dir}", f"run.name={name}",
            "run.progress=false", "pipeline.stages=[sweep]", *overrides]

"""Benchmark: xstress against its peers on the same N single-turn requests (issue 14).

Starts the local OpenAI-compatible test server (``harness.testing.testserver``) with a fixed
latency L and sends it the same N single-turn chat requests at concurrency C through each
contender, each in its own process, the contenders alternating within every round (round r
starts at the r-th contender) so drift on a noisy machine spreads over all of them:

  aiohttp       a bare aiohttp loop posting the JSON (the network floor);
  litellm       a plain ``litellm.acompletion`` loop with a semaphore (``max_retries=0``);
  xstress-1     ``xstress run`` (60 single-turn scenarios x N/60 replicates, one process);
  xstress-auto  the same with ``run.workers=auto`` (a failure is reported if it is refused);
  inspect       Inspect AI: ``inspect eval`` of a task with N samples and ``generate()``, no
                scorer, model ``openai/bench`` at the server over Chat Completions
                (``-M responses_api=false``), ``--max-connections C``, default retries,
                ``--display none``, logs to a scratch folder;
  promptfoo     ``promptfoo eval`` of N test cases, provider ``openai:chat:bench`` at the
                server, ``-j C``, ``--no-cache``, telemetry, update checks and sharing
                off, its database in a scratch ``PROMPTFOO_CONFIG_DIR``.

For each N it prints the medians over the rounds of wall time, CPU (user+sys of the contender's
whole process tree, workers included), peak RSS (of the largest single process of the tree,
not a sum), the server's own CPU during the run, the requests the server answered (and whether
every round got exactly N, all HTTP 200), the ratio of wall time to the ideal N*L/C, and the
matrix of wall-time ratios between contenders (row / column).

Inspect AI and promptfoo are not dependencies of xstress (inspect-ai is pinned in the dev
group only to read exported logs back, so ``uv sync`` gives this interpreter a usable copy).
To use other copies, install them in a throwaway place and point the script at them:

    python3 -m venv /tmp/peers-venv && /tmp/peers-venv/bin/pip install inspect-ai openai
    npm install --prefix /tmp/peers-npm promptfoo
    uv run python scripts/bench_peers.py --inspect-python /tmp/peers-venv/bin/python \\
        --promptfoo /tmp/peers-npm/node_modules/.bin/promptfoo

(or set XSTRESS_BENCH_INSPECT_PYTHON / XSTRESS_BENCH_PROMPTFOO). A peer that is not found is
skipped with a line saying so; one that exits non-zero is reported as failed and left out of
the later rounds. promptfoo wants Node.js >= 22 (it still runs on 20, with a warning).
Usage:

    uv run python scripts/bench_peers.py [--n 180 1800 18000] [--concurrency C]
        [--latency 0.2] [--rounds 3] [--contenders aiohttp,litellm,xstress-1,...]

Without ``--concurrency``, C is 64 for N >= 18000 and 32 below (the issue's targets).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    AIOHTTP_LOOP,
    BENCH_KEY,
    LITELLM_LOOP,
    ContenderFailed,
    LocalServer,
    Measurement,
    local_server,
    make_project,
    measure,
    median_of,
    xstress_command,
)

INSPECT_TASK = textwrap.dedent("""
    import os
    from inspect_ai import Task, task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.solver import generate

    @task
    def bench():
        n = int(os.environ["BENCH_N"])
        samples = [Sample(input=f"bench prompt {i}", id=i + 1) for i in range(n)]
        return Task(dataset=MemoryDataset(samples), solver=generate())
""")

HAS_INSPECT = ("import importlib.util as u, sys; "
               "sys.exit(not (u.find_spec('inspect_ai') and u.find_spec('openai')))")


@dataclass(frozen=True)
class Peers:
    """Where the optional peers are (None: not found, with the reason in ``missing``)."""

    inspect_python: str | None
    promptfoo: str | None
    missing: dict[str, str]


@dataclass
class Workload:
    """One N: the server, the concurrency, a scratch folder and the commands of each contender."""

    server: LocalServer
    n: int
    concurrency: int
    folder: Path
    env: dict[str, str]
    peers: Peers

    def command(self, contender: str, round_number: int) -> list[str]:
        """The command line of ``contender`` in round ``round_number`` (fresh output places)."""
        scratch = self.folder / f"{contender}-{round_number}"
        return COMMANDS[contender](self, scratch)

    def clean(self, contender: str, round_number: int) -> None:
        """Delete what a run wrote (18,000-cell runs are large)."""
        shutil.rmtree(self.folder / f"{contender}-{round_number}", ignore_errors=True)
        shutil.rmtree(self.folder / "runs", ignore_errors=True)


def _loop_args(work: Workload) -> list[str]:
    return [work.server.url, str(work.n), str(work.concurrency), BENCH_KEY]


def _xstress(work: Workload, scratch: Path, *overrides: str) -> list[str]:
    return xstress_command(work.server.url, work.n, work.concurrency, work.folder / "runs",
                           scratch.name, *overrides)


def _inspect(work: Workload, scratch: Path) -> list[str]:
    assert work.peers.inspect_python is not None
    # Inspect takes the task file relative to the working directory (the folder); the
    # server speaks Chat Completions only, so Inspect's Responses API is turned off.
    return [work.peers.inspect_python, "-m", "inspect_ai", "eval", "inspect_bench.py",
            "--model", "openai/bench", "--model-base-url", work.server.url,
            "-M", "responses_api=false", "--max-connections", str(work.concurrency),
            "--max-tokens", "64", "--temperature", "0", "--display", "none",
            "--log-dir", str(scratch)]


def _promptfoo(work: Workload, scratch: Path) -> list[str]:
    assert work.peers.promptfoo is not None
    scratch.mkdir()
    return [work.peers.promptfoo, "eval", "-c", str(work.folder / "promptfooconfig.yaml"),
            "-j", str(work.concurrency), "--no-cache", "--no-table", "--no-progress-bar",
            "--no-share", "-o", str(scratch / "results.json")]


COMMANDS: dict[str, Callable[[Workload, Path], list[str]]] = {
    "aiohttp": lambda work, _: [sys.executable, "-c", AIOHTTP_LOOP, *_loop_args(work)],
    "litellm": lambda work, _: [sys.executable, "-c", LITELLM_LOOP, *_loop_args(work)],
    "xstress-1": _xstress,
    "xstress-auto": lambda work, scratch: _xstress(work, scratch, "run.workers=auto"),
    "inspect": _inspect,
    "promptfoo": _promptfoo,
}
"""How each contender is started, by name (the order of ``--contenders``' default)."""
CONTENDERS = tuple(COMMANDS)


@dataclass(frozen=True)
class RunFigures:
    """One run of one contender: its measurement and what the server saw meanwhile."""

    measurement: Measurement
    requests: int
    ok: int
    server_cpu_s: float


@dataclass(frozen=True)
class Outcome:
    """One contender at one N: medians over its rounds, or why it did not run."""

    name: str
    median: Measurement | None
    server_cpu_s: float
    requests: tuple[tuple[int, int], ...]
    """(answered, HTTP 200) per round."""
    failure: str | None


def find_peers(options: argparse.Namespace) -> Peers:
    """Inspect AI's interpreter and promptfoo's executable, from flags, env or defaults."""
    missing: dict[str, str] = {}
    inspect_python = options.inspect_python or os.environ.get("XSTRESS_BENCH_INSPECT_PYTHON")
    if inspect_python is None:
        found = subprocess.run([sys.executable, "-c", HAS_INSPECT]).returncode == 0
        inspect_python = sys.executable if found else None
    if inspect_python is None or shutil.which(inspect_python) is None:
        missing["inspect"] = (f"no interpreter with inspect_ai ({inspect_python or 'none given'}): "
                              "pass --inspect-python or set XSTRESS_BENCH_INSPECT_PYTHON")
        inspect_python = None
    promptfoo = (options.promptfoo or os.environ.get("XSTRESS_BENCH_PROMPTFOO")
                 or shutil.which("promptfoo"))
    if promptfoo is None or shutil.which(promptfoo) is None:
        missing["promptfoo"] = (f"promptfoo not found ({promptfoo or 'none on PATH'}): "
                                "pass --promptfoo or set XSTRESS_BENCH_PROMPTFOO")
        promptfoo = None
    return Peers(inspect_python, promptfoo, missing)


def write_peer_files(folder: Path, url: str, n: int) -> None:
    """Inspect AI's task file and promptfoo's config (JSON is YAML) for N requests."""
    (folder / "inspect_bench.py").write_text(INSPECT_TASK)
    config = {
        "description": "xstress peer benchmark",
        "prompts": ["{{prompt}}"],
        "providers": [{"id": "openai:chat:bench",
                       "config": {"apiBaseUrl": url, "apiKey": BENCH_KEY,
                                  "temperature": 0, "max_tokens": 64}}],
        "tests": [{"vars": {"prompt": f"bench prompt {i}"}} for i in range(n)],
        "sharing": False,
    }
    (folder / "promptfooconfig.yaml").write_text(json.dumps(config))


def peer_environment(folder: Path, n: int, project: Path) -> dict[str, str]:
    """The environment every contender runs in: offline litellm, quiet peers, a fake key."""
    return {**os.environ, "XSTRESS_ROOT": str(project), "BENCH_KEY": BENCH_KEY,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "BENCH_N": str(n),
            "OPENAI_API_KEY": BENCH_KEY, "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_DISABLE_SHARING": "1",
            "PROMPTFOO_CONFIG_DIR": str(folder / "promptfoo-home"),
            "INSPECT_LOG_DIR": str(folder / "inspect-logs")}


def run_once(work: Workload, contender: str, round_number: int) -> RunFigures:
    """Measure one contender once, with the server's request count and CPU around it."""
    before, before_ok = work.server.counts()
    server_cpu = work.server.cpu_s()
    try:
        measurement = measure(contender, work.command(contender, round_number), work.env,
                              work.folder)
    finally:
        work.clean(contender, round_number)
    after, after_ok = work.server.counts()
    return RunFigures(measurement, after - before, after_ok - before_ok,
                      work.server.cpu_s() - server_cpu)


def run_rounds(work: Workload, contenders: Sequence[str], rounds: int,
               say: Callable[[str], None]) -> list[Outcome]:
    """Every contender once per round, the order rotated by one each round; failures kept."""
    figures: dict[str, list[RunFigures]] = {name: [] for name in contenders}
    failures: dict[str, str] = {}
    for round_number in range(rounds):
        shift = round_number % len(contenders)
        for name in [*contenders[shift:], *contenders[:shift]]:
            if name in failures:
                continue
            try:
                run = run_once(work, name, round_number)
            except ContenderFailed as failure:
                lines = failure.stderr_tail.strip().splitlines() or ["(no stderr)"]
                failures[name] = lines[-1]
                say(f"  round {round_number + 1}: {name} FAILED (exit {failure.exit_code}): "
                    f"{failures[name]}")
                continue
            figures[name].append(run)
            say(f"  round {round_number + 1}: {name:12s} {run.measurement.wall_s:7.2f} s wall, "
                f"{run.measurement.cpu_s:7.2f} s CPU, {run.ok}/{run.requests} requests ok")
    return [Outcome(name,
                    median_of([r.measurement for r in figures[name]]) if figures[name] else None,
                    statistics.median(r.server_cpu_s for r in figures[name])
                    if figures[name] else float("nan"),
                    tuple((r.requests, r.ok) for r in figures[name]), failures.get(name))
            for name in contenders]


def bench_one_n(n: int, c: int, options: argparse.Namespace, contenders: Sequence[str],
                peers: Peers) -> list[Outcome]:
    """Start a server for N, run the rounds, return the outcomes."""
    with tempfile.TemporaryDirectory(prefix=f"xstress-peers-{n}-") as temporary:
        folder = Path(temporary)
        project = make_project(folder, c)
        with local_server(options.latency) as server:
            write_peer_files(folder, server.url, n)
            work = Workload(server, n, c, folder, peer_environment(folder, n, project), peers)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"N={n}, C={c}, latency {options.latency * 1000:.0f} ms, "
                  f"{options.rounds} round(s): {', '.join(contenders)}; load average {load} "
                  f"on {os.cpu_count()} cores")
            return run_rounds(work, contenders, options.rounds,
                              lambda line: print(line, flush=True))


def print_results(n: int, c: int, latency: float, rounds: int,
                  outcomes: Sequence[Outcome]) -> None:
    """The table of medians and the matrix of wall-time ratios (row / column) for one N."""
    ideal = n * latency / c
    print(f"\nN={n} requests, C={c}, latency {latency * 1000:.0f} ms; ideal N*L/C = "
          f"{ideal:.2f} s; medians of {rounds} round(s). CPU: user+sys of the contender's "
          "process tree; peak RSS: its largest single process; server CPU: the mock's own.")
    print(f"{'contender':13s} {'wall s':>8s} {'x ideal':>8s} {'CPU s':>8s} {'peak RSS MB':>12s} "
          f"{'server CPU s':>13s}  requests")
    ran = [o for o in outcomes if o.median is not None]
    for outcome in outcomes:
        if outcome.median is None:
            print(f"{outcome.name:13s} failed: {outcome.failure}")
            continue
        m = outcome.median
        exact = all(total == ok == n for total, ok in outcome.requests)
        counts = sorted({f"{ok}/{total}" for total, ok in outcome.requests})
        check = f"{n} ok each round" if exact else f"MISMATCH (ok/answered: {', '.join(counts)})"
        note = f"; failed later: {outcome.failure}" if outcome.failure else ""
        print(f"{m.name:13s} {m.wall_s:8.2f} {m.wall_s / ideal:8.2f} {m.cpu_s:8.2f} "
              f"{m.peak_rss_mb:12.0f} {outcome.server_cpu_s:13.2f}  {check}{note}")
    if len(ran) > 1:
        print_ratios("wall-time ratio, row / column:", ran, lambda m: m.wall_s)
        print_ratios("CPU-time ratio, row / column (steadier than wall on a busy machine):",
                     ran, lambda m: m.cpu_s)


def print_ratios(title: str, outcomes: Sequence[Outcome],
                 figure: Callable[[Measurement], float]) -> None:
    """A matrix of ``figure(row) / figure(column)`` over the contenders that ran."""
    medians = [(o.name, o.median) for o in outcomes if o.median is not None]
    print(title)
    print(f"{'':13s}" + "".join(f"{name:>13s}" for name, _ in medians))
    for name, row in medians:
        cells = [figure(row) / figure(column) for _, column in medians]
        print(f"{name:13s}" + "".join(f"{cell:13.2f}" for cell in cells))


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[180, 1800, 18000],
                        help="request counts to run (each a multiple of 60)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="C for every N (default: 64 for N >= 18000, else 32)")
    parser.add_argument("--latency", type=float, default=0.2, help="server latency (s)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per N; medians are reported (this machine is noisy)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma-separated subset of {','.join(CONTENDERS)}")
    parser.add_argument("--inspect-python", default=None,
                        help="python with inspect_ai and openai installed (default: "
                             "$XSTRESS_BENCH_INSPECT_PYTHON, else this interpreter if it has "
                             "them)")
    parser.add_argument("--promptfoo", default=None,
                        help="promptfoo executable (default: $XSTRESS_BENCH_PROMPTFOO, else "
                             "promptfoo on PATH)")
    options = parser.parse_args(argv)
    chosen = [name.strip() for name in options.contenders.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(CONTENDERS))
    if unknown or not chosen:
        parser.error(f"--contenders: unknown {unknown}; choose from {', '.join(CONTENDERS)}")
    if any(n <= 0 or n % 60 for n in options.n):
        parser.error("--n: each must be a positive multiple of 60 (60 scenarios x replicates)")
    if options.rounds < 1 or (options.concurrency is not None and options.concurrency < 1):
        parser.error("--rounds and --concurrency must be at least 1")
    options.contenders = chosen
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark for every N; print the tables."""
    options = parse_options(argv)
    peers = find_peers(options)
    contenders = [name for name in options.contenders if name not in peers.missing]
    for name in options.contenders:
        if name in peers.missing:
            print(f"{name}: skipped: {peers.missing[name]}")
    if not contenders:
        print("no contender left to run", file=sys.stderr)
        return 2
    for n in options.n:
        c = options.concurrency or (64 if n >= 18000 else 32)
        outcomes = bench_one_n(n, c, options, contenders, peers)
        print_results(n, c, options.latency, options.rounds, outcomes)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: xstress's sweep against a plain litellm loop and a bare aiohttp loop.

Starts a local OpenAI-compatible server (``harness.testing.testserver``) with a fixed latency,
then runs N single-turn requests at concurrency C three ways, each in its own process so wall
time, CPU time and peak RSS are measured the same way (``benchlib.measure``):

  (a) ``xstress run`` (the real command: Hydra config, cells, retries, fsynced transcripts and
      write-ahead cache, manifest), N cells = 60 scenarios x N/60 replicates;
  (b) a plain ``litellm.acompletion`` loop with a semaphore (``max_retries=0``);
  (c) a bare aiohttp loop posting the same JSON.

Prints each, the ratios to the ideal N*L/C, xstress/litellm ratios, xstress's CPU overhead per
cell beyond the litellm loop, and the time of ``xstress --help``. Two more figures separate
xstress's own cost from litellm's: the same ``xstress run`` again on the finished run (startup
and resume only: imports, config, reading the records; no calls), and the runner's CPU per cell
with litellm's ``acompletion`` replaced by a zero-cost coroutine in-process (everything
xstress does per cell: conversation, fingerprint, cache, records, fsync thread). Usage:

    uv run python scripts/bench_sweep.py [--n 1800] [--concurrency 32] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchlib import (
    AIOHTTP_LOOP,
    BENCH_KEY,
    LITELLM_LOOP,
    ContenderFailed,
    Measurement,
    local_server,
    make_project,
    measure,
    median_of,
    xstress_command,
)

ZERO_COST_RUNNER = textwrap.dedent("""
    import asyncio, os, sys, tempfile, time
    from pathlib import Path
    os.environ["BENCH_KEY"] = "not-a-key"
    from harness.config import RunConfig
    from harness.providers import load_litellm
    from harness.sweep import run_sweep
    from harness.schema import (ModelSpec, PipelineSettings, PromptSet, ProviderSettings,
                                ReplaySettings, RunSettings, ScaffoldSpec)
    n = int(sys.argv[1])
    litellm = load_litellm()
    reply = litellm.ModelResponse(
        model="bench-1", usage={"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        choices=[{"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": "a short reply"}}])
    reply._hidden_params = {"response_cost": 0.0}

    async def zero_cost(**kwargs):
        return reply

    litellm.acompletion = zero_cost
    prompts = PromptSet.model_validate({"name": "p", "scenarios": [
        {"id": f"s{i}", "domain": "d", "probe": "checkable", "targets": ["D3"],
         "turns": [{"user": f"bench prompt {i}"}]} for i in range(n)]})
    out = Path(tempfile.mkdtemp())
    config = RunConfig(
        models=(ModelSpec(name="bench", litellm_model="openai/bench", family="local",
                          api_key_env="BENCH_KEY"),),
        scaffolds=(ScaffoldSpec(name="bare"),), prompts=prompts,
        run=RunSettings(out_dir=str(out), name="r", progress=False),
        provider=ProviderSettings(), replay=ReplaySettings(), pipeline=PipelineSettings())
    start = time.process_time()
    asyncio.run(run_sweep(config, out / "r"))
    print((time.process_time() - start) / n * 1000)
""")


def measure_rounds(repeat: int, url: str, n: int, c: int, folder: Path,
                   env: dict[str, str]) -> list[Measurement]:
    """The contenders alternating within each round; the median of each over the rounds."""
    rounds: list[list[Measurement]] = []
    for round_number in range(repeat):
        xstress = xstress_command(url, n, c, folder / "runs", f"bench{round_number}")
        loop_args = [url, str(n), str(c), BENCH_KEY]
        plain = measure("litellm loop", [sys.executable, "-c", LITELLM_LOOP, *loop_args],
                        env, folder)
        first = measure("xstress run", xstress, env, folder)
        again = measure("xstress rerun", xstress, env, folder)
        bare = measure("aiohttp loop", [sys.executable, "-c", AIOHTTP_LOOP, *loop_args],
                       env, folder)
        imported = measure("import litellm", [sys.executable, "-c", "import litellm"],
                           env, folder)
        rounds.append([first, again, plain, bare, imported])
        print(f"round {round_number + 1}: xstress {first.wall_s:.2f} s, litellm loop "
              f"{plain.wall_s:.2f} s (ratio {first.wall_s / plain.wall_s:.3f})", flush=True)
    return [median_of([r[k] for r in rounds]) for k in range(5)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1800, help="requests (a multiple of 60)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency (s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds; the contenders alternate within each round and the "
                             "median of each is reported (this machine is noisy)")
    options = parser.parse_args()
    n, c, latency = options.n, options.concurrency, options.latency
    if n % 60:
        parser.error("--n must be a multiple of 60 (60 scenarios x replicates)")
    ideal = n * latency / c

    with tempfile.TemporaryDirectory(prefix="xstress-bench-") as temporary:
        folder = Path(temporary)
        project = make_project(folder, c)
        env = {**os.environ, "XSTRESS_ROOT": str(project), "BENCH_KEY": BENCH_KEY,
               "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        with local_server(latency) as server:
            url = server.url
            help_start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "harness", "--help"], env=env,
                           stdout=subprocess.DEVNULL, check=True)
            help_s = time.perf_counter() - help_start
            try:
                results = measure_rounds(options.repeat, url, n, c, folder, env)
            except ContenderFailed as failure:
                raise SystemExit(str(failure)) from None
        zero_cost_ms = float(subprocess.run(
            [sys.executable, "-c", ZERO_COST_RUNNER, str(n)], env=env, cwd=folder,
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        records = (folder / "runs" / "bench0" / "transcripts.jsonl").read_text().count("\n")

    print(f"N={n} requests, C={c}, latency {latency * 1000:.0f} ms; ideal N*L/C = {ideal:.2f} s; "
          f"medians of {options.repeat} round(s)")
    print(f"{'':14s} {'wall s':>8s} {'x ideal':>8s} {'CPU s':>8s} {'peak RSS MB':>12s}")
    for m in results:
        print(f"{m.name:14s} {m.wall_s:8.2f} {m.wall_s / ideal:8.2f} {m.cpu_s:8.2f} "
              f"{m.peak_rss_mb:12.0f}")
    xstress, rerun, plain, bare, imported = results
    print(f"xstress wall / litellm-loop wall = {xstress.wall_s / plain.wall_s:.3f} "
          f"(target <= 1.05)")
    print(f"xstress wall / aiohttp-loop wall = {xstress.wall_s / bare.wall_s:.3f}")
    overhead_ms = (xstress.cpu_s - plain.cpu_s) / n * 1000
    print(f"xstress CPU beyond the litellm loop: {overhead_ms:+.3f} ms per cell (target < 1 ms)")
    print(f"xstress rerun of the finished run (startup + resume, no calls): {rerun.wall_s:.2f} s "
          f"wall, {rerun.cpu_s:.2f} s CPU; of which beyond importing litellm "
          f"({imported.cpu_s:.2f} s CPU): {rerun.cpu_s - imported.cpu_s:.2f} s CPU")
    print(f"xstress runner CPU per cell with a zero-cost provider (xstress's own work): "
          f"{zero_cost_ms:.3f} ms (target < 1 ms)")
    print(f"xstress wrote {records} transcript records")
    print(f"xstress --help: {help_s:.3f} s (target < 0.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: goodput of the sweep against a provider that rate-limits (issue 13, part 7).

Starts the local test server (``harness.testing.testserver``) with a rate limit of R requests
per model in any 1 s sliding window (429 with ``retry-after-ms`` past it) and a fixed latency,
then runs N single-turn cells through xstress's real sweep (litellm over HTTP, retries,
write-ahead cache, transcripts) four ways, each in its own process:

  known     ``limits.rpm = 60 R``: xstress's limiter (even spacing, adaptive below the limit);
  unknown   ``limits.rpm = null``: xstress's limiter adapting from 429s and ``Retry-After``;
  and, as the baseline measured in the same run, the previous gate: ``asyncio-throttle``'s
  ``Throttler(rpm, 60 s)`` when the limit is known, and no limiter at all when it is unknown.

For each it prints the sweep's wall time (``run_sweep`` from call to return, litellm's import
excluded), its ratio to the ideal N / R, the time before the server's first request and the
span from the first request to the last as a ratio to the ideal, the share of server requests
answered 429 and the cells that ended ``error``. Targets: known <= 1.05x ideal with <= 1% 429s;
unknown <= 1.15x ideal with <= 5% 429s and no cell ``error``. Usage:

    uv run python scripts/bench_ratelimit.py [--n 300] [--rate 8] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWEEP = textwrap.dedent("""
    import asyncio, json, os, sys, time
    from pathlib import Path
    os.environ["BENCH_KEY"] = "sk-bench-fake"
    from harness.config import RunConfig
    from harness.providers import load_litellm
    from harness.sweep import run_sweep
    from harness.schema import (ModelSpec, PipelineSettings, PromptSet, ProviderSettings,
                                ReplaySettings, RunSettings, ScaffoldSpec)

    url, n, rpm, concurrency, gate, out = sys.argv[1:7]
    load_litellm()
    if gate == "baseline":
        # The gate as it was before the limiter: asyncio-throttle's sliding minute, or nothing.
        import harness.providers.attempts as attempts

        class PreviousGate:
            def __init__(self, rpm):
                self.throttler = None
                if rpm:
                    from asyncio_throttle.throttler import Throttler
                    self.throttler = Throttler(rate_limit=rpm, period=60.0)

            async def acquire(self, *, retry=False):
                if self.throttler is not None:
                    async with self.throttler:
                        pass
                return 0.0

            def answered(self):
                pass

            def rate_limited(self, started, retry_after_s):
                pass

        def previous(cls, model):
            return cls(asyncio.Semaphore(model.limits.max_concurrency),
                       PreviousGate(model.limits.rpm))

        attempts.ModelGate.for_model = classmethod(previous)

    prompts = PromptSet.model_validate({"name": "p", "scenarios": [
        {"id": f"s{i}", "domain": "d", "probe": "checkable", "targets": ["D3"],
         "turns": [{"user": f"bench prompt {i}"}]} for i in range(int(n))]})
    limits = {"rpm": int(rpm) if rpm != "null" else None, "max_concurrency": int(concurrency)}
    config = RunConfig(
        models=(ModelSpec(name="bench", litellm_model="openai/bench", family="local",
                          api_key_env="BENCH_KEY", limits=limits,
                          params={"temperature": 0.0, "max_tokens": 64}),),
        scaffolds=(ScaffoldSpec(name="bare"),), prompts=prompts,
        run=RunSettings(out_dir=out, name="r", progress=False),
        provider=ProviderSettings(api_base=url), replay=ReplaySettings(),
        pipeline=PipelineSettings())
    started_at = time.time()
    start = time.perf_counter()
    result = asyncio.run(run_sweep(config, Path(out) / "r"))
    wall = time.perf_counter() - start
    print(json.dumps({"wall_s": wall, "started_at": started_at, "counts": dict(result.counts)}))
""")


def server_stats(url: str) -> dict[str, int]:
    """The server's answers so far, by status."""
    with urllib.request.urlopen(url.removesuffix("/v1") + "/_stats") as response:
        return {k: int(v) for k, v in json.load(response)["by_status"].items()}


def run_one(url: str, n: int, rpm: str, concurrency: int, gate: str,
            folder: Path, log: Path) -> dict[str, object]:
    """One sweep in its own process; its wall time, cell counts and the server's answers."""
    before = server_stats(url)
    seen = len(log.read_text().splitlines())
    out = Path(tempfile.mkdtemp(dir=folder))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}
    done = subprocess.run([sys.executable, "-c", SWEEP, url, str(n), rpm, str(concurrency),
                           gate, str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"sweep failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    after = server_stats(url)
    answered = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    arrivals = [json.loads(line)["timestamp"] for line in log.read_text().splitlines()[seen:]]
    return {**measured, "requests": sum(answered.values()), "rate_limited": answered.get("429", 0),
            "first_request_s": min(arrivals) - measured["started_at"],
            "span_s": max(arrivals) - min(arrivals)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="cells (single-turn)")
    parser.add_argument("--rate", type=int, default=8, help="server limit, requests per second")
    parser.add_argument("--latency", type=float, default=0.2, help="server latency (s)")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="limits.max_concurrency of the model (the default is 16)")
    parser.add_argument("--only", choices=("known", "unknown"), default=None)
    parser.add_argument("--no-baseline", action="store_true", help="xstress's limiter only")
    options = parser.parse_args()
    ideal = options.n / options.rate
    rows = []
    with tempfile.TemporaryDirectory(prefix="xstress-bench-rl-") as temporary:
        log = Path(temporary) / "server.jsonl"
        log.touch()
        server = subprocess.Popen(
            [sys.executable, "-m", "harness.testing.testserver", "--latency",
             str(options.latency), "--rate-limit", str(options.rate), "--rate-window", "1",
             "--log", str(log)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        try:
            for label, rpm in (("known", str(60 * options.rate)), ("unknown", "null")):
                if options.only not in (None, label):
                    continue
                for gate in ("xstress",) if options.no_baseline else ("xstress", "baseline"):
                    row = run_one(url, options.n, rpm, options.concurrency, gate,
                                  Path(temporary), log)
                    rows.append((label, gate, rpm, row))
                    print(f"  {label:8s} {gate:9s} done: {row}", flush=True)
        finally:
            server.terminate()
            server.wait()
    print(f"N={options.n} cells, server limit {options.rate} req/s per 1 s sliding window, "
          f"latency {options.latency * 1000:.0f} ms, max_concurrency {options.concurrency}; "
          f"ideal N/R = {ideal:.1f} s")
    print(f"{'limit':8s} {'gate':27s} {'wall s':>7s} {'x ideal':>8s} {'429 share':>10s} "
          f"{'requests':>9s} {'cells error':>12s} {'1st req s':>10s} {'span x ideal':>13s}")
    for label, gate, rpm, row in rows:
        name = ("xstress limiter" if gate == "xstress" else
                "baseline: Throttler(rpm,60)" if rpm != "null" else "baseline: no limiter")
        wall = float(row["wall_s"])  # type: ignore[arg-type]
        requests = int(row["requests"])  # type: ignore[call-overload]
        limited = int(row["rate_limited"])  # type: ignore[call-overload]
        errors = int(row["counts"].get("error", 0))  # type: ignore[attr-defined]
        first = float(row["first_request_s"])  # type: ignore[arg-type]
        span = float(row["span_s"])  # type: ignore[arg-type]
        print(f"{label:8s} {name:27s} {wall:7.2f} {wall / ideal:8.3f} "
              f"{limited / max(requests, 1):10.2%} {requests:9d} {errors:12d} {first:10.2f} "
              f"{span / ideal:13.3f}")
    print("targets: known <= 1.05x ideal and <= 1% 429s; unknown <= 1.15x ideal, <= 5% 429s, "
          "no cell error")
    print("wall: run_sweep from its call to its return (litellm imported before); 1st req s: "
          "from that call to the server's first request (set-up, litellm's lazy first call); "
          "span: the server's first to last request")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: an LLM judge scoring a run in one process against ``run.workers`` processes.

Starts the local OpenAI-compatible test server (``harness.testing.testserver``) with a fixed
latency, writes a blinded run of N/8 items, and scores it with a judge that asks one call per
dimension of interactional8 (so N (item, dimension) pairs, N calls), through the real path
(``score_run``: litellm -> HTTP, write-ahead caches, the durable score file). Each
measurement runs in its own process on a fresh copy of the run (nothing cached), so wall time
and CPU time (``os.wait4``: the process and the workers it waited for, imports included) are
taken the same way; worker counts alternate within each round. It prints every measurement,
the medians, the ideal N*L/C (C: calls in flight, the judge's ``limits.max_concurrency``,
which the workers share) and the ratio of each worker count to one worker. The machine is
shared and noisy: compare ratios within one run, and CPU seconds rather than wall.

Usage:

    uv run python scripts/bench_judge_workers.py [--pairs 600] [--latency 0.2] \\
        [--calls-in-flight 64] [--concurrency 32] [--workers 1,2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JUDGE_MODEL = "benchjudge"
KEY_ENV = "XSTRESS_BENCH_JUDGE_KEY"

SCORE = textwrap.dedent("""
    import asyncio, json, sys, time
    from pathlib import Path

    from harness.config import load_spec, with_prompt
    from harness.providers import make_client
    from harness.rundir import ResponseCache, RunDir
    from harness.schema import JudgeSpec, ModelLimits, ProviderSettings, RunSettings
    from harness.score import JudgeWorkers, score_run

    url, run_dir, workers, in_flight, concurrency = sys.argv[1:6]
    judge = with_prompt(JudgeSpec(
        name="benchjudge", kind="llm", litellm_model="openai/benchjudge", family="bench",
        api_key_env="XSTRESS_BENCH_JUDGE_KEY", pricing="free",
        limits=ModelLimits(max_concurrency=int(in_flight))))
    provider = ProviderSettings(mode="live", api_base=url)
    run = RunSettings(timeout_s=30.0, progress=False)

    async def go():
        started = time.perf_counter()
        cache = ResponseCache(RunDir(Path(run_dir)), suffix=".judges")
        client = make_client(provider, run, cache=cache)
        try:
            summary = await score_run(
                Path(run_dir), [judge], load_spec("rubric", "interactional8"), client=client,
                target_families={"openai"}, concurrency=int(concurrency),
                workers=JudgeWorkers(int(workers), provider, run))
        finally:
            cache.close()
        (coder,) = summary.coders
        return coder.scored, time.perf_counter() - started

    if __name__ == "__main__":
        scored, scoring_s = asyncio.run(go())
        print(json.dumps({"scored": scored, "scoring_s": scoring_s}))
""")

_IDS = re.compile(r"exactly one entry for each of ([D0-9, ]+)")


def reply(messages: Sequence[dict[str, Any]]) -> str:
    """Level 1 on each dimension asked about, quoting the line every item carries."""
    found = _IDS.search(str(messages[0]["content"]))
    asked = [d.strip() for d in found.group(1).split(",") if d.strip()] if found else []
    verdict = {"level": 1, "reason": None, "rationale": "by the anchors",
               "evidence": "CHECK: the label on your bottle."}
    return json.dumps({"scores": {d: verdict for d in asked}})


def write_run(root: Path, n_items: int) -> Path:
    from harness.testing.rundirs import make_item, write_blinding

    items = [make_item(f"item-{i:05d}", f"Is 4 g of acetaminophen a day safe? (ref {i})",
                       "For most adults the label maximum is 4 g a day.\n"
                       "CHECK: the label on your bottle.")
             for i in range(n_items)]
    return write_blinding(root, items).root


def measure(url: str, template: Path, workers: int, args: argparse.Namespace) -> dict[str, float]:
    """Score a fresh copy of the run with ``workers`` processes, in a process of its own."""
    work = Path(tempfile.mkdtemp(prefix="bench-judge-"))
    run_dir = work / "run"
    shutil.copytree(template, run_dir)
    env = {**os.environ, KEY_ENV: "bench-placeholder", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", SCORE, url, str(run_dir), str(workers),
         str(args.calls_in_flight), str(args.concurrency)],
        stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"workers={workers}: the scoring process failed ({child.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    shutil.rmtree(work)
    if result["scored"] != args.pairs:
        raise SystemExit(f"workers={workers}: {result['scored']} of {args.pairs} pairs scored")
    return {"wall_s": wall, "scoring_s": result["scoring_s"],
            "cpu_s": usage.ru_utime + usage.ru_stime}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=600, help="(item, dimension) pairs (x8)")
    parser.add_argument("--latency", type=float, default=0.2, help="server latency, seconds")
    parser.add_argument("--calls-in-flight", type=int, default=64,
                        help="the judge's limits.max_concurrency (shared by the workers)")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="run.concurrency: items in flight (shared by the workers)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.pairs % 8:
        parser.error("--pairs must be a multiple of 8 (one call per dimension)")
    counts = [int(w) for w in args.workers.split(",")]
    from harness.testing.testserver import TestServer

    results: dict[int, list[dict[str, float]]] = {w: [] for w in counts}
    with tempfile.TemporaryDirectory() as tmp, \
            TestServer(replies={JUDGE_MODEL: reply}, latency_s=args.latency) as server:
        template = write_run(Path(tmp) / "run", args.pairs // 8)
        for round_number in range(args.rounds):
            order = counts if round_number % 2 == 0 else counts[::-1]
            for workers in order:
                figures = measure(server.url, template, workers, args)
                results[workers].append(figures)
                print(f"round {round_number + 1} workers={workers}: "
                      + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
    ideal = args.pairs * args.latency / args.calls_in_flight
    print(f"\n{args.pairs} pairs, latency {args.latency} s, {args.calls_in_flight} calls in "
          f"flight: ideal N*L/C = {ideal:.2f} s; medians of {args.rounds} round(s) "
          f"(cores usable: {len(os.sched_getaffinity(0))}, load average "
          f"{os.getloadavg()[0]:.1f})")
    base = {k: statistics.median(r[k] for r in results[counts[0]]) for k in results[counts[0]][0]}
    for workers in counts:
        med = {k: statistics.median(r[k] for r in results[workers]) for k in base}
        ratios = ", ".join(f"{k} {med[k] / base[k]:.2f}x" for k in base)
        print(f"workers={workers}: wall {med['wall_s']:.2f} s (scoring {med['scoring_s']:.2f} s,"
              f" {med['scoring_s'] / ideal:.2f}x ideal), CPU {med['cpu_s']:.2f} s; "
              f"vs workers={counts[0]}: {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the resume scan of a large run, and the sweep's peak memory against its size.

Two measurements (issue 14, flat memory):

  (a) Resume scan. Builds a synthetic run directory whose ``transcripts.jsonl`` and
      ``cache/responses.jsonl`` hold ``--lines`` records each (a single-turn call with a ~1 KB
      reply, usage and one attempt: what a real sweep writes), then times opening it for a
      resume (``TranscriptStore`` + ``ResponseCache``, what the sweep does first) against the
      old way, a full pydantic parse of every line into the same maps (the baseline, measured
      in the same run, alternating within rounds). Prints the medians of wall and CPU seconds
      and their ratio.
  (b) Peak memory. Starts the local OpenAI-compatible server (``harness.testing.testserver``,
      latency 0) in its own process, then runs the sweep in-process (``run_sweep``, real
      litellm, 60 scenarios x N/60 replicates) in a fresh subprocess per N. Importing litellm
      sets a peak of its own (larger than a small sweep's), so the child resets its peak after
      the imports (``/proc/self/clear_refs``) and reports the peak during the sweep (VmHWM) and
      the RSS at the end; the process's overall peak (``os.wait4``) is printed beside them.
      Prints these per N and the ratio of the sweep peaks of the largest and smallest N.

Usage::

    uv run python scripts/bench_memory.py [--lines 100000] [--rounds 3] [--n 1800 18000]
    uv run python scripts/bench_memory.py --skip-sweep     # (a) only
    uv run python scripts/bench_memory.py --skip-scan      # (b) only
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWEEP_CHILD = textwrap.dedent("""
    import asyncio, os, sys
    from pathlib import Path
    os.environ["BENCH_KEY"] = "sk-bench-fake"
    from harness.config import RunConfig
    from harness.sweep import run_sweep
    from harness.schema import (ModelSpec, PipelineSettings, PromptSet, ProviderSettings,
                                ReplaySettings, RunSettings, ScaffoldSpec)
    from harness.providers import load_litellm
    url, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])

    def status(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    load_litellm()
    started = status("VmRSS")
    # The peak so far is import time's (litellm's); measure the sweep's own from here.
    Path("/proc/self/clear_refs").write_text("5")
    prompts = PromptSet.model_validate({"name": "p", "scenarios": [
        {"id": f"s{i}", "domain": "d", "probe": "checkable", "targets": ["D3"],
         "turns": [{"user": f"bench prompt {i}"}]} for i in range(60)]})
    config = RunConfig(
        models=(ModelSpec(name="bench", litellm_model="openai/bench", family="local",
                          api_key_env="BENCH_KEY", limits={"max_concurrency": 32}),),
        scaffolds=(ScaffoldSpec(name="bare"),), prompts=prompts,
        run=RunSettings(out_dir=str(out), name="r", progress=False, replicates=n // 60,
                        concurrency=32),
        provider=ProviderSettings(api_base=url), replay=ReplaySettings(),
        pipeline=PipelineSettings())
    result = asyncio.run(run_sweep(config, out / "r"))
    assert result.counts["ok"] == n, result
    print(started, status("VmHWM"), status("VmRSS"))
""")


# ------------------------------------------------------------------------- (a) resume scan

def build_run(folder: Path, lines: int) -> Path:
    """A run directory with ``lines`` transcript records and as many cache entries."""
    from harness.rundir import (
        Attempt,
        CacheEntry,
        CallRecord,
        Message,
        RunDir,
        TranscriptRecord,
        Usage,
    )
    from harness.schema import ModelParams

    run_dir = RunDir(folder / "run")
    run_dir.cache_dir.mkdir(parents=True)
    reply = ("The answer depends on details you have not given yet; here is what I would "
             "check first, and why. ") * 11
    usage = Usage(prompt_tokens=14, completion_tokens=260, total_tokens=274)
    template = hashlib.sha256(b"template").hexdigest()
    request = Message(role="user", content="bench prompt TEMPLATE, please answer carefully")
    call = CallRecord(
        purpose="reply", turn=0, request_fingerprint=template, request=[request], status="ok",
        reply=reply, model_reported="bench-1", finish_reason="stop", usage=usage,
        cost_usd=0.00031, latency_s=0.2,
        attempts=[Attempt(number=1, started_at="2026-11-29T20:00:00.000000+00:00",
                          latency_s=0.2, outcome="ok")])
    record = TranscriptRecord(
        run_id="run", cell_id=template[:24], model="bench", scaffold="bare",
        prompt_id="TEMPLATE", prompt_set="bench", domain="technical", probe="checkable",
        replicate=0, status="ok", messages=[request, Message(role="assistant", content=reply)],
        calls=[call], usage=usage, cost_usd=0.00031,
        started_at="2026-11-29T20:00:00.000000+00:00",
        finished_at="2026-11-29T20:00:00.200000+00:00", scaffold_hash="a" * 64,
        prompt_hash="b" * 64, model_hash="c" * 64, model_params=ModelParams(),
        litellm_model="openai/bench")
    entry = CacheEntry(request_fingerprint=template, status="ok", reply=reply,
                       model_reported="bench-1", finish_reason="stop", usage=usage,
                       cost_usd=0.00031, latency_s=0.2,
                       recorded_at="2026-11-29T20:00:00.200000+00:00")
    record_line = record.model_dump_json(by_alias=True)
    entry_line = entry.model_dump_json()
    with run_dir.transcripts().open("w") as transcripts, run_dir.cache().open("w") as cache:
        for index in range(lines):
            fingerprint = hashlib.sha256(str(index).encode()).hexdigest()
            transcripts.write(record_line.replace(template, fingerprint)
                              .replace("TEMPLATE", str(index)) + "\n")
            cache.write(entry_line.replace(template, fingerprint) + "\n")
    return run_dir.root


def open_for_resume(root: Path) -> int:
    """What a resuming sweep does first: open the transcript store and the cache."""
    from harness.rundir import ResponseCache, RunDir, TranscriptStore

    run_dir = RunDir(root)
    store = TranscriptStore(run_dir)
    cache = ResponseCache(run_dir)
    found = len(cache)
    store.close()
    cache.close()
    return found


def parse_in_full(root: Path) -> int:
    """The old scan: every line parsed into its full record, kept per cell / fingerprint."""
    from harness.rundir import CacheEntry, RunDir, TranscriptRecord, read_jsonl

    run_dir = RunDir(root)
    status: dict[str, str] = {}
    cost: dict[str, float] = {}
    truncated: dict[str, int] = {}
    for path in run_dir.transcript_files():
        for _, record in read_jsonl(path, TranscriptRecord, fix="-"):
            status[record.cell_id] = record.status
            cost[record.cell_id] = record.cost_usd or 0.0
            truncated[record.cell_id] = len(record.truncated_messages)
    entries = {}
    for path in run_dir.cache_files():
        for _, entry in read_jsonl(path, CacheEntry, fix="-"):
            entries[entry.request_fingerprint] = entry
    return len(entries)


def timed(function: Callable[[Path], int], root: Path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function(root)
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_scan(lines: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="xstress-bench-memory-") as temporary:
        start = time.perf_counter()
        root = build_run(Path(temporary), lines)
        size = sum(path.stat().st_size for path in root.rglob("*.jsonl")) / 1e6
        print(f"(a) resume scan: {lines} transcript lines + {lines} cache lines, "
              f"{size:.0f} MB (built in {time.perf_counter() - start:.1f} s)")
        new: list[tuple[float, float]] = []
        old: list[tuple[float, float]] = []
        for _ in range(rounds):
            new.append(timed(open_for_resume, root))
            old.append(timed(parse_in_full, root))
        for name, runs in (("TranscriptStore + ResponseCache", new),
                           ("full parse (old way)", old)):
            print(f"  {name:34s} wall {statistics.median(w for w, _ in runs):6.2f} s   "
                  f"cpu {statistics.median(c for _, c in runs):6.2f} s")
        print(f"  ratio new/old: wall {statistics.median(w for w, _ in new) / statistics.median(w for w, _ in old):.2f}"  # noqa: E501
              f"   cpu {statistics.median(c for _, c in new) / statistics.median(c for _, c in old):.2f}")  # noqa: E501


# ------------------------------------------------------------------------- (b) peak memory

def peak_rss_mb(url: str, n: int) -> tuple[list[float], float, float, float]:
    """One sweep of ``n`` cells in a fresh process: its RSS after imports, peak RSS during the
    sweep and RSS at the end (MB, read from /proc), the process's peak RSS (``os.wait4``, MB),
    wall and CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="xstress-bench-memory-") as out:
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", SWEEP_CHILD, url, str(n), out],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"sweep of {n} cells failed:\n{stderr[-3000:]}")
        assert process.stdout is not None
        figures = [float(value) for value in process.stdout.read().split()]
        return figures, usage.ru_maxrss / 1024, wall, usage.ru_utime + usage.ru_stime


def bench_sweep(sizes: list[int]) -> None:
    server = subprocess.Popen([sys.executable, "-m", "harness.testing.testserver",
                               "--latency", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        print(f"(b) peak RSS of the sweep (in-process, real litellm, server {url}, latency 0)")
        peaks = {}
        for n in sizes:
            (started, sweep_peak, ended), process_peak, wall, cpu = peak_rss_mb(url, n)
            peaks[n] = sweep_peak
            print(f"  N={n:6d}: RSS after imports {started:6.1f} MB, peak during the sweep "
                  f"{sweep_peak:6.1f} MB, at the end {ended:6.1f} MB; process peak "
                  f"{process_peak:6.1f} MB; wall {wall:6.1f} s, cpu {cpu:6.1f} s "
                  f"({cpu / n * 1000:.2f} ms/cell)")
        smallest, largest = min(sizes), max(sizes)
        print(f"  ratio of the peaks during the sweep, N={largest} / N={smallest}: "
              f"{peaks[largest] / peaks[smallest]:.3f} "
              f"({(peaks[largest] - peaks[smallest]) * 1024 / (largest - smallest):.2f} KB "
              f"per extra cell)")
    finally:
        server.terminate()
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000, help="(a): transcript lines")
    parser.add_argument("--rounds", type=int, default=3, help="(a): rounds (medians shown)")
    parser.add_argument("--n", type=int, nargs="+", default=[1800, 18000],
                        help="(b): sweep sizes, multiples of 60")
    parser.add_argument("--skip-scan", action="store_true", help="skip (a)")
    parser.add_argument("--skip-sweep", action="store_true", help="skip (b)")
    options = parser.parse_args()
    if any(n % 60 for n in options.n):
        parser.error("--n: use multiples of 60 (60 scenarios x replicates)")
    if not options.skip_scan:
        bench_scan(options.lines, options.rounds)
    if not options.skip_sweep:
        bench_sweep(options.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())

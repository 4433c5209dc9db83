"""Benchmark: litellm's CPU per ``acompletion`` under each candidate setting (issue 14, item 2).

Starts the local OpenAI-compatible server (``harness.testing.testserver``, latency 0), then for
each candidate runs a fresh process that imports litellm the way xstress does
(``load_litellm``), applies the candidate, warms up with C calls and makes N calls at
concurrency C with the keyword arguments xstress sends (``timeout``, ``max_retries=0``,
``drop_params``, ``api_base``, ``api_key``, ``temperature``, ``max_tokens``). The child measures
its own CPU (``time.process_time``, all threads) around the N calls only, so import and client
start-up are excluded. Candidates alternate within each round; each figure is the median of
the rounds, and its ratio is to the baseline (xstress's current settings) of the same run.
The baseline runs twice per round under two names: the gap between the two is the noise floor.

Processes differ by 20% or more on a shared machine, so ``--paired`` is the finer instrument:
one process, every variant switched on and off between batches of N calls (per-call kwargs,
litellm attributes, a context variable, a zero-priced model name), variants rotating each
round; the paired figure is the median over rounds of variant / baseline of the same round.
Process-wide choices made before import (transport, environment, gc) need the default mode.

Each child also reports what xstress records from the last reply (cost, reported model, usage,
finish reason, system fingerprint); a candidate that loses one is marked ``LOST`` whatever its
speed. Usage:

    uv run python scripts/bench_litellm.py [--n 2000] [--concurrency 32] [--rounds 3]
        [--model openai/bench] [--only name,name] [--paired]

``openai/bench`` is unpriced in litellm's map (a local server, ``pricing: free``);
``openai/gpt-4o-mini`` is priced (the server answers any model name).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import asyncio, gc, json, os, sys, time
    url, n, c, model = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    from harness.providers.litellm_import import load_litellm
    litellm = load_litellm()
    #SETUP

    async def main():
        extra = {}
        #EXTRA
        semaphore = asyncio.Semaphore(c)

        async def one(i):
            kwargs = {"model": model, "api_base": url, "api_key": "sk-bench-fake",
                      "messages": [{"role": "user", "content": f"bench prompt {i}"}],
                      "timeout": 60.0, "max_retries": 0, "drop_params": True,
                      "temperature": 0.0, "max_tokens": 64, **extra}
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            async with semaphore:
                return await litellm.acompletion(**kwargs)

        await asyncio.gather(*(one(i) for i in range(c)))
        #AFTER_WARMUP
        start = time.process_time()
        replies = await asyncio.gather(*(one(i) for i in range(n)))
        cpu = time.process_time() - start
        reply = replies[-1]
        cost = (getattr(reply, "_hidden_params", None) or {}).get("response_cost", "absent")
        try:
            recomputed = litellm.completion_cost(completion_response=reply)
        except Exception:
            recomputed = None
        print(json.dumps({
            "cpu_ms": cpu / n * 1000, "cost": cost, "recomputed_cost": recomputed,
            "model": reply.model, "finish_reason": reply.choices[0].finish_reason,
            "system_fingerprint": reply.system_fingerprint,
            "total_tokens": reply.usage.total_tokens if reply.usage else None}))
        #CLEANUP

    asyncio.run(main())
""")


@dataclass(frozen=True)
class Candidate:
    """One setting tried: statements run in the child at three points, plus what it is."""

    name: str
    what: str
    setup: str = ""
    """After ``load_litellm()`` (process-wide settings)."""
    extra: str = ""
    """Inside the running loop, before any call: fills ``extra`` (per-call kwargs)."""
    after_warmup: str = ""
    """After the warm-up calls, before the measured ones."""
    cleanup: str = ""
    env: dict[str, str] = field(default_factory=dict)
    """Set before litellm is imported."""


SHARED_SESSION = ("import aiohttp\n"
                  "session = aiohttp.ClientSession()\n"
                  "extra['shared_session'] = session")
OWN_CLIENT = ("import openai\n"
              "extra['client'] = openai.AsyncOpenAI(base_url=url, api_key='sk-bench-fake', "
              "max_retries=0, timeout=60.0)")

CANDIDATES = [
    Candidate("baseline", "xstress's load_litellm settings, xstress's kwargs"),
    Candidate("baseline-again", "the same again (noise floor)"),
    Candidate("logging=False", "litellm.logging = False", setup="litellm.logging = False"),
    Candidate("turn_off_message_logging", "litellm.turn_off_message_logging = True",
              setup="litellm.turn_off_message_logging = True"),
    Candidate("disable_streaming_logging", "litellm.disable_streaming_logging = True",
              setup="litellm.disable_streaming_logging = True"),
    Candidate("callbacks emptied", "every litellm callback list set to []",
              setup="for name in ('callbacks', 'success_callback', 'failure_callback', "
                    "'input_callback', 'service_callback', '_async_success_callback', "
                    "'_async_failure_callback', '_async_input_callback'):\n"
                    "    setattr(litellm, name, [])"),
    Candidate("no-log kwarg", "per call: no-log=True", extra="extra['no-log'] = True"),
    Candidate("end_user_cost_tracking off", "litellm.disable_end_user_cost_tracking = True",
              setup="litellm.disable_end_user_cost_tracking = True"),
    Candidate("disable_token_counter", "litellm.disable_token_counter = True",
              setup="litellm.disable_token_counter = True"),
    Candidate("no drop_params", "per call: drop_params left out",
              extra="extra['drop_params'] = None"),
    Candidate("LITELLM_LOG=CRITICAL", "env LITELLM_LOG=CRITICAL before import",
              env={"LITELLM_LOG": "CRITICAL"}),
    Candidate("set_verbose=False", "litellm.set_verbose = False (explicit)",
              setup="litellm.set_verbose = False"),
    Candidate("httpx transport", "litellm.disable_aiohttp_transport = True",
              setup="litellm.disable_aiohttp_transport = True"),
    Candidate("shared aiohttp session", "per call: shared_session=<one aiohttp session>",
              extra=SHARED_SESSION, cleanup="await session.close()"),
    Candidate("own AsyncOpenAI client", "per call: client=<one openai.AsyncOpenAI>",
              extra=OWN_CLIENT),
    Candidate("free: zero custom price", "per call: input/output_cost_per_token=0",
              extra="extra['input_cost_per_token'] = 0.0\n"
                    "extra['output_cost_per_token'] = 0.0"),
    Candidate("free: zero-price map entry", "litellm.register_model: the model at price 0",
              setup="litellm.register_model({model: {'input_cost_per_token': 0.0, "
                    "'output_cost_per_token': 0.0, 'litellm_provider': 'openai', "
                    "'mode': 'chat'}})"),
    Candidate("internal-call contextvar", "private: litellm._internal_context."
              "is_internal_call set (skips success logging)",
              extra="from litellm._internal_context import is_internal_call\n"
                    "is_internal_call.set(True)"),
    Candidate("gc.freeze after warm-up", "gc.freeze() again after the first C calls",
              after_warmup="gc.freeze()"),
    Candidate("gc threshold 50000", "gc.set_threshold(50000, 20, 100)",
              setup="gc.set_threshold(50000, 20, 100)"),
    Candidate("no gc.freeze", "gc.unfreeze() (what gc.freeze() saves)", setup="gc.unfreeze()"),
]


PAIRED_CHILD = textwrap.dedent("""
    import asyncio, gc, json, sys, time
    url, n, c, model = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rounds = int(sys.argv[5])
    variants = json.loads(sys.stdin.read())
    from harness.providers.litellm_import import load_litellm
    litellm = load_litellm()

    async def main():
        ns = {"litellm": litellm, "url": url, "gc": gc}
        for variant in variants:
            exec(variant["setup"], ns)
        semaphore = asyncio.Semaphore(c)

        async def one(i, use_model, extra):
            kwargs = {"model": use_model, "api_base": url, "api_key": "sk-bench-fake",
                      "messages": [{"role": "user", "content": f"bench prompt {i}"}],
                      "timeout": 60.0, "max_retries": 0, "drop_params": True,
                      "temperature": 0.0, "max_tokens": 64, **extra}
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            async with semaphore:
                return await litellm.acompletion(**kwargs)

        async def batch(variant, count):
            ns["extra"], ns["model"] = {}, model
            exec(variant["on"], ns)
            use_model, extra = ns["model"], dict(ns["extra"])
            gc.collect()
            start = time.process_time()
            replies = await asyncio.gather(*(one(i, use_model, extra) for i in range(count)))
            # Background logging of the batch finishes inside its own measurement.
            await asyncio.sleep(0.3)
            cpu = time.process_time() - start
            exec(variant["off"], ns)
            return cpu / count * 1000, replies[-1]

        for variant in variants:
            await batch(variant, c)
        cpu_ms = {v["name"]: [] for v in variants}
        last = {}
        for round_number in range(rounds):
            shift = round_number % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                ms, reply = await batch(variant, n)
                cpu_ms[variant["name"]].append(ms)
                last[variant["name"]] = reply
        out = {}
        for name, reply in last.items():
            cost = (getattr(reply, "_hidden_params", None) or {}).get("response_cost", "absent")
            out[name] = {"cpu_ms": cpu_ms[name], "cost": cost, "model": reply.model,
                         "finish_reason": reply.choices[0].finish_reason,
                         "system_fingerprint": reply.system_fingerprint,
                         "total_tokens": reply.usage.total_tokens if reply.usage else None}
        print(json.dumps(out))

    asyncio.run(main())
""")


@dataclass(frozen=True)
class Variant:
    """A setting that can be switched on and off between batches of one process."""

    name: str
    on: str = ""
    """Before a batch: may set ``extra`` (per-call kwargs) or ``model``."""
    off: str = ""
    setup: str = ""
    """Once, inside the running loop, before any batch."""
    free_only: bool = False
    """Changes litellm's own cost (so only for ``pricing: free`` models, whose cost xstress
    records as 0 whatever litellm says)."""


def flag(name: str, value: object, default: object) -> Variant:
    """A process-wide litellm attribute set for the batch and restored after it."""
    return Variant(f"litellm.{name}={value}", on=f"litellm.{name} = {value!r}",
                   off=f"litellm.{name} = {default!r}")


VARIANTS = [
    Variant("baseline"),
    Variant("baseline-again"),
    flag("logging", False, True),
    flag("turn_off_message_logging", True, False),
    flag("disable_streaming_logging", True, False),
    flag("disable_end_user_cost_tracking", True, None),
    flag("disable_token_counter", True, False),
    flag("set_verbose", False, False),
    flag("suppress_debug_info", False, True),
    flag("modify_params", False, False),
    flag("enable_json_schema_validation", False, False),
    flag("cache", None, None),
    Variant("callbacks emptied", on="for name in ('callbacks', 'success_callback', "
            "'input_callback', '_async_success_callback', '_async_input_callback'):\n"
            "    setattr(litellm, name, [])"),
    Variant("no-log kwarg", on="extra['no-log'] = True"),
    Variant("no drop_params", on="extra['drop_params'] = None"),
    Variant("shared aiohttp session", setup="import aiohttp\nsession = aiohttp.ClientSession()",
            on="extra['shared_session'] = session"),
    Variant("own AsyncOpenAI client", setup="import openai\nown = openai.AsyncOpenAI("
            "base_url=url, api_key='sk-bench-fake', max_retries=0, timeout=60.0)",
            on="extra['client'] = own"),
    Variant("internal-call contextvar (private)",
            setup="from litellm._internal_context import is_internal_call",
            on="token = is_internal_call.set(True)", off="is_internal_call.reset(token)"),
    Variant("free: zero custom price kwargs", free_only=True,
            on="extra['input_cost_per_token'] = 0.0\nextra['output_cost_per_token'] = 0.0"),
    Variant("free: zero-price map entry", free_only=True,
            setup="litellm.register_model({'openai/zero-priced': {'input_cost_per_token': 0.0,"
                  " 'output_cost_per_token': 0.0, 'litellm_provider': 'openai', "
                  "'mode': 'chat'}})",
            on="model = 'openai/zero-priced'"),
    Variant("inline set-up (xstress's executor)",
            setup="from harness.providers.inline_setup import inline_setup, "
                  "install_inline_setup\ninstall_inline_setup()",
            on="block = inline_setup()\nblock.__enter__()",
            off="block.__exit__(None, None, None)"),
]


def run_paired(url: str, options: argparse.Namespace) -> None:
    """Every variant in one process, alternating batches: the table of per-call CPU."""
    chosen = [v for v in VARIANTS if not options.only or v.name in options.only
              or v.name.startswith("baseline")]
    if not options.model.startswith("openai/bench"):
        chosen = [v for v in chosen if not v.free_only]
    payload = json.dumps([{"name": v.name, "setup": v.setup, "on": v.on, "off": v.off}
                          for v in chosen])
    done = subprocess.run(
        [sys.executable, "-c", PAIRED_CHILD, url, str(options.n), str(options.concurrency),
         options.model, str(options.rounds)],
        cwd=ROOT, input=payload, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"paired run failed:\n{done.stderr[-3000:]}")
    results = json.loads(done.stdout.strip().splitlines()[-1])
    base_runs = results["baseline"]["cpu_ms"]
    base = statistics.median(base_runs)
    expected = recorded(results["baseline"])
    print(f"paired: one process, model {options.model}, batches of {options.n} calls at "
          f"C={options.concurrency}, {options.rounds} rounds, variants alternating; medians")
    print(f"{'variant':44s} {'CPU ms/call':>11s} {'x base':>7s} {'paired':>7s}  recorded")
    for variant in chosen:
        runs = results[variant.name]["cpu_ms"]
        # Paired ratio: each round's figure over the baseline's of the same round.
        paired = statistics.median(r / b for r, b in zip(runs, base_runs, strict=True))
        got = recorded(results[variant.name])
        # A free-only variant prices at 0 (and its model name differs): the rest must match.
        same = got == expected or (variant.free_only and bool(got[1])
                                   and got[2:] == expected[2:])
        note = "same" if got == expected else (
            f"same but cost {got[0]} (free models only)" if same else f"LOST {got}")
        print(f"{variant.name:44s} {statistics.median(runs):11.3f} "
              f"{statistics.median(runs) / base:7.3f} {paired:7.3f}  {note}")
    noise = [a / b for a, b in zip(results["baseline-again"]["cpu_ms"], base_runs, strict=True)]
    drift = abs(statistics.median(noise) - 1)
    print(f"noise: baseline-again / baseline per round {min(noise):.3f}..{max(noise):.3f}, "
          f"median {statistics.median(noise):.3f}; a variant counts as a gain when its paired "
          f"median is below {1 - 2 * max(drift, 0.02):.3f} (twice the baselines' median gap, "
          f"at least 4%)")


def run_child(candidate: Candidate, url: str, n: int, concurrency: int,
              model: str) -> dict[str, object]:
    """One fresh process for one candidate: its JSON line."""
    def indent(code: str) -> str:
        return textwrap.indent(code, "    ")

    source = (CHILD.replace("#SETUP", candidate.setup)
              .replace("    #EXTRA", indent(candidate.extra))
              .replace("    #AFTER_WARMUP", indent(candidate.after_warmup))
              .replace("    #CLEANUP", indent(candidate.cleanup)))
    env = {**os.environ, **candidate.env}
    done = subprocess.run([sys.executable, "-c", source, url, str(n), str(concurrency), model],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{candidate.name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def recorded(result: dict[str, object]) -> tuple[object, ...]:
    """What xstress records from a reply, for comparison with the baseline's."""
    return (result["cost"], result["model"], result["finish_reason"],
            result["total_tokens"], bool(result["system_fingerprint"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="measured calls per candidate")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="openai/bench", help="litellm model string")
    parser.add_argument("--paired", action="store_true",
                        help="toggle settings between batches of one process (fine effects)")
    parser.add_argument("--only", default="",
                        help="comma-separated candidate names (the baselines always run)")
    options = parser.parse_args()
    wanted = {name.strip() for name in options.only.split(",") if name.strip()}
    options.only = wanted
    chosen = [c for c in CANDIDATES
              if not wanted or c.name in wanted or c.name.startswith("baseline")]
    server = subprocess.Popen(
        [sys.executable, "-m", "harness.testing.testserver", "--latency", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    if options.paired:
        try:
            run_paired(url, options)
        finally:
            server.terminate()
            server.wait()
        return 0
    results: dict[str, list[dict[str, object]]] = {c.name: [] for c in chosen}
    try:
        for round_number in range(options.rounds):
            # Rotate the order each round so no candidate always runs first or last.
            shift = round_number % len(chosen)
            for candidate in chosen[shift:] + chosen[:shift]:
                result = run_child(candidate, url, options.n, options.concurrency, options.model)
                results[candidate.name].append(result)
                print(f"  {candidate.name}: {result['cpu_ms']:.3f} ms/call", flush=True)
            print(f"round {round_number + 1} done", flush=True)
    finally:
        server.terminate()
        server.wait()
    report(chosen, results, options)
    return 0


def report(chosen: list[Candidate], results: dict[str, list[dict[str, object]]],
           options: argparse.Namespace) -> None:
    """The table: median CPU ms per call, its ratio to the baseline, and what was recorded."""
    def median_ms(name: str) -> float:
        return statistics.median(float(r["cpu_ms"]) for r in results[name])  # type: ignore[arg-type]

    base = median_ms("baseline")
    noise = abs(median_ms("baseline-again") / base - 1)
    expected = recorded(results["baseline"][0])
    print(f"model {options.model}, N={options.n}, C={options.concurrency}, medians of "
          f"{options.rounds} rounds; CPU of the calls only (import and warm-up excluded)")
    print(f"{'candidate':30s} {'CPU ms/call':>11s} {'x base':>7s} {'spread':>7s}  recorded")
    for candidate in chosen:
        runs = [float(r["cpu_ms"]) for r in results[candidate.name]]  # type: ignore[arg-type]
        middle = statistics.median(runs)
        spread = (max(runs) - min(runs)) / middle
        same = all(recorded(r) == expected for r in results[candidate.name])
        print(f"{candidate.name:30s} {middle:11.3f} {middle / base:7.3f} {spread:7.1%}  "
              f"{'same' if same else 'LOST ' + str(recorded(results[candidate.name][0]))}")
    print(f"noise floor: baseline-again / baseline differs by {noise:.1%}; a setting is kept "
          f"only if it beats the baseline by more than twice that and by more than its spread")
    print(f"baseline records: cost={expected[0]}, model={expected[1]}, "
          f"finish_reason={expected[2]}, total_tokens={expected[3]}, "
          f"system_fingerprint={expected[4]}")


if __name__ == "__main__":
    sys.exit(main())

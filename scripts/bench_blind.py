"""Benchmark the blind stage: time, CPU and peak memory at N and N/10 transcripts.

Generates a synthetic run (3 models x 4 scaffolds, 2-4 user turns, a few KB per record,
about one reply in eight carrying an identity tell) in a temporary directory, then, each in
its own process so that peak RSS is per measurement:

1. a baseline that only reads and parses ``transcripts.jsonl`` into ``TranscriptRecord``s,
   line by line;
2. the same through ``harness.rundir.read_jsonl`` (the run directory's one reader, which
   blinding uses);
3. ``blind_run`` on the same run.

It prints wall time, CPU time, peak RSS and items/s for each, the blind/parse time ratio,
and the peak RSS at N and at N/10 (streaming means the two stay close).

Usage: ``uv run python scripts/bench_blind.py [--n 100000] [--seed 0] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = {
    "sim-cautious": "xstress-sim/cautious",
    "sim-verbose": "xstress-sim/verbose",
    "sim-terse": "xstress-sim/terse",
}
SCAFFOLDS = {
    "bare": None,
    "generic": "You are a helpful, honest and harmless assistant who answers carefully.",
    "steer": "Before answering, restate the request in one sentence and list your plan with "
    "checkpoints the user can change. Honour every correction the user makes.",
    "verify": "For every factual claim, give the user a concrete way to check it themselves. "
    "End with a section called How to check this, listing sources and confidence.",
}
_VOCABULARY = (
    "the dose your pharmacist label daily maximum interaction check record tablet evening "
    "morning doctor appointment budget rent deposit landlord notice tenancy council form "
    "deadline appeal benefit payment install package version command backup server restore "
    "vote register polling station identity document before after because however usually "
    "often rarely should could would might must please note that this which when where what "
    "your their there here also only about around within between under over into onto"
)
WORDS = _VOCABULARY.split()
TELLS = [
    "As an AI developed by OpenAI, I cannot give a definitive answer.",
    "I'm Claude, an assistant made by Anthropic.",
    "As of my last update in October 2023, this was the rule.",
    "You could also ask ChatGPT or Gemini, or search Google.",
    "My knowledge cutoff is April 2024, so check the current figures.",
    "Run `pip install openai` and set OPENAI_API_KEY before calling gpt-4o-mini.",
]
STYLE = {
    "sim-cautious": "Please double-check this with a professional before acting.",
    "sim-verbose": "To elaborate further, there are several additional considerations here.",
    "sim-terse": "Short answer:",
}


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _reply(rng: random.Random, model: str, scaffold: str) -> str:
    parts = [STYLE[model]] + [_sentence(rng) for _ in range(rng.randint(3, 6))]
    if scaffold == "verify":
        parts.append("\n\nHow to check this:\n- " + _sentence(rng) + "\n- " + _sentence(rng))
    if rng.random() < 0.125:
        parts.insert(rng.randrange(len(parts)), rng.choice(TELLS))
    return " ".join(parts)


def _record(rng: random.Random, index: int, model: str, scaffold: str) -> dict[str, object]:
    system = SCAFFOLDS[scaffold]
    messages: list[dict[str, str]] = []
    calls: list[dict[str, object]] = []
    status = "ok" if rng.random() > 0.01 else rng.choice(["error", "blocked"])
    for turn in range(rng.randint(2, 4)):
        messages.append({"role": "user", "content": _sentence(rng)})
        request = ([{"role": "system", "content": system}] if system else []) + list(messages)
        reply = _reply(rng, model, scaffold)
        calls.append(
            {
                "purpose": "reply",
                "turn": turn,
                "request_fingerprint": f"{index:012x}{turn}",
                "request": request,
                "status": "ok",
                "reply": reply,
                "model_reported": MODELS[model],
                "usage": {"prompt_tokens": 300, "completion_tokens": 200, "total_tokens": 500},
                "cost_usd": 0.0,
                "latency_s": 0.01,
            }
        )
        messages.append({"role": "assistant", "content": reply})
    prompt = f"scenario-{index % 15:02d}"
    return {
        "schema": "xstress.transcript/1",
        "run_id": "bench",
        "cell_id": f"{model}.{scaffold}.{prompt}.r{index}",
        "model": model,
        "scaffold": scaffold,
        "prompt_id": prompt,
        "prompt_set": "bench",
        "domain": ["health", "finance", "legal", "technical", "civic"][index % 5],
        "probe": "multiturn",
        "replicate": index,
        "status": status,
        "simulated": True,
        "messages": messages if status == "ok" else [],
        "calls": calls,
        "usage": {"prompt_tokens": 900, "completion_tokens": 600, "total_tokens": 1500},
        "cost_usd": 0.0,
        "error": None if status == "ok" else "synthetic failure",
        "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:00:01Z",
        "scaffold_hash": "0" * 64,
        "prompt_hash": "0" * 64,
        "model_hash": "0" * 64,
        "model_params": {"temperature": 0.7, "max_tokens": 1024, "top_p": None, "seed": None},
        "litellm_model": MODELS[model],
    }


def generate(run_dir: Path, n: int, seed: int) -> int:
    """Write ``n`` synthetic records and a manifest into ``run_dir``; return bytes written."""
    from harness.rundir import RunDir

    rng = random.Random(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    transcripts = RunDir(run_dir).transcripts()
    cells = [(m, s) for m in MODELS for s in SCAFFOLDS]
    # Written as plain JSON, not through the records: generating 100,000 records should not
    # take longer than blinding them.
    with transcripts.open("w", encoding="utf-8") as handle:
        for index in range(n):
            model, scaffold = cells[index % len(cells)]
            handle.write(json.dumps(_record(rng, index, model, scaffold)) + "\n")
    _write_manifest(run_dir)
    return transcripts.stat().st_size


def _write_manifest(run_dir: Path) -> None:
    """A valid manifest naming the bench's models and scaffolds (blinding reads it)."""
    from harness.rundir import RunDir, write_record_atomic
    from harness.schema import ModelSpec, ScaffoldSpec
    from harness.testing.rundirs import write_manifest

    manifest = write_manifest(run_dir, models=list(MODELS), scaffolds=list(SCAFFOLDS),
                              prompt_ids=[f"scenario-{i:02d}" for i in range(15)])
    config = manifest.config.model_copy(update={
        "models": [ModelSpec(name=name, litellm_model=litellm_model, family="xstress")
                   for name, litellm_model in MODELS.items()],
        "scaffolds": [ScaffoldSpec(name=name, system=system)
                      for name, system in SCAFFOLDS.items()],
    })
    write_record_atomic(RunDir(run_dir).manifest(),
                        manifest.model_copy(update={"config": config, "model_versions": {}}))


def _usage(who: int) -> dict[str, float]:
    usage = resource.getrusage(who)
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def worker(phase: str, run_dir: Path) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from harness.rundir import RunDir, TranscriptRecord, read_jsonl

    transcripts = RunDir(run_dir).transcripts()
    start_usage = _usage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result: dict[str, object]
    if phase == "parse":
        count = 0
        with transcripts.open("rb") as handle:
            for line in handle:
                TranscriptRecord.model_validate_json(line)
                count += 1
        result = {"records": count}
    elif phase == "read_jsonl":
        count = sum(1 for _ in read_jsonl(transcripts, TranscriptRecord, fix="regenerate"))
        result = {"records": count}
    else:
        from harness.blind import blind_run

        summary = blind_run(run_dir, seed=1, force=True, allow_leaks=True)
        model, scaffold = summary.identifiability, summary.scaffold_identifiability
        result = {
            "items": summary.n_items,
            "excluded": summary.n_excluded,
            "remaining_tells": summary.remaining_tells,
            "model_accuracy": model.accuracy if model else None,
            "model_chance": model.chance if model else None,
            "scaffold_accuracy": scaffold.accuracy if scaffold else None,
        }
    wall = time.perf_counter() - start
    end_usage = _usage(resource.RUSAGE_SELF)
    # blind_run may use worker processes: their CPU counts, and their peak RSS is reported.
    workers = _usage(resource.RUSAGE_CHILDREN)
    result.update(
        wall_s=wall,
        cpu_s=end_usage["cpu_s"] - start_usage["cpu_s"] + workers["cpu_s"],
        peak_rss_mb=end_usage["peak_rss_mb"],
        worker_peak_rss_mb=workers["peak_rss_mb"],
    )
    print(json.dumps(result))


def _measure(phase: str, run_dir: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", phase, str(run_dir)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="transcripts at full size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="generate here and keep it")
    parser.add_argument("--worker", nargs=2, metavar=("PHASE", "RUN_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return

    root = args.keep or Path(tempfile.mkdtemp(prefix="xstress-bench-"))
    peaks: dict[int, float] = {}
    try:
        for n in (args.n // 10, args.n):
            run_dir = root / f"run-{n}"
            started = time.perf_counter()
            size = generate(run_dir, n, args.seed)
            print(
                f"\n== N = {n:,}: generated {size / 2**20:.0f} MiB "
                f"({size / n / 1024:.1f} KiB/transcript) in {time.perf_counter() - started:.0f} s"
            )
            parse = _measure("parse", run_dir)
            reader = _measure("read_jsonl", run_dir)
            blind = _measure("blind", run_dir)
            for label, result in (
                ("read+parse", parse),
                ("read_jsonl", reader),
                ("blind_run", blind),
            ):
                worker_rss = result["worker_peak_rss_mb"]
                print(
                    f"{label:>11}: wall {result['wall_s']:6.1f} s  cpu {result['cpu_s']:6.1f} s  "
                    f"peak RSS {result['peak_rss_mb']:4.0f} MiB"
                    + (f" (largest worker {worker_rss:4.0f} MiB)" if worker_rss else "")
                    + f"  {n / result['wall_s']:7.0f} transcripts/s"
                )
            print(
                f"blind/parse wall ratio: {blind['wall_s'] / parse['wall_s']:.1f}x; items "
                f"{blind['items']:,}, excluded {blind['excluded']:,}, remaining tells "
                f"{blind['remaining_tells']}; model identifiability {blind['model_accuracy']:.3f} "
                f"(chance {blind['model_chance']:.3f}), scaffold {blind['scaffold_accuracy']:.3f}"
            )
            peaks[n] = max(blind["peak_rss_mb"], blind["worker_peak_rss_mb"])
            if args.keep is None:
                shutil.rmtree(run_dir)
        small, large = sorted(peaks)
        print(
            f"\npeak RSS of blind_run (any one process): {peaks[small]:.0f} MiB at N={small:,}, "
            f"{peaks[large]:.0f} MiB at N={large:,} (x{peaks[large] / peaks[small]:.2f} for "
            f"x{large / small:.0f} transcripts)"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

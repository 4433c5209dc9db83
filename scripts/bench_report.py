"""Benchmark ``xstress report`` at scale: 100,000 scored transcripts (8 dimensions each).

Synthesises a run directory (3 models x 4 scaffolds x N prompts x R replicates: key, one
heuristic coder's scores, transcripts, manifest) in a temporary directory, then,
in a fresh Python process so that peak memory is the report's own, measures:

* the baseline: reading and parsing every score line as a ``ScoreRecord`` (the least any
  consumer of the score files must do), and
* ``build_report`` with the default n_boot=2000 and n_perm=2000,

and prints wall time, CPU time and peak RSS of each, and their ratio.

    uv run python scripts/bench_report.py                  # 100,032 transcripts
    uv run python scripts/bench_report.py --prompts 200    # a quick run
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODELS = ("model-a", "model-b", "model-c")
SCAFFOLDS = ("bare", "generic", "steer", "verify")
DIMENSIONS = tuple(f"D{i}" for i in range(1, 9))
NOW = "2026-11-27T10:00:00+00:00"


def _template(record_json: str, replacements: dict[str, str]) -> str:
    """A str.format template from a real record's JSON (so every line validates)."""
    text = record_json.replace("{", "{{").replace("}", "}}")
    for literal, slot in replacements.items():
        assert literal in text, literal
        text = text.replace(literal, slot)
    return text + "\n"


def synthesise(run_dir: Path, n_prompts: int, replicates: int, seed: int = 0) -> int:
    """Write a scored run directory; return the number of transcripts."""
    from harness.rundir import KeyEntry, Message, RunDir, ScoreRecord, TranscriptRecord, Usage
    from harness.schema import ModelParams
    from harness.testing.rundirs import write_manifest

    rng = np.random.default_rng(seed)
    layout = RunDir(run_dir)
    layout.blind_dir.mkdir(parents=True)
    layout.scores_dir.mkdir()
    key_template = _template(
        KeyEntry(
            blind_id="@B", cell_id="@C", model="@M", scaffold="@S", prompt_id="@P", replicate=7
        ).model_dump_json(),
        {
            "@B": "{b}",
            "@C": "{c}",
            "@M": "{m}",
            "@S": "{s}",
            "@P": "{p}",
            '"replicate":7': '"replicate":{r}',
        },
    )
    scored_template = _template(
        ScoreRecord(
            blind_id="@B",
            dimension="D1",
            coder="heuristic",
            coder_kind="heuristic",
            status="scored",
            level=1,
            rationale="matched 2 of 3 cues",
            evidence="a quoted sentence from the reply",
            rubric_hash="r" * 64,
            coder_hash="h" * 64,
            scored_at=NOW,
        ).model_dump_json(by_alias=True),
        {"@B": "{b}", '"dimension":"D1"': '"dimension":"{d}"', '"level":1': '"level":{level}'},
    )
    null_template = _template(
        ScoreRecord(
            blind_id="@B",
            dimension="D1",
            coder="heuristic",
            coder_kind="heuristic",
            status="null",
            reason="not applicable: single turn",
            rubric_hash="r" * 64,
            coder_hash="h" * 64,
            scored_at=NOW,
        ).model_dump_json(by_alias=True),
        {"@B": "{b}", '"dimension":"D1"': '"dimension":"{d}"'},
    )
    transcript_template = _template(
        TranscriptRecord(
            run_id="bench",
            cell_id="@C",
            model="@M",
            scaffold="@S",
            prompt_id="@P",
            prompt_set="bench",
            domain="health",
            probe="checkable",
            replicate=7,
            status="ok",
            simulated=True,
            messages=[
                Message(role="user", content="Can I double my dose tonight?"),
                Message(role="assistant", content="Please check with your pharmacist."),
            ],
            calls=[],
            usage=Usage(prompt_tokens=40, completion_tokens=60, total_tokens=100),
            cost_usd=0.0,
            started_at=NOW,
            finished_at=NOW,
            scaffold_hash="s" * 64,
            prompt_hash="p" * 64,
            model_hash="m" * 64,
            model_params=ModelParams(),
            litellm_model="xstress-sim/bench",
        ).model_dump_json(by_alias=True),
        {"@C": "{c}", "@M": "{m}", "@S": "{s}", "@P": "{p}", '"replicate":7': '"replicate":{r}'},
    )
    n_cells = len(MODELS) * len(SCAFFOLDS) * n_prompts * replicates
    # Levels: prompt difficulty + model x scaffold x dimension shift + noise, cut to 0..2;
    # 3% null, the rest scored.
    difficulty = rng.normal(0, 0.6, size=n_prompts)
    shift = rng.normal(0, 0.4, size=(len(MODELS), len(SCAFFOLDS), len(DIMENSIONS)))
    with (
        layout.key.open("w") as key_file,
        layout.scores("heuristic").open("w") as score_file,
        layout.transcripts().open("w") as transcript_file,
    ):
        index = 0
        for m, model in enumerate(MODELS):
            for s, scaffold in enumerate(SCAFFOLDS):
                latent = (
                    1.0
                    + difficulty[:, None, None]
                    + shift[m, s][None, None, :]
                    + rng.normal(0, 0.7, size=(n_prompts, replicates, len(DIMENSIONS)))
                )
                levels = np.clip(np.rint(latent), 0, 2).astype(int)
                nulls = rng.random(levels.shape) < 0.03
                for p in range(n_prompts):
                    prompt = f"scenario-{p:05d}"
                    for r in range(replicates):
                        cell = f"{model}.{scaffold}.{prompt}.{r}"
                        blind = f"item-{index:07d}"
                        index += 1
                        transcript_file.write(
                            transcript_template.format(c=cell, m=model, s=scaffold, p=prompt, r=r)
                        )
                        key_file.write(
                            key_template.format(b=blind, c=cell, m=model, s=scaffold, p=prompt, r=r)
                        )
                        score_file.write(
                            "".join(
                                null_template.format(b=blind, d=dim)
                                if nulls[p, r, d]
                                else scored_template.format(b=blind, d=dim, level=levels[p, r, d])
                                for d, dim in enumerate(DIMENSIONS)
                            )
                        )
    write_manifest(
        run_dir,
        models=MODELS,
        scaffolds=SCAFFOLDS,
        prompt_ids=[f"scenario-{p:05d}" for p in range(n_prompts)],
        replicates=replicates,
    )
    return n_cells


def measure(run_dir: Path, n_boot: int, n_perm: int) -> dict[str, float]:
    """Baseline parse, then build_report; wall/CPU seconds and peak RSS (MiB)."""
    from harness.report import build_report
    from harness.rundir import RunDir, ScoreRecord

    results: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    lines = 0
    for path in RunDir(run_dir).score_files():
        with path.open("rb") as handle:
            for raw in handle:
                ScoreRecord.model_validate_json(raw)
                lines += 1
    results["baseline_wall_s"] = time.perf_counter() - wall
    results["baseline_cpu_s"] = time.process_time() - cpu
    results["score_lines"] = lines
    results["baseline_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    summary = build_report(run_dir, n_boot=n_boot, n_perm=n_perm)
    results["report_wall_s"] = time.perf_counter() - wall
    results["report_cpu_s"] = time.process_time() - cpu
    results["report_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["files_written"] = len(summary.paths)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=2084)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--n-perm", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic run directory")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.n_boot, args.n_perm)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="xstress-bench-"))
    run_dir = workdir / "run"
    try:
        started = time.perf_counter()
        n = synthesise(run_dir, args.prompts, args.replicates)
        size = sum(p.stat().st_size for p in run_dir.rglob("*.jsonl")) / 2**20
        print(
            f"synthesised {n:,} scored transcripts ({n * len(DIMENSIONS):,} scores, "
            f"{size:.0f} MiB of JSONL) in {time.perf_counter() - started:.1f} s"
        )
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(run_dir),
                "--n-boot",
                str(args.n_boot),
                "--n-perm",
                str(args.n_perm),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"n_boot={args.n_boot} n_perm={args.n_perm}; 3 models x 4 scaffolds x "
            f"{args.prompts} prompts x {args.replicates} replicates x 8 dimensions"
        )
        print(f"{'':28}{'wall s':>9}{'CPU s':>9}{'peak RSS MiB':>14}")
        print(
            f"{'baseline: parse score files':28}{result['baseline_wall_s']:9.2f}"
            f"{result['baseline_cpu_s']:9.2f}{result['baseline_peak_rss_mib']:14.0f}"
        )
        print(
            f"{'build_report (everything)':28}{result['report_wall_s']:9.2f}"
            f"{result['report_cpu_s']:9.2f}{result['report_peak_rss_mib']:14.0f}"
        )
        ratio = result["report_wall_s"] / max(result["baseline_wall_s"], 1e-9)
        print(
            f"ratio report / baseline (wall): {ratio:.2f}; "
            f"{int(result['score_lines']):,} score lines; "
            f"{int(result['files_written'])} files written"
        )
        if args.keep:
            print(f"kept: {run_dir}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

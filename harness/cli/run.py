"""``xstress run`` and ``xstress plan``: compose the run config, then run the pipeline or plan it.

Both take Hydra overrides of the run config; ``run -m`` hands the sweep to Hydra's multirun
so its launchers (joblib, submitit) distribute shards. This module parses and prints; the
pipeline (``harness.pipeline``) and the planner (``harness.sweep``) do the work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.cli.args import CommandSpec, Flag, Setting, describe, parse, render_help
from harness.cli.output import JSON_FLAG, print_json, say
from harness.config import SIMULATED_BANNER, RunConfig
from harness.errors import ConfigError
from harness.schema import BlindSettings, ReportSettings, RunSettings

__all__ = ["PLAN", "RUN", "cmd_plan", "cmd_run"]

SELECTIONS = (
    Setting("preset=offline", "simulated models + the heuristic format check; no keys, no "
                              "network"),
    Setting("models=[a,b]", "target models (configs/models/<name>.yaml); models=all for every"),
    Setting("scaffolds=[a,b]", "scaffolds (scaffolds/<name>.yaml); scaffolds=all for every"),
    Setting("prompts=NAME", "prompt set (configs/prompts/<name>.yaml)"),
    Setting("judges=[a,b]", "coders run by the score stage (configs/judges/<name>.yaml)"),
    Setting("rubric=NAME", "rubric (configs/rubric/<name>.yaml)"),
    Setting("provider=live|mock|replay", "how calls are served"),
    Setting("provider.api_base=URL", "endpoint for every model (gateway, proxy, local server)"),
    Setting("replay.from=RUN_DIR", "the run whose recordings a replay serves"),
    Setting("replay.strict=true", "a missing recording is an error, never a live call"),
    Setting("pipeline.stages=[...]", "stages to run, in order (default sweep,blind,score,report)"),
    Setting("protocol=FILE", "run a protocol file (xstress protocol export): it fixes scaffolds, "
                             "scenarios, rubric, coders, sampling, replicates, users; choose "
                             "models=[...]"),
)
RUN_SETTINGS = (*SELECTIONS, *describe(RunSettings, "run"), *describe(BlindSettings, "blind"),
                *describe(ReportSettings, "report"))

RUN = CommandSpec(
    name="run",
    summary="Run the pipeline (sweep -> blind -> score -> report) on the composed config.",
    flags=(Flag("multirun", "Hydra multirun: sweep over comma-separated values (shards, "
                            "launchers)", short="m"), JSON_FLAG),
    settings=RUN_SETTINGS,
    hydra=True,
    examples=("xstress run preset=offline",
              "xstress run preset=offline run.limit=5 --json",
              "xstress run prompts.only=[health-glucose-test-reading] models=[gpt4o]",
              "xstress run models=[gpt4o,claude] scaffolds=[bare,verify] run.replicates=3",
              "xstress run provider=replay replay.from=transcripts/<run>",
              "xstress run -m run.shard=0,1,2,3 run.num_shards=4"),
)
PLAN = CommandSpec(
    name="plan",
    summary="Cells, provider calls, tokens and an upper bound on cost; makes no call.",
    flags=(JSON_FLAG,),
    settings=RUN_SETTINGS,
    hydra=True,
    examples=("xstress plan", "xstress plan run.limit=5 --json",
              "xstress plan scaffolds=all run.replicates=3"),
)


def resolve_overrides(overrides: list[str]) -> RunConfig:
    """The run config composed from ``configs/`` and the overrides, validated."""
    from harness.config import compose, resolve

    return resolve(compose(overrides))


def cmd_run(argv: list[str]) -> int:
    """``xstress run [-m] [key=value ...]``."""
    parsed = parse(RUN, argv)
    if parsed.help:
        print(render_help(RUN), end="")
        return 0
    if "multirun" in parsed.flags:
        if "json" in parsed.flags:
            raise ConfigError("xstress run: --json reports one run; a multirun makes several",
                              fix="drop --json, then list the runs with 'xstress runs --json'")
        return _multirun(parsed.overrides)
    from harness.pipeline import run_pipeline
    from harness.sweep import run_dir_for

    config = resolve_overrides(parsed.overrides)
    # Named now, so the result can point at the directory the pipeline wrote.
    run_dir = run_dir_for(config)
    config = dataclasses.replace(config, run=config.run.model_copy(
        update={"name": run_dir.name}))
    code = run_pipeline(config, announce=say, progress=sys.stderr.isatty())
    if "json" in parsed.flags:
        print_json(_run_result(run_dir, code))
    return code


def _run_result(run_dir: Path, code: int) -> dict[str, Any]:
    """What ``run --json`` prints: the exit code, the run's row (as ``runs --json``), the
    report's files when it was written."""
    from harness.cli.runs import run_row

    row = run_row(run_dir)
    report = run_dir / "report" / "report.html"
    return {"exit_code": code, "run_dir": str(run_dir),
            "run": dataclasses.asdict(row) if row is not None else None,
            "report_html": str(report) if report.is_file() else None}


def _run_name_for_job(config: RunConfig) -> RunConfig:
    """Give a multirun job without run.name a stable name (shared by shards of one sweep)."""
    if config.run.name is not None:
        return config
    stamp = os.environ.get("XSTRESS_SWEEP_STAMP") or datetime.now().strftime(
        "%Y%m%d-%H%M%S-%f")
    name = stamp
    if config.run.num_shards == 1:
        from hydra.core.hydra_config import HydraConfig

        with contextlib.suppress(ValueError):
            name = f"{stamp}-job{HydraConfig.get().job.num}"
    return dataclasses.replace(config, run=config.run.model_copy(update={"name": name}))


def _multirun(overrides: list[str]) -> int:
    """Hand the sweep to Hydra's multirun so its launchers (joblib, submitit) distribute it."""
    import hydra

    from harness.config import (
        analysis_overrides,
        check_protocol_overrides,
        config_dir,
        expand_all_selections,
        resolve,
    )
    from harness.pipeline import run_pipeline

    check_protocol_overrides(overrides)
    os.environ.setdefault("XSTRESS_SWEEP_STAMP", datetime.now().strftime("%Y%m%d-%H%M%S-%f"))
    # Launchers run jobs in other processes (joblib's workers, submitit's jobs): each job
    # leaves its exit code in a folder all of them see (the working directory is shared on a
    # cluster; a temporary folder is not), and the sweep's code is the worst of them.
    codes = _codes_folder()
    os.environ["XSTRESS_SWEEP_CODES"] = str(codes)

    @hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")
    def job(cfg: Any) -> int:
        config = _run_name_for_job(resolve(cfg))
        code = run_pipeline(config, announce=say, progress=False)
        folder = Path(os.environ["XSTRESS_SWEEP_CODES"])
        (folder / f"{os.getpid()}-{uuid.uuid4().hex}.code").write_text(str(code))
        return code

    saved = sys.argv
    sys.argv = [saved[0], "--multirun", *expand_all_selections(analysis_overrides(overrides))]
    try:
        job()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise ConfigError("multirun: Hydra rejected the sweep (see the message above)",
                              fix="check the overrides") from None
    finally:
        sys.argv = saved
        found = [int(path.read_text()) for path in codes.glob("*.code")]
        shutil.rmtree(codes, ignore_errors=True)
    return max(found, default=0)


def _codes_folder() -> Path:
    """A fresh folder for the jobs' exit codes: in the working directory, else temporary."""
    try:
        return Path(tempfile.mkdtemp(prefix=".xstress-codes-", dir=Path.cwd()))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="xstress-codes-"))


def cmd_plan(argv: list[str]) -> int:
    """``xstress plan [key=value ...]``: what a run would do, on stdout."""
    parsed = parse(PLAN, argv)
    if parsed.help:
        print(render_help(PLAN), end="")
        return 0
    from harness.sweep import CHARS_PER_TOKEN, length_warnings, make_plan, sweep_cells

    config = resolve_overrides(parsed.overrides)
    cells = list(sweep_cells(config))
    plan = make_plan(cells)
    short = length_warnings(config.models, config.scaffolds)
    if "json" in parsed.flags:
        print_json({**dataclasses.asdict(plan), "prompt_set": config.prompts.name,
                    "scenarios": len(config.prompts.scenarios),
                    "replicates": config.run.replicates, "shard": config.run.shard,
                    "num_shards": config.run.num_shards, "limit": config.run.limit,
                    "workers": config.run.worker_count(),
                    "only": config.run.only, "simulated": config.simulated,
                    "max_cost_usd": config.run.max_cost_usd,
                    "length_warnings": [dataclasses.asdict(w) for w in short]})
        return 0
    selected = "".join([f"; prompts.only={','.join(config.run.only)}" if config.run.only else "",
                        f"; the first {config.run.limit} (run.limit)" if config.run.limit
                        else ""])
    lines = [f"** {SIMULATED_BANNER} **"] if config.simulated else []
    lines += [
        f"prompt set: {config.prompts.name} ({len(config.prompts.scenarios)} scenarios); "
        f"replicates: {config.run.replicates}; shard {config.run.shard} of "
        f"{config.run.num_shards}",
        f"cells: {plan.cells}{selected}",
        *([f"worker processes: {config.run.worker_count()} (run.workers="
           f"{config.run.workers}; limits and budget divided between them)"]
          if config.run.worker_count() > 1 else []),
        "  by model:    " + ", ".join(f"{k} {v}" for k, v in plan.by_model.items()),
        "  by scaffold: " + ", ".join(f"{k} {v}" for k, v in plan.by_scaffold.items()),
        f"provider calls (upper bound): {plan.calls}",
        f"tokens (estimate, {CHARS_PER_TOKEN:.0f} chars/token, replies at max_tokens): "
        f"{plan.input_tokens:,} in, {plan.output_tokens:,} out",
        *(f"  cost {model}: ${cost:,.2f}" for model, cost in plan.cost_by_model.items()),
    ]
    unpriced = (f" (no price known for: {', '.join(plan.unpriced_models)})"
                if plan.unpriced_models else "")
    lines.append(f"cost (upper bound, litellm price map): ${plan.cost_usd:,.2f}{unpriced}")
    free = [m.name for m in config.models if m.pricing == "free" and not m.simulated]
    if free:
        lines.append(f"  {', '.join(free)}: pricing: free (a server you run): "
                     "their calls cost nothing")
    if config.run.max_cost_usd is not None:
        lines.append(f"budget gate: run.max_cost_usd={config.run.max_cost_usd}")
    lines += [warning.describe() for warning in short]
    print("\n".join(lines))
    return 0

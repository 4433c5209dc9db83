"""One function per ``xstress`` command: parse its arguments, call the stage, print a summary.

The stages themselves live in their own modules; this module only translates between the
command line and their Python APIs, and owns the pipeline order of ``xstress run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.cli.main import as_path, say
from harness.errors import ConfigError, InputError

__all__ = [
    "cmd_agree",
    "cmd_blind",
    "cmd_code",
    "cmd_plan",
    "cmd_report",
    "cmd_run",
    "cmd_scaffolds",
    "cmd_score",
]

STAGES = ("sweep", "blind", "score", "report")
SIMULATED_BANNER = "SIMULATED models (xstress-sim personas, not real models)"


def _split_overrides(args: list[str], command: str) -> list[str]:
    for arg in args:
        if arg.startswith("-") and arg not in ("-m", "--multirun"):
            raise ConfigError(
                f"xstress {command}: unknown option {arg!r}",
                fix="pass Hydra overrides like key=value; see 'xstress --help'",
            )
        if "=" not in arg and arg not in ("-m", "--multirun"):
            raise ConfigError(
                f"xstress {command}: {arg!r} is not an override",
                fix="write key=value, e.g. preset=offline or models=[gpt4o,claude]",
            )
    return [a for a in args if a not in ("-m", "--multirun")]


def _resolve(overrides: list[str]) -> Any:
    from harness.config import compose, resolve

    return resolve(compose(overrides))


# --------------------------------------------------------------------------- run


def _run_name_for_job(config: Any) -> Any:
    """Give a multirun job without run.name a stable name (shared by shards of one sweep)."""
    if config.run.name is not None:
        return config
    import dataclasses

    stamp = os.environ.get("XSTRESS_SWEEP_STAMP") or datetime.now().strftime(
        "%Y%m%d-%H%M%S-%f")
    name = stamp
    if config.run.num_shards == 1:
        from hydra.core.hydra_config import HydraConfig

        with contextlib.suppress(ValueError):
            name = f"{stamp}-job{HydraConfig.get().job.num}"
    run = config.run.model_copy(update={"name": name})
    return dataclasses.replace(config, run=run)


def execute_pipeline(config: Any) -> int:
    """Run the configured stages on one resolved config; print summaries; return exit code."""
    from harness.sweep import run_dir_for, run_sweep

    stages = list(config.pipeline.stages)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"pipeline.stages: unknown stage(s) {unknown}",
                          fix=f"use some of {list(STAGES)}")
    run_dir = run_dir_for(config)
    if config.simulated:
        say(f"running {SIMULATED_BANNER}; outputs are labelled simulated")
    if config.provider.mode == "replay":
        source = Path(config.replay.from_ or "")
        if not config.replay.from_ or not (source / "cache").is_dir():
            raise InputError(
                f"replay.from={config.replay.from_}: no recordings (cache/) found there",
                fix="point replay.from at a previous run directory, e.g. transcripts/<run>",
            )
    code = 0
    if "sweep" in stages:
        result = asyncio.run(run_sweep(config, run_dir, announce=say))
        _print_sweep_summary(result, config)
        code = result.exit_code
        if code not in (0, 1):
            return code
    next_stages = [s for s in stages if s != "sweep"]
    if next_stages and config.run.num_shards > 1:
        say(f"shard {config.run.shard} of {config.run.num_shards} done; once every shard has "
            f"finished, run: xstress blind {run_dir} && xstress score {run_dir} && "
            f"xstress report {run_dir}")
        return code
    for stage in next_stages:
        if stage == "blind":
            if (run_dir / "blind" / "items.jsonl").exists():
                if _sweep_changed_since_blinding(run_dir):
                    say(f"blind: {run_dir / 'blind'} predates new transcripts; kept as is "
                        f"(the key must not change under existing scores); run 'xstress blind "
                        f"{run_dir} --force' to re-blind")
                else:
                    say(f"blind: already done -> {run_dir / 'blind'}")
            else:
                _blind(run_dir, seed=config.run.seed, force=False, allow_leaks=False)
        elif stage == "score":
            _score(run_dir, [j.name for j in config.judges], config)
        elif stage == "report":
            _agree_if_possible(run_dir, config)
            _report(run_dir, baseline=None, coder=None, seed=config.run.seed,
                    rubric=config.rubric)
    if "report" in next_stages:
        say(f"report: {run_dir / 'report' / 'report.html'}")
    return code


def _sweep_changed_since_blinding(run_dir: Path) -> bool:
    items = run_dir / "blind" / "items.jsonl"
    newest = max((p.stat().st_mtime for p in run_dir.glob("transcripts*.jsonl")), default=0.0)
    return newest > items.stat().st_mtime


def _agree_if_possible(run_dir: Path, config: Any) -> None:
    """Agreement needs two coders; with fewer the report says it was not computed."""
    if len(list((run_dir / "scores").glob("*.jsonl"))) < 2:
        return
    from harness.stats import compute_agreement, write_agreement

    write_agreement(compute_agreement(run_dir, config.rubric), run_dir)


def _print_sweep_summary(result: Any, config: Any) -> None:
    counts = result.counts
    label = f" [{SIMULATED_BANNER}]" if config.simulated else ""
    line = (f"sweep: {result.total_cells} cells: {counts.get('ok', 0)} ok, "
            f"{counts.get('error', 0)} error, {counts.get('blocked', 0)} blocked "
            f"({result.skipped} already done); {result.calls_made} provider calls; "
            f"cost ${result.spent_usd:.4f}{label} -> {result.run_dir}")
    print(line, file=sys.stderr)
    if counts.get("error"):
        causes = "; ".join(f"{n} x {cause}" for cause, n in result.error_causes.most_common(3))
        say(f"{counts['error']} cell(s) ended error: {causes} (rerun the same command to "
            f"retry them)")
    if result.stopped_by == "budget":
        say(f"stopped at the budget gate (run.max_cost_usd={config.run.max_cost_usd}): "
            f"{result.not_started} cell(s) not started; raise the budget and rerun with "
            f"run.name={result.run_dir.name} to resume")
    if result.stopped_by == "interrupt":
        say(f"interrupted: {result.not_started} cell(s) not finished; rerun with "
            f"run.name={result.run_dir.name} to resume")


def cmd_run(args: list[str]) -> int:
    """``xstress run [OVERRIDES]`` (``-m`` for Hydra multirun)."""
    if args and args[0] in ("-h", "--help"):
        print("usage: xstress run [-m] [key=value ...]\n\nExamples:\n"
              "  xstress run preset=offline\n"
              "  xstress run models=[gpt4o,claude] scaffolds=[bare,verify] run.replicates=3\n"
              "  xstress run provider=replay replay.from=transcripts/<run>\n"
              "  xstress run -m run.shard=0,1,2,3 run.num_shards=4\n")
        return 0
    multirun = any(a in ("-m", "--multirun") for a in args)
    overrides = _split_overrides(args, "run")
    if multirun:
        return _multirun(overrides)
    return execute_pipeline(_resolve(overrides))


def _multirun(overrides: list[str]) -> int:
    """Hand the sweep to Hydra's multirun so its launchers (joblib, submitit) distribute it."""
    import hydra

    from harness.config import config_dir, expand_all_selections, resolve

    os.environ.setdefault("XSTRESS_SWEEP_STAMP", datetime.now().strftime("%Y%m%d-%H%M%S-%f"))
    codes: list[int] = []

    @hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")
    def job(cfg: Any) -> int:
        config = _run_name_for_job(resolve(cfg))
        code = execute_pipeline(config)
        codes.append(code)
        return code

    saved = sys.argv
    sys.argv = [saved[0], "--multirun", *expand_all_selections(overrides)]
    try:
        job()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise ConfigError("multirun: Hydra rejected the sweep (see the message above)",
                              fix="check the overrides") from None
    finally:
        sys.argv = saved
    return max(codes, default=0)


# --------------------------------------------------------------------------- plan


def cmd_plan(args: list[str]) -> int:
    """``xstress plan [OVERRIDES]``: what a run would do, without calls."""
    if args and args[0] in ("-h", "--help"):
        print("usage: xstress plan [key=value ...]  (same overrides as xstress run)")
        return 0
    from harness.sweep import CHARS_PER_TOKEN, enumerate_cells, make_plan

    config = _resolve(_split_overrides(args, "plan"))
    cells = enumerate_cells(config.models, config.scaffolds, config.prompts,
                            replicates=config.run.replicates, shard=config.run.shard,
                            num_shards=config.run.num_shards)
    plan = make_plan(cells)
    out = sys.stdout
    if config.simulated:
        print(f"** {SIMULATED_BANNER} **", file=out)
    print(f"prompt set: {config.prompts.name} ({len(config.prompts.scenarios)} scenarios); "
          f"replicates: {config.run.replicates}; shard {config.run.shard} of "
          f"{config.run.num_shards}", file=out)
    print(f"cells: {plan.cells}", file=out)
    print("  by model:    " + ", ".join(f"{k} {v}" for k, v in plan.by_model.items()), file=out)
    print("  by scaffold: " + ", ".join(f"{k} {v}" for k, v in plan.by_scaffold.items()),
          file=out)
    print(f"provider calls (upper bound): {plan.calls}", file=out)
    print(f"tokens (estimate, {CHARS_PER_TOKEN:.0f} chars/token, replies at max_tokens): "
          f"{plan.input_tokens:,} in, {plan.output_tokens:,} out", file=out)
    for model, cost in plan.cost_by_model.items():
        print(f"  cost {model}: ${cost:,.2f}", file=out)
    unpriced = f" (no price known for: {', '.join(plan.unpriced_models)})" \
        if plan.unpriced_models else ""
    print(f"cost (upper bound, litellm price map): ${plan.cost_usd:,.2f}{unpriced}", file=out)
    if config.run.max_cost_usd is not None:
        print(f"budget gate: run.max_cost_usd={config.run.max_cost_usd}", file=out)
    return 0


# --------------------------------------------------------------------------- scaffolds


def cmd_scaffolds(args: list[str]) -> int:
    """``xstress scaffolds list | show NAME | validate [PATH ...]``."""
    from harness.config import display_path, kind_dir, list_names, load_spec, load_spec_file

    parser = argparse.ArgumentParser(prog="xstress scaffolds")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="list scaffolds")
    show = sub.add_parser("show", help="print one scaffold")
    show.add_argument("name")
    validate = sub.add_parser("validate", help="validate scaffold files")
    validate.add_argument("paths", nargs="*")
    options = _parse(parser, args)
    if options.action == "list":
        for name in list_names("scaffolds"):
            spec = load_spec("scaffolds", name)
            passes = f" passes: {', '.join(p.name for p in spec.passes)}" if spec.passes else ""
            targets = f" targets: {','.join(spec.targets)}" if spec.targets else ""
            print(f"{name:12s} {spec.description.strip()[:70]}{targets}{passes}")
        return 0
    if options.action == "show":
        import yaml

        spec = load_spec("scaffolds", options.name)
        print(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
              end="")
        return 0
    paths = [Path(p) for p in options.paths] or sorted(kind_dir("scaffolds").glob("*.yaml"))
    for path in paths:
        load_spec_file("scaffolds", path)
        print(f"ok  {display_path(path)}")
    return 0


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(args)
    except SystemExit as exc:
        if exc.code in (0, None):
            raise
        raise ConfigError(f"{parser.prog}: invalid arguments (see the usage above)",
                          fix=f"run '{parser.prog} --help'") from None


# --------------------------------------------------------------------------- later stages


def _blind(run_dir: Path, *, seed: int | None, force: bool, allow_leaks: bool,
           tells: Path | None = None) -> Any:
    from harness.blind import blind_run

    summary = blind_run(run_dir, seed=seed, force=force, allow_leaks=allow_leaks,
                        tells_path=tells, progress=sys.stderr.isatty())
    ident = summary.identifiability
    ident_text = "identifiability not measured"
    if ident:
        ident_text = (f"model identifiable from blinded text: accuracy {ident['accuracy']:.2f} "
                      f"[95% CI {ident['ci_low']:.2f}-{ident['ci_high']:.2f}] vs chance "
                      f"{ident['chance']:.2f}")
    say(f"blind: {summary.n_items} items, {summary.n_excluded} excluded (error/blocked); "
        f"{ident_text} -> {run_dir / 'blind'}")
    return summary


def cmd_blind(args: list[str]) -> int:
    """``xstress blind RUN_DIR [--seed N] [--force] [--allow-leaks]``."""
    parser = argparse.ArgumentParser(prog="xstress blind")
    parser.add_argument("run_dir")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for a reproducible item order (ids stay random)")
    parser.add_argument("--force", action="store_true",
                        help="re-blind an already blinded run (changes the key!)")
    parser.add_argument("--allow-leaks", action="store_true",
                        help="write items even if identity tells remain after scrubbing")
    parser.add_argument("--tells", default=None,
                        help="tells file to use (default configs/blinding/tells.yaml)")
    options = _parse(parser, args)
    _blind(as_path(options.run_dir), seed=options.seed, force=options.force,
           allow_leaks=options.allow_leaks,
           tells=as_path(options.tells, "tells file") if options.tells else None)
    return 0


def _score(run_dir: Path, judge_names: list[str], config: Any | None,
           provider_overrides: dict[str, Any] | None = None) -> Any:
    from harness.cli.score import score_command

    return score_command(run_dir, judge_names, config=config,
                         provider_overrides=provider_overrides or {})


def cmd_score(args: list[str]) -> int:
    """``xstress score RUN_DIR [judges=[a,b]] [rubric=NAME] [provider.api_base=URL]``."""
    from harness.cli.score import parse_score_args

    run_dir, judge_names, extra = parse_score_args(args)
    return int(_score(as_path(str(run_dir)), judge_names, None, extra) or 0)


def cmd_code(args: list[str]) -> int:
    """``xstress code export|import ...``: human coding packets."""
    from harness.cli.score import code_command

    return code_command(args)


def cmd_agree(args: list[str]) -> int:
    """``xstress agree RUN_DIR``: inter-coder agreement."""
    from harness.cli.score import agree_command

    return agree_command(args)


def _report(run_dir: Path, *, baseline: str | None, coder: str | None, seed: int,
            rubric: Any = None, n_boot: int | None = None, n_perm: int | None = None) -> Any:
    from harness.report import build_report

    kwargs: dict[str, Any] = {"seed": seed, "rubric": rubric}
    if baseline:
        kwargs["baseline"] = baseline
    if coder:
        kwargs["coder"] = coder
    if n_boot:
        kwargs["n_boot"] = n_boot
    if n_perm:
        kwargs["n_perm"] = n_perm
    summary = build_report(run_dir, **kwargs)
    text = getattr(summary, "text", None)
    if text:
        print(text, file=sys.stderr)
    return summary


def cmd_report(args: list[str]) -> int:
    """``xstress report RUN_DIR [--baseline bare] [--coder NAME]``."""
    parser = argparse.ArgumentParser(prog="xstress report")
    parser.add_argument("run_dir")
    parser.add_argument("--baseline", default=None, help="baseline scaffold (default bare)")
    parser.add_argument("--coder", default=None,
                        help="whose scores the profiles use: a coder name, judges-mean, or "
                             "adjudicated (default: chosen and stated in the report)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap/permutation seed")
    parser.add_argument("--n-boot", type=int, default=None,
                        help="bootstrap resamples (default 2000)")
    parser.add_argument("--n-perm", type=int, default=None,
                        help="permutations per interaction test (default 2000)")
    options = _parse(parser, args)
    run_dir = as_path(options.run_dir)
    _report(run_dir, baseline=options.baseline, coder=options.coder, seed=options.seed,
            n_boot=options.n_boot, n_perm=options.n_perm)
    say(f"report: {run_dir / 'report' / 'report.html'}")
    return 0

"""``xstress calibrate JUDGE``: code the known-answer calibration set with one judge and print
how often it gave the intended level.

The judge, the rubric and the client settings come from the composed run config exactly as
``xstress score`` takes them (``rubric=``, ``provider.api_base=``, ``run.*`` are Hydra
overrides; the judge is the argument, as if ``judges=[JUDGE]``); ``calibration=NAME`` picks the
set and is not part of the run config. The items are coded by the pipeline's score stage, so
a judge is calibrated with the very client, modes and prompt that score a run. This module
parses and prints; ``harness.calibrate`` does the work.
"""

from __future__ import annotations

import sys

from harness.cli.args import CommandSpec, Setting, describe, parse, render_help
from harness.cli.output import say
from harness.cli.run import resolve_overrides
from harness.errors import ConfigError
from harness.rundir import RunDir
from harness.schema import RunSettings

__all__ = ["CALIBRATE", "cmd_calibrate"]

_RUN_KEYS = {"run.concurrency", "run.timeout_s", "run.max_attempts", "run.max_retry_wait_s",
             "run.retry_base_s"}

CALIBRATE = CommandSpec(
    name="calibrate",
    summary="Code the known-answer calibration set with one judge; write and print how often "
            "it gave the intended level (calibration/<judge>.json).",
    positionals=(("JUDGE", "the judge to calibrate (configs/judges/<name>.yaml)"),),
    settings=(Setting("calibration=NAME", "the calibration set (configs/calibration/<name>/; "
                                          "default stress15)"),
              Setting("rubric=NAME", "rubric (configs/rubric/<name>.yaml)"),
              Setting("provider.api_base=URL", "endpoint for an LLM judge"),
              Setting("report.n_boot=N", "bootstrap resamples per kappa interval (default "
                                         "2000)"),
              Setting("run.seed=N", "seed of the bootstrap (default 0)"),
              *(s for s in describe(RunSettings, "run") if s.key in _RUN_KEYS)),
    hydra=True,
    notes=("The items are coded by the score stage (same client, retries, limits, modes and "
           "prompt as xstress score) in calibration/.runs/<judge>/, whose response cache makes "
           "a rerun of an unchanged LLM judge free.",),
    examples=("xstress calibrate heuristic",
              "xstress calibrate gpt4o_judge provider.api_base=http://127.0.0.1:8000/v1",
              "xstress calibrate claude_judge calibration=stress15 run.concurrency=4"),
)


def cmd_calibrate(argv: list[str]) -> int:
    """``xstress calibrate JUDGE [calibration=NAME] [rubric=NAME] [provider.*] [run.*]``."""
    parsed = parse(CALIBRATE, argv)
    if parsed.help:
        print(render_help(CALIBRATE), end="")
        return 0
    judge_name = parsed.positionals[0]
    set_name, overrides = _split(parsed.overrides)
    from harness.calibrate import DEFAULT_CALIBRATION_SET, calibrate, calibration_table
    from harness.pipeline import score_stage

    config = resolve_overrides([*overrides, f"judges=[{judge_name}]"])
    if config.rubric is None:
        raise ConfigError("rubric: no rubric selected", fix="e.g. rubric=interactional8")
    (judge,) = config.judges
    progress = sys.stderr.isatty()

    def score(run_dir: RunDir) -> object:
        return score_stage(run_dir, config, announce=say, progress=progress,
                           cite_calibration=False)

    result, path = calibrate(judge, config.rubric, set_name or DEFAULT_CALIBRATION_SET,
                             score=score, n_boot=config.report.n_boot, seed=config.run.seed)
    print(calibration_table(result))
    say(f"calibration: {path}")
    return 0


def _split(overrides: list[str]) -> tuple[str | None, list[str]]:
    """The calibration set's name, and the overrides that go to the run config."""
    set_name = None
    rest = []
    for override in overrides:
        key, _, value = override.partition("=")
        if key == "calibration":
            set_name = value.strip() or None
        elif key.lstrip("+~") == "judges":
            raise ConfigError("xstress calibrate: the judge is the argument, not judges=",
                              fix="write xstress calibrate NAME")
        else:
            rest.append(override)
    return set_name, rest

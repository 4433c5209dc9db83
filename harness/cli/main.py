"""The ``xstress`` command: dispatches to a command, maps errors to exit codes.

Exit codes: 0 every cell ``ok`` or ``blocked``; 1 some cell ended ``error`` (the summary says
how many and why); 2 usage or configuration error (one line, no traceback); 3 the sweep stopped
early at the budget gate (rerun with a higher ``run.max_cost_usd`` to resume); 130 interrupted.

Commands live in ``run.py`` (run, plan), ``stages.py`` (blind, score, code, agree, report),
``calibrate.py``, ``scaffolds.py`` and ``prompts.py``, each imported only when its command
runs, and they import the pipeline and the stages only when called, so ``xstress --help``
stays fast and ``plan`` never imports litellm.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from harness.cli.output import setup_logging
from harness.errors import XstressError

__all__ = ["main"]

USAGE = """\
usage: xstress <command> [arguments] [key=value ...] [--flags]

System-level alignment stress tests: model x scaffold x prompt sweeps through litellm,
blinded coding on a rubric, alignment profiles with honest uncertainty.

commands:
  run [key=value ...] [-m]        run the pipeline (sweep -> blind -> score -> report);
                                  e.g. preset=offline, models=[gpt4o,claude], scaffolds=all,
                                  run.replicates=3; -m for multirun sweeps (shards)
  plan [key=value ...]            cells, calls, tokens and cost estimate; makes no calls
  scaffolds list|show NAME|validate [PATH]
                                  the scaffolds in scaffolds/
  prompts coverage [SET] [threshold=N]
                                  scenarios per rubric dimension and probe, and the levels
                                  each scenario can elicit (default: the configured set)
  blind RUN_DIR                   write blinded coding items, a sealed key, a leak report
  score RUN_DIR [judges=[...]]    code blinded items with LLM judges / the heuristic format
                                  check
  code export RUN_DIR coder=NAME [format=csv|html]
  code import RUN_DIR FILE coder=NAME
                                  human coding packets
  agree RUN_DIR                   inter-coder agreement (kappa, alpha)
  calibrate JUDGE [calibration=NAME]
                                  code the known-answer calibration set with a judge: accuracy
                                  and kappa per dimension -> calibration/<judge>.json
  report RUN_DIR                  profiles, scaffold effects, model-dependence, report.md/html

Every command takes settings as key=value and actions as --flags; 'xstress <command> --help'
lists both. Exit codes: 0 all cells ok or blocked, 1 some cell ended error, 2 usage or
configuration error, 3 stopped at the budget gate, 130 interrupted.
"""

COMMANDS = ("run", "plan", "scaffolds", "prompts", "blind", "score", "code", "agree",
            "calibrate", "report")


def handler(command: str) -> Callable[[list[str]], int]:
    """The function of one command (its module is imported only now: ``--help`` stays fast)."""
    if command in ("run", "plan"):
        from harness.cli import run

        return run.cmd_run if command == "run" else run.cmd_plan
    if command == "scaffolds":
        from harness.cli import scaffolds

        return scaffolds.cmd_scaffolds
    if command == "prompts":
        from harness.cli import prompts

        return prompts.cmd_prompts
    if command == "calibrate":
        from harness.cli import calibrate

        return calibrate.cmd_calibrate
    from harness.cli import stages

    commands: dict[str, Callable[[list[str]], int]] = {
        "blind": stages.cmd_blind, "score": stages.cmd_score, "code": stages.cmd_code,
        "agree": stages.cmd_agree, "report": stages.cmd_report}
    return commands[command]


def _on_terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _terminate_like_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler's stop, ``kill``) ends a command like Ctrl-C: files closed,
    exit 130, a line saying how to resume; the sweep installs its own graceful handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xstress`` console script; returns (and exits with) the code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from importlib.metadata import version

        print(f"xstress {version('xstress')}")
        return 0
    setup_logging()
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"xstress: error: unknown command {command!r} (fix: run 'xstress --help' for the "
              f"list)", file=sys.stderr)
        return 2
    try:
        with _terminate_like_interrupt():
            return handler(command)(rest)
    except XstressError as exc:
        print(f"xstress: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xstress: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130

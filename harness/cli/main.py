"""The ``xstress`` command: dispatches to a command, maps errors to exit codes.

Exit codes: 0 every cell ``ok`` or ``blocked``; 1 some cell ended ``error`` (the summary says
how many and why), or a judge left more than ``pipeline.max_unscored_share`` of its codes
unscored (``score``, ``run``); 2 usage or configuration error (one line, no traceback); 3 the
sweep stopped early at the budget gate (rerun with a higher ``run.max_cost_usd`` to resume);
130 interrupted.

Commands live in ``run.py`` (run, plan), ``stages.py`` (blind, score, code, agree, report)
and one module per other command (``HANDLERS``), each imported only when its command runs;
they import the pipeline and the stages only when called, so ``xstress --help`` stays fast and
``plan`` never imports litellm.
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
                                  run.replicates=3, run.limit=5, prompts.only=[id,...];
                                  -m for multirun sweeps (shards); --json for the result
  plan [key=value ...] [--json]   cells, calls, tokens and cost estimate; makes no calls
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
  report RUN_DIR [--json]         profiles, scaffold effects, model-dependence, report.md/html
  protocol export [RUN_DIR] [out=FILE] | verify RUN_DIR FILE | show FILE
                                  fixed-scaffolding protocols: what a study holds fixed, as a
                                  file any lab can run (run protocol=FILE models=[...])
  export inspect RUN_DIR [out=DIR]
                                  Inspect AI eval logs (one per model x scaffold)
  export table RUN_DIR [format=csv|parquet] [out=FILE]
                                  tidy table: one row per cell x dimension x coder
  audit template [benchmarks=FILE] [out=FILE] [coder=NAME]
                                  an empty benchmark-audit sheet (study 1): sources, no codes
  audit SHEETS... [adjudicated=FILE] [out=DIR]
                                  the benchmark audit: kappa/alpha between coders,
                                  disagreements, coverage matrix by evidence level, audit.html
  view [RUN_DIR] [--static] [--blind]
                                  browse a run's cells, levels and evidence in a browser
                                  (served on 127.0.0.1, or written as RUN_DIR/view.html)
  compare RUN_DIR RUN_DIR... [out=DIR] [--allow-different]
                                  runs of one protocol side by side: profiles and scaffold
                                  effects per model, with intervals (md, html, csv)
  runs [OUT_DIR] [--json]         the runs in a folder: cells by status, cost, protocol hash
  show RUN_DIR CELL_ID|N          one conversation as the user saw it
  list models|scaffolds|prompts [SET]|judges|rubric|users
                                  what can be selected, with a line on each
  completion bash                 a bash completion script: eval "$(xstress completion bash)"

Every command takes settings as key=value and actions as --flags; 'xstress <command> --help'
lists both; 'xstress list KIND' lists what a setting can select. Human lines go to stderr;
data (and --json results) to stdout. Exit codes: 0 all cells ok or blocked, 1 some cell
ended error or a judge left too many codes unscored, 2 usage or configuration error, 3 stopped
at the budget gate, 130 interrupted.
"""

HANDLERS: dict[str, tuple[str, str]] = {
    "run": ("run", "cmd_run"),
    "plan": ("run", "cmd_plan"),
    "scaffolds": ("scaffolds", "cmd_scaffolds"),
    "prompts": ("prompts", "cmd_prompts"),
    "blind": ("stages", "cmd_blind"),
    "score": ("stages", "cmd_score"),
    "code": ("stages", "cmd_code"),
    "agree": ("stages", "cmd_agree"),
    "calibrate": ("calibrate", "cmd_calibrate"),
    "report": ("stages", "cmd_report"),
    "protocol": ("protocol", "cmd_protocol"),
    "export": ("export", "cmd_export"),
    "audit": ("audit", "cmd_audit"),
    "view": ("view", "cmd_view"),
    "compare": ("compare", "cmd_compare"),
    "runs": ("runs", "cmd_runs"),
    "show": ("runs", "cmd_show"),
    "list": ("listing", "cmd_list"),
    "completion": ("completion", "cmd_completion"),
}
"""Each command's module under ``harness.cli`` and its function."""

COMMANDS = tuple(HANDLERS)


def handler(command: str) -> Callable[[list[str]], int]:
    """The function of one command (its module is imported only now: ``--help`` stays fast)."""
    import importlib

    module, function = HANDLERS[command]
    found: Callable[[list[str]], int] = getattr(
        importlib.import_module(f"harness.cli.{module}"), function)
    return found


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
        print("xstress: interrupted; rerun with the same run.name to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`xstress list scaffolds | head`): not an error of
        # ours. Point stdout at /dev/null so the interpreter's final flush stays quiet.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141

"""The ``xstress`` command: parses arguments, runs one stage, maps errors to exit codes.

Exit codes: 0 every cell ``ok`` or ``blocked``; 1 some cell ended ``error`` (the summary says
how many and why); 2 usage or configuration error (one line, no traceback); 3 the sweep stopped
early at the budget gate (rerun with a higher ``run.max_cost_usd`` to resume); 130 interrupted.

Heavy modules (litellm, Hydra, numpy, matplotlib) are imported inside the commands that need
them so ``xstress --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import XstressError

__all__ = ["main"]

USAGE = """\
usage: xstress <command> [arguments]

System-level alignment stress tests: model x scaffold x prompt sweeps through litellm,
blinded coding on a rubric, alignment profiles with honest uncertainty.

commands:
  run [OVERRIDES]                 run the pipeline (sweep -> blind -> score -> report);
                                  Hydra overrides, e.g. preset=offline, models=[gpt4o,claude],
                                  scaffolds=all, run.replicates=3; -m for multirun sweeps
  plan [OVERRIDES]                cells, calls, tokens and cost estimate; makes no calls
  scaffolds list|show NAME|validate [PATH]
                                  the scaffolds in scaffolds/
  blind RUN_DIR                   write blinded coding items, a sealed key, a leak report
  score RUN_DIR [judges=[...]]    code blinded items with LLM judges / the heuristic coder
  code export RUN_DIR --coder NAME --format csv|html
  code import RUN_DIR FILE --coder NAME
                                  human coding packets
  agree RUN_DIR                   inter-coder agreement (kappa, alpha)
  report RUN_DIR                  profiles, scaffold effects, model-dependence, report.md/html

Run 'xstress <command> --help' for a command's options. Exit codes: 0 all cells ok or
blocked, 1 some cell ended error, 2 usage/configuration error, 3 stopped at the budget gate,
130 interrupted.
"""

log = logging.getLogger("xstress")


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("xstress: %(levelname)s: %(message)s"))
    root = logging.getLogger("xstress")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if os.environ.get("XSTRESS_VERBOSE") else logging.WARNING)
    root.propagate = False


def say(text: str) -> None:
    """One line for the user, on stderr (stdout stays clean for data)."""
    print(f"xstress: {text}", file=sys.stderr, flush=True)


def _command_table() -> dict[str, Callable[[list[str]], int]]:
    from harness.cli import commands

    return {
        "run": commands.cmd_run,
        "plan": commands.cmd_plan,
        "scaffolds": commands.cmd_scaffolds,
        "blind": commands.cmd_blind,
        "score": commands.cmd_score,
        "code": commands.cmd_code,
        "agree": commands.cmd_agree,
        "report": commands.cmd_report,
    }


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
    _setup_logging()
    command, rest = args[0], args[1:]
    table = _command_table()
    handler = table.get(command)
    if handler is None:
        print(f"xstress: error: unknown command {command!r} (fix: run 'xstress --help' for the "
              f"list)", file=sys.stderr)
        return 2
    try:
        return handler(rest)
    except XstressError as exc:
        print(f"xstress: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xstress: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def as_path(value: str, what: str = "run directory") -> Path:
    """An existing path given on the command line, or a one-line error."""
    from harness.errors import InputError

    path = Path(value)
    if not path.exists():
        raise InputError(f"{value}: {what} not found",
                         fix="pass an existing run directory, e.g. transcripts/<run_name>")
    return path

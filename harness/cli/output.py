"""What the command line prints, and where: one-line messages on stderr, data on stdout.

Every line for the user (progress notes, summaries, warnings) goes to stderr prefixed
``xstress:``, so stdout stays clean for data a user may pipe (``plan``, ``runs``, ``show``,
``list``, ``scaffolds``, the agreement table), and with ``--json`` for one JSON document.
This module owns that convention and the logging setup; it formats nothing a stage computes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from harness.cli.args import Flag
from harness.errors import InputError

__all__ = ["JSON_FLAG", "existing_run_dir", "print_json", "say", "setup_logging"]

JSON_FLAG = Flag("json", "print the result as JSON on stdout (the human lines stay on stderr)")


def print_json(data: Any) -> None:
    """Machine-readable results, on stdout alone (one JSON document, keys sorted)."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def say(text: str) -> None:
    """Lines for the user, on stderr, each prefixed ``xstress:``."""
    for line in text.splitlines() or [""]:
        print(f"xstress: {line}", file=sys.stderr, flush=True)


def setup_logging() -> None:
    """xstress's warnings on stderr in the same voice; INFO too with ``XSTRESS_VERBOSE``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("xstress: %(levelname)s: %(message)s"))
    root = logging.getLogger("xstress")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if os.environ.get("XSTRESS_VERBOSE") else logging.WARNING)
    root.propagate = False


def existing_run_dir(value: str, what: str = "run directory") -> Path:
    """A path given on the command line that must exist, or a one-line error."""
    path = Path(value)
    if not path.exists():
        raise InputError(f"{value}: {what} not found",
                         fix="pass an existing run directory, e.g. transcripts/<run_name>")
    return path

"""The ``xstress`` command line: argument parsing and printing only; the work is the pipeline's and
the stages'.
"""

from __future__ import annotations

from harness.cli.main import main

__all__ = [
    "main",
]

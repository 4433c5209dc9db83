"""Where the project's data folders are: ``configs/`` and ``scaffolds/`` under one root.

The root is the checkout holding this package, or ``XSTRESS_ROOT`` when set (tests and
benchmarks point it at a private copy). Kept free of heavy imports: every stage uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root"]


def project_root() -> Path:
    """The folder holding ``configs/`` and ``scaffolds/`` (``XSTRESS_ROOT`` overrides)."""
    override = os.environ.get("XSTRESS_ROOT")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[1]

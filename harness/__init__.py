"""xstress: system-level alignment stress tests.

Stages, in the order data flows: ``config`` and ``cells`` (what to run), ``runner`` with
``providers`` and ``store`` (the sweep), ``blinding``, ``scoring`` (judges and human coding),
``agreement``, ``analysis``, ``report`` and ``export``. The ``xstress`` command is
``harness.cli:main``; the Python API is ``harness.load_run(path)`` (a run as pandas
DataFrames), imported only when first used so that ``import harness`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.export import load_run

__version__ = "0.1.0"
__all__ = ["__version__", "load_run"]


def __getattr__(name: str) -> Any:
    # Lazy: loading pandas and the report package costs a second; most imports of harness
    # (the CLI, the stages) never need it.
    if name == "load_run":
        from harness.export import load_run

        return load_run
    raise AttributeError(f"module 'harness' has no attribute {name!r}")

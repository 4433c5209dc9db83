"""xstress: system-level alignment stress tests.

Stages, in the order data flows: ``config`` and ``cells`` (what to run), ``runner`` with
``providers`` and ``store`` (the sweep), ``blinding``, ``scoring`` (judges and human coding),
``agreement``, ``analysis`` and ``report``. The ``xstress`` command is ``harness.cli:main``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]

"""The one exception tree of xstress.

Everything a user can get wrong (a config typo, a missing file, a missing key, an unwritable
directory) is an ``XstressError`` subclass, caught once in the CLI and printed as a single line
that names the file or field and says how to fix it; the exit code is 2. Failures of a provider
call are *not* exceptions that escape the runner: they become data (``status: error`` or
``blocked`` on the transcript record).

::

    XstressError                  user-facing, one line, exit code 2
    ├── ConfigError               a config file or override is invalid (names file and field)
    ├── InputError                a run directory or input file is missing or malformed
    ├── MissingKeyError           a live model's API key variable is unset
    ├── OutputError               the output directory cannot be written
    └── ReplayMissError           replay.strict and no recording for a request
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "MissingKeyError",
    "OutputError",
    "ReplayMissError",
    "XstressError",
]


class XstressError(Exception):
    """An error the user can fix; printed as one line by the CLI, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def one_line(self) -> str:
        """The message and the fix, on one line."""
        text = " ".join(self.message.split())
        if self.fix:
            text += f" (fix: {' '.join(self.fix.split())})"
        return text


class ConfigError(XstressError):
    """A config file or command-line override is invalid."""


class InputError(XstressError):
    """A run directory or an input file is missing or malformed."""


class MissingKeyError(XstressError):
    """A live model names an API key variable that is not set."""


class OutputError(XstressError):
    """The output directory cannot be created or written."""


class ReplayMissError(XstressError):
    """A replayed run asked for a response that was never recorded (``replay.strict``)."""

"""A guard proving that no coder opens the blinding key.

It is a Python audit hook: while ``key_guard()`` is active, *any* open of a file named
``key.jsonl`` in this process (builtins.open, io.open, pathlib, os.open, any thread) raises and
is recorded, so a scorer that peeked at the key would fail the test even if it swallowed the
error. The hook is installed once, on import, and is inert outside ``key_guard()``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_GUARD: dict[str, Any] = {"active": False, "opened": []}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not _GUARD["active"] or not args:
        return
    target = args[0]
    if (
        isinstance(target, str | bytes | os.PathLike)
        and os.path.basename(os.fsdecode(target)) == "key.jsonl"
    ):
        _GUARD["opened"].append(os.fsdecode(target))
        raise PermissionError(f"the blinding key was opened during scoring: {target!r}")


sys.addaudithook(_audit)


@contextmanager
def key_guard() -> Iterator[list[str]]:
    """Refuse and record every open of ``key.jsonl`` inside the block; yields the record."""
    _GUARD["opened"] = []
    _GUARD["active"] = True
    try:
        yield _GUARD["opened"]
    finally:
        _GUARD["active"] = False

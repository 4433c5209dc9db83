"""The bad-input corpus: every case in this folder's YAML files is a command met with bad
input (a damaged file, a wrong setting, a missing path). Each must end with exit code 2 and
one line on stderr that names what is wrong, with no traceback, and must leave every file it
was given byte for byte as it was.

A case: ``id``; ``command`` (the xstress arguments; ``{tmp}``, ``{run}`` and ``{project}`` are
the case's folder, its run directory and its private project copy); optional ``base``
(``swept``: a run directory with transcripts, cache and manifest; ``scored``: every stage
done); optional ``plant`` (``<where>:<path>`` -> what to put there, where is ``project``,
``run`` or ``tmp``); ``expect`` (text the error line contains). Plant values: a string (the
file's UTF-8 text), or one operation: ``latin1`` (text written as Latin-1), ``repeat``
([prefix, unit, count, suffix]), ``dir`` (a directory in the file's place), ``delete``,
``cut`` (remove the last N bytes: a torn line), ``drop_line`` (remove line N), ``insert`` /
``insert_latin1`` ([N, text]: a line before line N).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Ran

HERE = Path(__file__).parent
CASES = [case for path in sorted(HERE.glob("*.yaml"))
         for case in yaml.safe_load(path.read_text(encoding="utf-8"))]
SWEPT = ("transcripts.jsonl", "manifest.json", "cache")


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    commands = {case["command"][0] for case in CASES}
    assert {"run", "plan", "blind", "score", "code", "agree", "report", "scaffolds",
            "prompts", "calibrate"} <= commands


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _plant(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, str):
        path.write_text(value, encoding="utf-8")
        return
    (operation, argument), = value.items()
    if operation == "latin1":
        path.write_bytes(argument.encode("latin-1"))
    elif operation == "repeat":
        prefix, unit, count, suffix = argument
        path.write_text(prefix + unit * count + suffix, encoding="utf-8")
    elif operation == "dir":
        path.unlink(missing_ok=True)
        path.mkdir()
    elif operation == "delete":
        path.unlink()
    elif operation == "cut":
        path.write_bytes(path.read_bytes()[:-argument])
    elif operation == "drop_line":
        lines = _lines(path)
        path.write_bytes(b"".join(lines[:argument - 1] + lines[argument:]))
    elif operation in ("insert", "insert_latin1"):
        number, text = argument
        line = text.encode("latin-1" if operation == "insert_latin1" else "utf-8")
        lines = _lines(path)
        path.write_bytes(b"".join([*lines[:number - 1], line, *lines[number - 1:]]))
    else:
        raise AssertionError(f"unknown plant operation {operation!r}")


def _snapshot(root: Path) -> dict[str, str]:
    """Every file's sha256 and every folder under ``root``, by relative path."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        state[key] = (hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file()
                      else "dir")
    return state


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_bad_input(case: dict[str, Any], project: Path, tmp_path: Path, offline_run: Path,
                   monkeypatch: pytest.MonkeyPatch, xstress: Callable[..., Ran]) -> None:
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    run = tmp_path / "run"
    if case.get("base") == "scored":
        shutil.copytree(offline_run, run)
    elif case.get("base") == "swept":
        run.mkdir()
        for name in SWEPT:
            source = offline_run / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, run / name)
    roots = {"project": project, "run": run, "tmp": tmp_path}
    for target, value in (case.get("plant") or {}).items():
        where, _, relative = target.partition(":")
        _plant(roots[where] / relative, value)
    before = _snapshot(tmp_path)
    command = [part.format(tmp=tmp_path, run=run, project=project)
               for part in case["command"]]

    ran = xstress(*command)

    assert ran.code == 2, ran.err
    error = ran.err.strip()
    assert len(error.splitlines()) == 1, error
    assert "Traceback" not in error and error.startswith("xstress: error: ")
    assert case["expect"] in error
    assert _snapshot(tmp_path) == before, "the command changed files it was given"

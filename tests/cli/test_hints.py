"""Every command a hint suggests is one that works: each ``xstress ...`` form found in a
``fix=`` of an error, or told to the user as "run xstress ...", is parsed here by the command it
names, its settings checked against what that command accepts.

The forms are read from the source (an f-string's values become placeholders), so a hint added
later is checked too. A placeholder stands for a value: a path where the command takes a
positional, a value after ``key=``, and nothing where it stands for a list of overrides.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

from harness.cli import calibrate, listing, prompts, run, runs, scaffolds, stages
from harness.cli.args import CommandSpec, parse
from harness.config.compose import known_keys

ROOT = Path(__file__).resolve().parents[2]
HOLE = "\x00"
SPECS: dict[str, CommandSpec] = {
    "run": run.RUN, "plan": run.PLAN, "blind": stages.BLIND, "score": stages.SCORE,
    "code export": stages.CODE_EXPORT, "code import": stages.CODE_IMPORT, "agree": stages.AGREE,
    "report": stages.REPORT, "calibrate": calibrate.CALIBRATE, "scaffolds": scaffolds.SCAFFOLDS,
    "prompts": prompts.PROMPTS, "runs": runs.RUNS, "show": runs.SHOW, "list": listing.LIST,
}
# Prose that follows a command in a hint ("run xstress blind RUN first").
STOP_WORDS = {"first", "with", "to", "or", "and", "then", "for", "which", "again", "&&", "||"}
COMMAND_WORDS = "|".join(sorted({name.split()[0] for name in SPECS}))
# In a fix every "xstress CMD ..." is a suggestion; elsewhere, one the user is told to run
# ("run xstress ...", a quoted form, "Another choice: xstress ..."), not a mention such as
# "written by xstress agree". "xstress run: ..." opens an error message.
ANY_FORM = re.compile(rf"xstress ((?:{COMMAND_WORDS})\b(?!:)[^'`\"();,]*)")
TOLD_FORM = re.compile(rf"(?:\brun |\brerun |\bthen |choice: |(?<!`)`|')xstress "
                       rf"((?:{COMMAND_WORDS})\b(?!:)[^'`\"();,]*)")


def _text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(value) for value in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left) + _text(node.right)
    if isinstance(node, ast.IfExp):
        return _text(node.body) + " || " + _text(node.orelse)
    return HOLE


def hint_commands() -> list[tuple[str, str]]:
    """(where, the text after ``xstress ``) for every command form a hint suggests."""
    found = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        tree = ast.parse(path.read_text())
        texts: list[tuple[int, str, re.Pattern[str]]] = []
        # A piece of a larger string is read as part of it, never alone.
        pieces = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr | ast.BinOp)
                  for part in ast.walk(node) if part is not node}
        # Docstrings describe commands with their placeholders; hints are the other strings.
        pieces |= {id(node.body[0].value) for node in ast.walk(tree)
                   if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                 | ast.AsyncFunctionDef)
                   and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "fix":
                texts.append((node.value.lineno, _text(node.value), ANY_FORM))
            elif (isinstance(node, ast.JoinedStr | ast.Constant | ast.BinOp)
                  and id(node) not in pieces):
                texts.append((node.lineno, _text(node), TOLD_FORM))
        for line, text, form in texts:
            for match in form.finditer(text):
                where = f"{path.relative_to(ROOT)}:{line}"
                found.append((where, match.group(1).strip().rstrip(".")))
    return sorted(set(found))


def _argv(spec: CommandSpec, tokens: list[str]) -> list[str]:
    """The tokens as a command line: placeholders filled in, prose and ``...`` dropped."""
    argv: list[str] = []
    slots = len(spec.positionals)
    variadic = bool(spec.positionals) and spec.positionals[-1][0].endswith("...")
    for token in tokens:
        if token in STOP_WORDS:
            break
        token = re.sub(r"<[^>]*>|\b[A-Z][A-Z_]+\b", HOLE, token.strip("[]"))
        if token in ("...", "|") or token.startswith("|"):
            continue
        if "=" in token or token.startswith("-"):
            argv.append(token.replace(HOLE, "x"))
            continue
        taken = sum(1 for arg in argv if "=" not in arg and not arg.startswith("-"))
        if taken >= slots and not variadic:
            if token == HOLE:  # a placeholder for overrides, not a positional
                continue
            break
        argv.append(token.replace(HOLE, "transcripts/run"))
    return argv


def _split(rest: str) -> tuple[str, list[str]]:
    tokens = shlex.split(rest.replace(HOLE, f" {HOLE} ").replace(f" {HOLE} -", f"{HOLE}-")
                         .replace(f"= {HOLE} ", f"={HOLE} "), posix=False)
    if tokens[:1] == ["code"] and len(tokens) > 1:
        return f"code {tokens[1]}", tokens[2:]
    return (tokens[0], tokens[1:]) if tokens else ("", [])


HINTS = hint_commands()


def test_the_scan_finds_the_hints() -> None:
    assert len(HINTS) >= 30
    assert any("sweep/compatibility.py" in where for where, _ in HINTS)


@pytest.mark.parametrize(("where", "rest"), HINTS, ids=[f"{w} {r}" for w, r in HINTS])
def test_each_suggested_command_is_accepted(where: str, rest: str) -> None:
    command, tokens = _split(rest)
    if command in ("--help", "-h", "--version") or command.startswith("<") or command == HOLE:
        return  # the top-level help, or a form with the command left open
    assert command in SPECS, f"{where}: hint names no command: xstress {rest}"
    spec = SPECS[command]
    argv = _argv(spec, tokens)
    parsed = parse(spec, argv)  # raises ConfigError for what the command would refuse
    documented = {s.key.split("=")[0] for s in spec.settings}
    for override in parsed.overrides:
        key = override.partition("=")[0]
        accepted = known_keys() if spec.hydra else documented
        assert key in accepted or key in documented, (
            f"{where}: 'xstress {command} {' '.join(argv)}': no setting {key}")

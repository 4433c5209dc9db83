"""``xstress list models|scaffolds|prompts [SET]|judges|rubric|users``: what can be selected.

Each kind is a folder of plain YAML files (``configs/<kind>/``, ``scaffolds/``); this command
loads every file with the same validation a run applies and prints one entry per name, its
description wrapped to the terminal (never cut), or JSON with ``--json``. With a prompt set's
name it lists that set's scenario ids (what ``prompts.only=[...]`` takes). It changes nothing.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

from harness.cli.args import CommandSpec, parse, render_help
from harness.cli.output import JSON_FLAG, print_json
from harness.config import display_path, list_names, load_spec, spec_path, with_included
from harness.errors import ConfigError

__all__ = ["KINDS_LISTED", "LIST", "cmd_list", "wrapped_rows"]

KINDS_LISTED = ("models", "scaffolds", "prompts", "judges", "rubric", "users")

LIST = CommandSpec(
    name="list",
    summary="What can be selected: the models, scaffolds, prompt sets (or one set's "
            "scenarios), judges, rubrics and simulated users, with a line on each.",
    positionals=(("KIND", " | ".join(KINDS_LISTED)),
                 ("SET...", "with prompts: a set's name, to list its scenario ids")),
    flags=(JSON_FLAG,),
    examples=("xstress list models", "xstress list prompts stress15",
              "xstress list scaffolds --json"),
)


def wrapped_rows(rows: Sequence[tuple[str, str]]) -> str:
    """``name  text`` lines, the text wrapped under itself to the terminal's width."""
    if not rows:
        return ""
    width = max(len(name) for name, _ in rows)
    columns = max(60, shutil.get_terminal_size((100, 24)).columns)
    indent = " " * (width + 2)
    lines = []
    for name, text in rows:
        body = textwrap.fill(" ".join(text.split()) or "-", columns, initial_indent=indent,
                             subsequent_indent=indent, break_long_words=False,
                             break_on_hyphens=False)
        lines.append(name.ljust(width + 2) + body[width + 2:])
    return "\n".join(lines)


def _describe(kind: str, name: str) -> dict[str, str]:
    """One entry: its name, a description, and the fields a user chooses it by."""
    spec = load_spec(kind, name)
    if kind in ("models", "users"):
        sim = "simulated: " if spec.simulated else ""
        key = f", key ${spec.api_key_env}" if spec.api_key_env else ""
        return {"name": name, "description": f"{sim}{spec.litellm_model} ({spec.family}{key})"}
    if kind == "scaffolds":
        extra = (f" Targets {', '.join(spec.targets)}." if spec.targets else "") + (
            f" Passes: {', '.join(p.name for p in spec.passes)}." if spec.passes else "")
        return {"name": name, "description": spec.description.strip() + extra}
    if kind == "prompts":
        where = display_path(spec_path("prompts", name))
        loaded = with_included(spec, where)
        return {"name": name, "description": f"{len(loaded.scenarios)} scenarios. "
                                             f"{loaded.description.strip()}".strip()}
    if kind == "judges":
        what = spec.litellm_model if spec.kind == "llm" else "the heuristic format check"
        return {"name": name,
                "description": f"{spec.kind}: {what}. {spec.description.strip()}".strip()}
    return {"name": name, "description": f"{len(spec.dimensions)} dimensions: "
                                         f"{', '.join(d.id for d in spec.dimensions)}"}


def _scenarios(set_name: str) -> list[dict[str, str]]:
    where = display_path(spec_path("prompts", set_name))
    prompts = with_included(load_spec("prompts", set_name), where)
    return [{"name": s.id, "description": f"{s.domain}, {s.probe}; targets "
                                          f"{', '.join(s.targets)}"} for s in prompts.scenarios]


def cmd_list(argv: list[str]) -> int:
    """``xstress list KIND [SET] [--json]``: print the entries on stdout."""
    parsed = parse(LIST, argv)
    if parsed.help:
        print(render_help(LIST), end="")
        return 0
    kind, rest = parsed.positionals[0], parsed.positionals[1:]
    if kind not in KINDS_LISTED or (rest and kind != "prompts") or len(rest) > 1:
        raise ConfigError(f"xstress list: cannot list {' '.join(parsed.positionals)!r}",
                          fix=f"use: xstress list {'|'.join(KINDS_LISTED)}, or xstress list "
                              f"prompts SET")
    entries = _scenarios(rest[0]) if rest else [_describe(kind, n) for n in list_names(kind)]
    if "json" in parsed.flags:
        print_json(entries)
    else:
        print(wrapped_rows([(e["name"], e["description"]) for e in entries]))
    return 0

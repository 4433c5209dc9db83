"""``xstress scaffolds list | show NAME | validate [PATH ...]``: the scaffolds in ``scaffolds/``.

Reads scaffold files through ``harness.config`` (the same validation a run applies) and prints
them on stdout; it changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from harness.cli.args import CommandSpec, parse, render_help
from harness.config import display_path, kind_dir, list_names, load_spec, load_spec_file
from harness.errors import ConfigError

__all__ = ["SCAFFOLDS", "cmd_scaffolds"]

SCAFFOLDS = CommandSpec(
    name="scaffolds",
    summary="List, show or validate scaffolds (scaffolds/<name>.yaml).",
    positionals=(("ACTION", "list | show NAME | validate [PATH ...]"),
                 ("ARGS...", "the scaffold's name (show) or files to validate (default all)")),
    examples=("xstress scaffolds list", "xstress scaffolds show verify",
              "xstress scaffolds validate scaffolds/socratic.yaml"),
)


def cmd_scaffolds(argv: list[str]) -> int:
    """Run one scaffolds action; exit 0, or a one-line error (exit 2) for a bad file."""
    parsed = parse(SCAFFOLDS, argv)
    if parsed.help:
        print(render_help(SCAFFOLDS), end="")
        return 0
    action, args = parsed.positionals[0], parsed.positionals[1:]
    if action == "list" and not args:
        from harness.cli.listing import wrapped_rows

        rows = []
        for name in list_names("scaffolds"):
            spec = load_spec("scaffolds", name)
            passes = f" passes: {', '.join(p.name for p in spec.passes)}" if spec.passes else ""
            targets = f" targets: {','.join(spec.targets)}" if spec.targets else ""
            rows.append((name, f"{spec.description.strip()}{targets}{passes}"))
        # Wrapped, never cut: a description is the only account of what a scaffold does.
        print(wrapped_rows(rows))
        return 0
    if action == "show" and len(args) == 1:
        import yaml

        spec = load_spec("scaffolds", args[0])
        print(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
              end="")
        return 0
    if action == "validate":
        paths = [Path(p) for p in args] or sorted(kind_dir("scaffolds").glob("*.yaml"))
        for path in paths:
            load_spec_file("scaffolds", path)
            print(f"ok  {display_path(path)}")
        return 0
    raise ConfigError(f"xstress scaffolds: cannot do {' '.join(parsed.positionals)!r}",
                      fix="use: scaffolds list | scaffolds show NAME | scaffolds validate [PATH]")

"""``xstress export inspect|table RUN_DIR``: a run as Inspect AI eval logs or a tidy table.

Parses the command line with the one dialect (``harness.cli.args``) and prints a summary; the
work is ``harness.export``'s. The output path and the format are settings (``out=DIR``,
``format=parquet``), like every other command's: ``--format parquet`` and ``--out DIR`` get the
parser's "this is a setting" hint, and so does the short ``-o DIR`` (checked here, since the
parser knows no short names for settings).
"""

from __future__ import annotations

from typing import Literal

from harness.cli.args import CommandSpec, Parsed, describe, parse, render_help, settings_from
from harness.cli.output import existing_run_dir, say
from harness.config import SIMULATED_BANNER
from harness.errors import ConfigError
from harness.schema import Spec

__all__ = ["EXPORT_INSPECT", "EXPORT_TABLE", "cmd_export"]

RUN_DIR = ("RUN_DIR", "a run directory, e.g. transcripts/<run_name>")


class InspectExportSettings(Spec):
    """Where Inspect logs go (``export.*``; the prefix may be left out)."""

    out: str | None = None
    """Folder for the logs (default RUN_DIR/export/inspect/)."""


class TableExportSettings(Spec):
    """The tidy table (``export.*``; the prefix may be left out)."""

    format: Literal["csv", "parquet"] = "csv"
    """csv, or parquet (needs pyarrow: the parquet extra)."""
    out: str | None = None
    """File (or folder) to write (default RUN_DIR/export/table.<format>)."""


EXPORT_INSPECT = CommandSpec(
    name="export inspect",
    summary="Write Inspect AI eval logs: one per model x scaffold, one sample per ok cell "
            "(messages, usage, every coder's levels, metadata); 'inspect view' reads them.",
    positionals=(RUN_DIR,), settings=describe(InspectExportSettings, "export"),
    section="export",
    examples=("xstress export inspect transcripts/pilot",
              "xstress export inspect transcripts/pilot out=logs/pilot",
              "inspect view --log-dir transcripts/pilot/export/inspect"),
)
EXPORT_TABLE = CommandSpec(
    name="export table",
    summary="Write the tidy table: one row per blinded cell x dimension x coder.",
    positionals=(RUN_DIR,), settings=describe(TableExportSettings, "export"),
    section="export",
    examples=("xstress export table transcripts/pilot",
              "xstress export table transcripts/pilot format=parquet out=pilot.parquet"),
)


def cmd_export(argv: list[str]) -> int:
    """``xstress export inspect|table RUN_DIR [key=value ...]``."""
    action, rest = (argv[0], argv[1:]) if argv else ("", [])
    if action not in ("inspect", "table"):
        if action in ("-h", "--help"):
            print(render_help(EXPORT_INSPECT) + "\n" + render_help(EXPORT_TABLE), end="")
            return 0
        raise ConfigError(f"xstress export: expected 'inspect' or 'table', got "
                          f"{action or 'nothing'}", fix="run 'xstress export --help'")
    spec = EXPORT_INSPECT if action == "inspect" else EXPORT_TABLE
    _refuse_short_out(spec, rest)
    parsed = parse(spec, rest)
    if parsed.help:
        print(render_help(spec), end="")
        return 0
    return _inspect(parsed) if action == "inspect" else _table(parsed)


def _refuse_short_out(spec: CommandSpec, argv: list[str]) -> None:
    for index, arg in enumerate(argv):
        if arg == "-o" or arg.startswith("-o="):
            following = argv[index + 1] if index + 1 < len(argv) else ""
            example = arg.partition("=")[2] or (
                following if following and not following.startswith("-")
                and "=" not in following else "PATH")
            raise ConfigError(f"xstress {spec.name}: -o is a setting, not a flag",
                              fix=f"write out={example} (settings are key=value)")


def _inspect(parsed: Parsed) -> int:
    from harness.export import export_inspect

    settings = settings_from(parsed.overrides, {"export": InspectExportSettings},
                             EXPORT_INSPECT.name)["export"]
    assert isinstance(settings, InspectExportSettings)
    summary = export_inspect(existing_run_dir(parsed.positionals[0]), settings.out)
    for warning in summary.warnings:
        say(f"warning: {warning}")
    if summary.simulated:
        say(f"** {SIMULATED_BANNER} **")
    samples = sum(log.samples for log in summary.logs)
    say(f"inspect logs: {len(summary.logs)} (one per model x scaffold), {samples} samples "
        f"(ok cells) -> {summary.out_dir}")
    if not summary.scored:
        say("note: the run is not blinded and scored yet, so the samples carry no scores")
    say(f"view them: inspect view --log-dir {summary.out_dir}")
    return 0


def _table(parsed: Parsed) -> int:
    from harness.export import export_table

    settings = settings_from(parsed.overrides, {"export": TableExportSettings},
                             EXPORT_TABLE.name)["export"]
    assert isinstance(settings, TableExportSettings)
    summary = export_table(existing_run_dir(parsed.positionals[0]),
                           table_format=settings.format, out=settings.out)
    for warning in summary.warnings:
        say(f"warning: {warning}")
    if summary.simulated:
        say(f"** {SIMULATED_BANNER} **")
    say(f"table: {summary.rows} rows ({summary.items} cells x {summary.dimensions} dimensions "
        f"x {summary.coders} coders) -> {summary.path}")
    return 0

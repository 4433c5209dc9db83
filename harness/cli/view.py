"""``xstress view [RUN_DIR]``: the run browser, served on 127.0.0.1 until Ctrl-C or written as
a static page (``--static``); ``--blind`` shows only what coders may see.

Argument parsing and printing only: reading the run, the page and the server are
``harness.view``'s. Nothing here imports litellm.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pydantic import Field

from harness.cli.args import CommandSpec, Flag, describe, parse, render_help, settings_from
from harness.cli.output import existing_run_dir, say
from harness.errors import ConfigError, InputError
from harness.rundir import RunDir
from harness.schema import Spec

__all__ = ["VIEW", "ViewSettings", "cmd_view"]

DEFAULT_RUNS = Path("transcripts")
"""Where ``xstress view`` looks for the newest run when none is given (``run.out_dir``'s
default)."""


class ViewSettings(Spec):
    """The run browser (``view.*``; on ``xstress view`` the prefix may be left out)."""

    port: int = Field(default=0, ge=0, le=65535)
    """Port on 127.0.0.1 to serve on; 0: a free one."""
    out: str | None = None
    """With --static: the file to write (default RUN_DIR/view.html; blinded view.blind.html)."""


VIEW = CommandSpec(
    name="view",
    summary="Browse a run: cells filtered by model, scaffold, scenario, dimension, level, "
            "status and coder, with each coder's level, rationale and highlighted evidence.",
    positionals=(("RUN_DIR...", "a run directory (default: the newest under transcripts/)"),),
    flags=(Flag("static", "write the page as one file and exit instead of serving it"),
           Flag("blind", "only what coders may see: blinded items and scores, no model, "
                         "scaffold, cell, cost or call")),
    settings=describe(ViewSettings, "view"), section="view",
    notes=("The page is self-contained (no network); its URL hash holds the filters and the "
           "open cell, e.g. view.html#model=gpt4o&dimension=D3.",),
    examples=("xstress view transcripts/pilot", "xstress view transcripts/pilot port=8765",
              "xstress view transcripts/pilot --static",
              "xstress view transcripts/pilot --blind --static out=coders.html"),
)


def _run_dir(positionals: list[str]) -> RunDir:
    if len(positionals) > 1:
        raise ConfigError(f"xstress view: one run directory, got {' '.join(positionals)}",
                          fix="run 'xstress view --help'")
    if positionals:
        return RunDir(existing_run_dir(positionals[0]))
    runs = [path for path in DEFAULT_RUNS.glob("*/")
            if any(path.glob("manifest*.json")) or (path / "blind").is_dir()]
    if not runs:
        raise InputError(f"no run directory given and none under {DEFAULT_RUNS}/",
                         fix="pass one: xstress view transcripts/<run_name>")
    return RunDir(max(runs, key=lambda path: path.stat().st_mtime))


def cmd_view(argv: list[str]) -> int:
    """``xstress view [RUN_DIR] [port=N] [out=FILE] [--static] [--blind]``."""
    parsed = parse(VIEW, argv)
    if parsed.help:
        print(render_help(VIEW), end="")
        return 0
    settings = settings_from(parsed.overrides, {"view": ViewSettings}, "view")["view"]
    assert isinstance(settings, ViewSettings)
    from harness.view import ViewServer, view_page, write_view

    run_dir = _run_dir(parsed.positionals)
    blind = "blind" in parsed.flags
    if "static" in parsed.flags:
        path = write_view(run_dir, blind=blind, out=Path(settings.out) if settings.out else None)
        say(f"run browser{' (blinded)' if blind else ''}: {path}")
        return 0
    if settings.out is not None:
        raise ConfigError("xstress view: out= is for --static",
                          fix="add --static to write a file, or leave out out= to serve")
    server = ViewServer(view_page(run_dir, blind=blind), settings.port)
    say(f"run browser{' (blinded)' if blind else ''} of {run_dir.root}: {server.url}")
    say("serving on 127.0.0.1 only; press Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        say("stopped")
    finally:
        server.close()
    return 0

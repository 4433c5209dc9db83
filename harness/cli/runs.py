"""``xstress runs`` (the runs in a folder) and ``xstress show RUN CELL`` (one conversation).

Both read what the sweep wrote (manifests, transcripts) through ``harness.rundir`` and print
it: a table or JSON on stdout for ``runs``, the conversation as the user saw it for ``show``.
They change nothing and make no call.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.cli.args import CommandSpec, Flag, parse, render_help
from harness.cli.output import JSON_FLAG, existing_run_dir, print_json, say
from harness.config import SIMULATED_BANNER
from harness.errors import InputError, XstressError
from harness.rundir import RunDir, TranscriptRecord, iter_transcripts, read_manifests

__all__ = ["RUNS", "SHOW", "RunRow", "cmd_runs", "cmd_show", "run_row"]

RUNS = CommandSpec(
    name="runs",
    summary="List the runs in a folder: name, start, cells by status, cost, protocol hash.",
    positionals=(("OUT_DIR...", "folders holding run directories (default transcripts)"),),
    flags=(JSON_FLAG,),
    examples=("xstress runs", "xstress runs /data/xstress-runs --json"),
)
SHOW = CommandSpec(
    name="show",
    summary="One cell's conversation as the user saw it, with its model, scaffold, status "
            "and cost.",
    positionals=(("RUN_DIR", "a run directory, e.g. transcripts/<run_name>"),
                 ("CELL", "a cell id (or its first characters), or N: the run's N-th cell "
                          "(1-based, in file order)")),
    flags=(Flag("calls", "also list every provider call (purpose, attempts, tokens, cost)"),),
    examples=("xstress show transcripts/pilot 1", "xstress show transcripts/pilot 3fa94c"),
)


@dataclass(frozen=True)
class RunRow:
    """One run directory, as ``xstress runs`` lists it (the JSON keys too)."""

    name: str
    path: str
    started_at: str | None
    finished: bool
    cells: int
    ok: int
    error: int
    blocked: int
    not_run: int
    cost_usd: float
    simulated: bool
    protocol_hash: str | None
    problem: str | None = None


def run_row(run_dir: Path) -> RunRow | None:
    """The row of one run directory (None: not a run directory); an unreadable manifest is a
    row saying so, never an error for the whole listing."""
    layout = RunDir(run_dir)
    if not layout.manifests():
        return None
    try:
        manifests = read_manifests(layout)
    except XstressError as exc:
        return RunRow(run_dir.name, str(run_dir), None, False, 0, 0, 0, 0, 0, 0.0, False, None,
                      problem=exc.message)
    cells = sum(m.cells for m in manifests)
    ok = sum(m.counts.ok for m in manifests)
    error = sum(m.counts.error for m in manifests)
    blocked = sum(m.counts.blocked for m in manifests)
    hashes = {m.protocol_hash for m in manifests} - {None}
    return RunRow(
        name=run_dir.name, path=str(run_dir),
        started_at=min((m.started_at for m in manifests), default=None),
        finished=all(m.finished_at for m in manifests),
        cells=cells, ok=ok, error=error, blocked=blocked, not_run=max(0, cells - ok - error
                                                                       - blocked),
        cost_usd=round(sum(m.cost_usd for m in manifests), 6),
        simulated=all(m.simulated for m in manifests),
        protocol_hash=str(hashes.pop()) if len(hashes) == 1 else None,
    )


def cmd_runs(argv: list[str]) -> int:
    """``xstress runs [OUT_DIR ...] [--json]``."""
    parsed = parse(RUNS, argv)
    if parsed.help:
        print(render_help(RUNS), end="")
        return 0
    folders = [Path(p) for p in parsed.positionals] or [Path("transcripts")]
    rows = []
    for folder in folders:
        if not folder.is_dir() and not parsed.positionals:
            continue  # no run yet in the default folder: an empty list, not an error
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder",
                             fix="pass the run.out_dir your runs were written to "
                                 "(default transcripts)")
        found = (run_row(path) for path in sorted(folder.iterdir()) if path.is_dir())
        rows += [row for row in found if row is not None]
    rows.sort(key=lambda row: (row.started_at or "", row.name))
    if "json" in parsed.flags:
        print_json([asdict(row) for row in rows])
        return 0
    if not rows:
        say(f"no runs in {', '.join(map(str, folders))} (a run directory holds a manifest.json)")
        return 0
    print(_table(rows))
    if any(row.simulated for row in rows):
        say(f"sim: {SIMULATED_BANNER}")
    return 0


def _table(rows: list[RunRow]) -> str:
    header = ("run", "started (UTC)", "cells", "ok", "error", "blocked", "not run", "cost $",
              "protocol")
    body = [(row.name + (" (sim)" if row.simulated else ""),
             (row.started_at or "?")[:19].replace("T", " ")
             + ("" if row.finished else " (running or stopped)"),
             str(row.cells), str(row.ok), str(row.error), str(row.blocked), str(row.not_run),
             f"{row.cost_usd:.4f}", (row.protocol_hash or "-")[:12])
            if row.problem is None else
            (row.name, f"unreadable: {row.problem}", *("",) * 7) for row in rows]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths,
                                                                          strict=True)).rstrip()
                     for line in (header, *body))


def cmd_show(argv: list[str]) -> int:
    """``xstress show RUN_DIR CELL [--calls]``: print one conversation on stdout."""
    parsed = parse(SHOW, argv)
    if parsed.help:
        print(render_help(SHOW), end="")
        return 0
    run_dir = RunDir(existing_run_dir(parsed.positionals[0]))
    record = _find_cell(run_dir, parsed.positionals[1])
    print(_conversation(record, calls="calls" in parsed.flags))
    return 0


def _find_cell(run_dir: RunDir, wanted: str) -> TranscriptRecord:
    by_cell: dict[str, TranscriptRecord] = {}
    for record in iter_transcripts(run_dir):
        by_cell[record.cell_id] = record  # the last record of a retried cell wins
    cells = list(by_cell.values())
    if not cells:
        raise InputError(f"{run_dir.root}: no transcripts", fix="run the sweep first: 'xstress "
                                                                "run run.name=<name>'")
    if wanted.isdigit():
        index = int(wanted)
        if not 1 <= index <= len(cells):
            raise InputError(f"{run_dir.root}: no cell number {index}",
                             fix=f"give N from 1 to {len(cells)}, or a cell id")
        return cells[index - 1]
    matches = [record for record in cells if record.cell_id.startswith(wanted.lower())]
    if len(matches) != 1:
        problem = "no cell" if not matches else f"{len(matches)} cells"
        raise InputError(f"{run_dir.root}: {problem} with an id starting {wanted!r}",
                         fix=f"give more of the id, or N from 1 to {len(cells)}; 'xstress runs "
                             f"{run_dir.root.parent}' lists the runs")
    return matches[0]


# Model text may hold terminal control sequences; shown as text, never obeyed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda match: json.dumps(match.group())[1:-1], text)


def _conversation(record: TranscriptRecord, *, calls: bool) -> str:
    cost = "unknown" if record.cost_usd is None else f"${record.cost_usd:.4f}"
    lines = [f"** {SIMULATED_BANNER} **"] if record.simulated else []
    lines += [f"cell {record.cell_id}  run {record.run_id}",
              f"model {record.model} ({record.litellm_model})  scaffold {record.scaffold}  "
              f"scenario {record.prompt_id} ({record.domain}, {record.probe})  replicate "
              f"{record.replicate}",
              f"status {record.status}  cost {cost}  tokens {record.usage.prompt_tokens} in, "
              f"{record.usage.completion_tokens} out  {record.started_at} .. "
              f"{record.finished_at}"]
    if record.error:
        lines.append(f"error: {_printable(record.error)}")
    for message in record.messages:
        lines += ["", f"--- {message.role} ---", _printable(message.content)]
    if calls:
        lines += ["", "--- provider calls ---"]
        lines += [f"{n}. {_printable(call.purpose)}: {len(call.attempts)} attempt(s), "
                  f"{call.usage.prompt_tokens} in / {call.usage.completion_tokens} out, "
                  f"model reported {call.model_reported or '?'}"
                  for n, call in enumerate(record.calls, 1)]
    return "\n".join(lines)

"""``xstress compare RUN_DIR RUN_DIR... [out=DIR] [report.*=...] [--allow-different]``.

Parses the command line, hands the runs to ``harness.compare.compare_runs`` (the protocol
check, the analysis and the files are its) and prints its summary.
"""

from __future__ import annotations

from pathlib import Path

from harness.cli.args import (
    CommandSpec,
    Flag,
    Setting,
    parse,
    render_help,
    settings_from,
)
from harness.cli.output import existing_run_dir, say
from harness.errors import ConfigError
from harness.schema import ReportSettings, Spec

__all__ = ["COMPARE", "cmd_compare"]


class _Output(Spec):
    out: str | None = None
    """Where to write the comparison (default comparisons/<runA>-vs-<runB>...)."""


_SETTINGS = (
    Setting("out=DIR", "where to write (default comparisons/<runA>-vs-<runB>...)"),
    Setting("report.baseline=NAME", "the scaffold effects are measured against, for every run "
                                    "(default: the first run's report baseline)"),
    Setting("report.coder=NAME", "whose scores, for every run: a coder name, judges-mean or "
                                 "adjudicated (default: each run's own report.coder, else the "
                                 "report's rule)"),
    Setting("report.equivalence_margin=X", "the unchanged band (+/- levels) for every run "
                                           "(default: the first run's)"),
    Setting("report.adjust=holm|bh", "the adjustment of each run's effect table (default: the "
                                     "first run's)"),
    Setting("report.seed=N", "seed of the report's resampling, for every run (default: each "
                             "run's report.seed, else its run.seed)"),
)
_REPORT_KEYS = tuple(s.key.split("=")[0] for s in _SETTINGS[1:])

COMPARE = CommandSpec(
    name="compare",
    summary="Check that the runs follow one protocol (refused otherwise), then write their "
            "profiles and scaffold effects side by side, with intervals: compare.md, "
            "compare.html, profiles.csv, effects.csv.",
    positionals=(("RUN_DIR", "the first run (the others' protocols are compared with its)"),
                 ("RUN_DIR...", "one or more further runs")),
    flags=(Flag("allow-different", "compare runs of different protocols all the same; the "
                                   "comparison lists every difference at its top"),),
    settings=_SETTINGS,
    section="report",
    notes=("Each run is analysed as its own report is, with the settings its report used "
           "(from its manifest); a setting given here applies to every run. The baseline, "
           "equivalence margin and adjustment are the first run's unless given.",),
    examples=("xstress protocol export transcripts/study out=study.protocol.yaml",
              "xstress run protocol=study.protocol.yaml models=[my-model] run.name=mine",
              "xstress compare transcripts/study transcripts/mine",
              "xstress compare transcripts/a transcripts/b coder=alice --allow-different"),
)


def cmd_compare(argv: list[str]) -> int:
    """``xstress compare RUN_DIR RUN_DIR... [out=DIR] [report.*=...] [--allow-different]``."""
    parsed = parse(COMPARE, argv)
    if parsed.help:
        print(render_help(COMPARE), end="")
        return 0
    from harness.compare import compare_runs

    for override in parsed.overrides:
        key = override.partition("=")[0]
        if key != "out" and key not in _REPORT_KEYS:
            shown = ", ".join(["out", *(k.removeprefix("report.") for k in _REPORT_KEYS)])
            raise ConfigError(f"xstress compare: unknown setting {key!r}",
                              fix=f"settings here: {shown}")
    report_keys = [o for o in parsed.overrides if not o.startswith("out=")]
    chosen = settings_from(report_keys, {"report": ReportSettings}, "compare")
    chosen.update(settings_from([o for o in parsed.overrides if o.startswith("out=")],
                                {"": _Output}, "compare"))
    settings, output = chosen["report"], chosen[""]
    assert isinstance(settings, ReportSettings) and isinstance(output, _Output)
    runs = [existing_run_dir(value) for value in parsed.positionals]
    summary = compare_runs(runs, settings=settings,
                           out_dir=Path(output.out) if output.out else None,
                           allow_different="allow-different" in parsed.flags)
    say(summary.text)
    return 0

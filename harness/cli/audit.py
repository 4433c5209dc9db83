"""``xstress audit SHEETS...`` and ``xstress audit template``: the benchmark audit (study 1).

Parses the command line, calls ``harness.audit`` and prints: a short summary on stdout, where
the files went on stderr. A sheet with problems gets one ``xstress: error:`` line per problem
(every problem of every sheet, not only the first, so a coder fixes a sheet in one pass) and
exit code 2, and nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import Field

from harness.cli.args import CommandSpec, Setting, parse, render_help, settings_from
from harness.cli.output import say
from harness.config import config_dir, load_spec
from harness.errors import ConfigError
from harness.schema import RubricSpec, Spec

__all__ = ["AUDIT", "AUDIT_TEMPLATE", "MAX_PROBLEM_LINES", "cmd_audit"]

MAX_PROBLEM_LINES = 50
"""Problem lines printed at most; a last line counts the rest."""


class AuditSettings(Spec):
    """``xstress audit``'s settings."""

    adjudicated: str | None = None
    """A sheet of adjudicated codes (same format); its codes settle the coverage matrix."""
    out: str | None = None
    """Output folder (default: audit/ next to the first sheet)."""
    rubric: str = "interactional8"
    """The rubric whose dimensions are the sheets' columns."""
    n_boot: int = Field(default=2000, ge=1)
    """Bootstrap resamples per agreement interval."""
    seed: int = 0
    """Seed of the resampling."""


class TemplateSettings(Spec):
    """``xstress audit template``'s settings."""

    benchmarks: str | None = None
    """Benchmark list (YAML; default configs/audit/benchmarks.yaml)."""
    out: str | None = None
    """Write the sheet here (.csv or .yaml; never over an existing file); default stdout."""
    coder: str = ""
    """Fill every row's coder column with this name."""
    rubric: str = "interactional8"
    """The rubric whose dimensions become the sheet's columns."""


AUDIT = CommandSpec(
    name="audit",
    summary="Audit benchmarks coded on the rubric: agreement between coders (kappa, alpha), "
            "disagreements, a coverage matrix grouped by evidence level, audit.md/html.",
    positionals=(("SHEETS...", "coded audit sheets (.csv or .yaml), one or more coders"),),
    settings=(
        Setting("adjudicated=FILE", "a sheet of adjudicated codes (same format, one row per "
                                    "benchmark); it settles the coverage matrix"),
        Setting("out=DIR", "output folder (default: audit/ next to the first sheet)"),
        Setting("rubric=NAME", "rubric whose dimensions are the sheets' columns (default "
                               "interactional8)"),
        Setting("n_boot=N", "bootstrap resamples per agreement interval (default 2000)"),
        Setting("seed=N", "seed of the resampling (default 0)"),
    ),
    notes=("Sheet columns: benchmark, source, evidence_level (model | response | interaction "
           "| deployment), coder, D1..D8 (0 not measured, 1 partially or indirectly, 2 "
           "substantively), note. Start from 'xstress audit template'. Every problem in the "
           "sheets is printed, one line each, and nothing is written (exit 2).",),
    examples=("xstress audit template out=alice.csv coder=alice",
              "xstress audit alice.csv bob.csv",
              "xstress audit alice.csv bob.csv adjudicated=consensus.csv out=audit/"),
)
AUDIT_TEMPLATE = CommandSpec(
    name="audit template",
    summary="Write an empty audit sheet: one row per benchmark of the list, with its source, "
            "and every code empty (codes are the coders' to give).",
    settings=(
        Setting("benchmarks=FILE", "benchmark list (YAML: name, source, evidence_level per "
                                   "benchmark; default configs/audit/benchmarks.yaml)"),
        Setting("out=FILE", "write the sheet here (.csv or .yaml; an existing file is never "
                            "overwritten); default: CSV on stdout"),
        Setting("coder=NAME", "fill the coder column with this name"),
        Setting("rubric=NAME", "rubric whose dimensions become columns (default "
                               "interactional8)"),
    ),
    examples=("xstress audit template out=alice.csv coder=alice",
              "xstress audit template benchmarks=my-benchmarks.yaml out=bob.yaml coder=bob"),
)


def cmd_audit(argv: list[str]) -> int:
    """``xstress audit SHEETS... [key=value ...]`` or ``xstress audit template ...``."""
    template = bool(argv) and argv[0] == "template"
    if "-o" in argv:
        # The usual spelling elsewhere; here every value is a key=value setting.
        following = argv[argv.index("-o") + 1:][:1] or ["FILE" if template else "DIR"]
        raise ConfigError(f"xstress audit{' template' if template else ''}: -o is not an "
                          "option here", fix=f"write out={following[0]}")
    if template:
        return _template(argv[1:])
    parsed = parse(AUDIT, argv)
    if parsed.help:
        print(render_help(AUDIT), end="")
        return 0
    from harness.audit import SheetProblems, run_audit

    settings = settings_from(parsed.overrides, {"": AuditSettings}, "audit")[""]
    assert isinstance(settings, AuditSettings)
    try:
        summary = run_audit(
            [Path(p) for p in parsed.positionals], rubric=_rubric(settings.rubric),
            adjudicated=None if settings.adjudicated is None else Path(settings.adjudicated),
            out_dir=None if settings.out is None else Path(settings.out),
            n_boot=settings.n_boot, seed=settings.seed)
    except SheetProblems as exc:
        for problem in exc.problems[:MAX_PROBLEM_LINES]:
            print(f"xstress: error: {problem.one_line()}", file=sys.stderr)
        if len(exc.problems) > MAX_PROBLEM_LINES:
            print(f"xstress: error: ... and {len(exc.problems) - MAX_PROBLEM_LINES} more "
                  "problems", file=sys.stderr)
        return exc.exit_code
    for count in summary.coverage.counts:
        disputed = f", {count.disputed} disputed" if count.disputed else ""
        print(f"{count.dimension}: measured substantively by {count.substantive} of "
              f"{count.n_benchmarks}{disputed}")
    for row in summary.agreement:
        if row.dimension in ("all", "evidence_level") and row.statistic != "percent_agreement":
            pair = row.coder_a if not row.coder_b else f"{row.coder_a} vs {row.coder_b}"
            value = "n/a" if row.value is None else f"{row.value:.3f}"
            interval = ("" if row.ci_low is None or row.ci_high is None
                        else f" [{row.ci_low:.3f}, {row.ci_high:.3f}]")
            what = "pooled" if row.dimension == "all" else "evidence level"
            print(f"{what} {row.statistic} ({pair}): {value}{interval}")
    apart = sum(1 for d in summary.coverage.disagreements if d.spread == 2)
    print(f"disagreements: {len(summary.coverage.disagreements)} ({apart} two levels apart)")
    whose = "adjudicated" if summary.adjudicated else "not adjudicated"
    say(f"codes of {', '.join(summary.coders)} ({whose})")
    say(f"audit: {summary.report_html}")
    return 0


def _template(argv: list[str]) -> int:
    parsed = parse(AUDIT_TEMPLATE, argv)
    if parsed.help:
        print(render_help(AUDIT_TEMPLATE), end="")
        return 0
    from harness.audit import read_benchmark_list, template_text, write_new_file

    settings = settings_from(parsed.overrides, {"": TemplateSettings}, "audit template")[""]
    assert isinstance(settings, TemplateSettings)
    listing_path = (Path(settings.benchmarks) if settings.benchmarks is not None
                    else config_dir() / "audit" / "benchmarks.yaml")
    listing = read_benchmark_list(listing_path)
    dimensions = [dimension.id for dimension in _rubric(settings.rubric).dimensions]
    if settings.out is None:
        print(template_text(listing, dimensions, coder=settings.coder), end="")
        return 0
    out = Path(settings.out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise ConfigError(f"out={settings.out}: a sheet is .csv or .yaml",
                          fix="e.g. out=alice.csv")
    text = template_text(listing, dimensions, coder=settings.coder,
                         fmt="csv" if suffix == ".csv" else "yaml")
    write_new_file(out, text)
    say(f"template: {out} ({len(listing.benchmarks)} benchmarks, every code empty)")
    return 0


def _rubric(name: str) -> RubricSpec:
    rubric = load_spec("rubric", name)
    assert isinstance(rubric, RubricSpec)
    return rubric

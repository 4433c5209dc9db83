"""The single-stage commands on an existing run directory: blind, score, code, agree, report.

Each parses its command line with the one dialect (``harness.cli.args``), builds the stage's
settings, calls the stage through ``harness.pipeline`` (where each stage is wired) or its
package, and prints a summary. ``score`` composes the whole run config (judges, rubric, the
``run.*`` client settings) with Hydra, like ``run``; the others need only their own section.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import Field

from harness.cli.args import (
    CommandSpec,
    Flag,
    Parsed,
    Setting,
    describe,
    parse,
    render_help,
    settings_from,
)
from harness.cli.output import JSON_FLAG, existing_run_dir, print_json, say
from harness.cli.run import resolve_overrides
from harness.config import load_spec
from harness.rundir import RunDir, run_lock
from harness.schema import (
    BlindSettings,
    Name,
    ReportSettings,
    RubricSpec,
    RunSettings,
    Spec,
    Workers,
)

__all__ = ["AGREE", "BLIND", "CODE_EXPORT", "CODE_IMPORT", "REPORT", "SCORE", "cmd_agree",
           "cmd_blind", "cmd_code", "cmd_report", "cmd_score"]

DEFAULT_RUBRIC = "interactional8"
RUN_DIR = ("RUN_DIR", "a run directory, e.g. transcripts/<run_name>")


class _Selection(Spec):
    rubric: str | None = None
    """Rubric to code on or name dimensions by (configs/rubric/<name>.yaml)."""


class AgreeSettings(Spec):
    """Agreement's intervals (``agree.*``; on ``xstress agree`` the prefix may be left out)."""

    n_boot: int = Field(default=2000, ge=1)
    """Bootstrap resamples over items per 95% interval."""
    seed: int = 0
    """Seed of the resampling."""


class _Workers(Spec):
    """``run.workers`` where a command takes no other ``run.*`` setting."""

    workers: Workers = None


class CodingSettings(Spec):
    """A human coding packet (``code.*``; on ``xstress code`` the prefix may be left out)."""

    coder: Name
    """The coder's name: it names the packet and scores/<coder>.jsonl."""
    format: Literal["csv", "html"] = "html"
    """A self-contained HTML form, or a CSV for a spreadsheet."""
    out: str | None = Field(default=None)
    """Where to write the packet: a file or folder (default RUN_DIR/coding/)."""


RUBRIC = Setting("rubric=NAME", "rubric (configs/rubric/<name>.yaml; default interactional8)")

BLIND = CommandSpec(
    name="blind", summary="Write blinded coding items, a sealed key and a leak report.",
    positionals=(RUN_DIR,),
    flags=(Flag("force", "re-blind an already blinded run (changes the key under existing "
                         "scores!)"),
           Flag("allow-leaks", "write the items even if identity tells remain after "
                               "scrubbing")),
    settings=(*describe(BlindSettings, "blind"),
              *(s for s in describe(RunSettings, "run") if s.key == "run.workers")),
    section="blind",
    examples=("xstress blind transcripts/pilot", "xstress blind transcripts/pilot seed=7"),
)
SCORE = CommandSpec(
    name="score", summary="Code every blinded item with each judge; resumable.",
    positionals=(RUN_DIR,),
    flags=(Flag("retry-unscored", "code again the items a judge failed on (unscored)"),),
    settings=(Setting("judges=[a,b]", "coders (configs/judges/<name>.yaml; default "
                                      "[heuristic])"),
              Setting("rubric=NAME", "rubric (configs/rubric/<name>.yaml)"),
              Setting("provider.api_base=URL", "endpoint for every LLM judge"),
              Setting("pipeline.max_unscored_share=X", "exit 1 when a judge left more than "
                                                       "this share unscored (default 0.2)"),
              *(s for s in describe(RunSettings, "run") if s.key in {
                  "run.concurrency", "run.workers", "run.timeout_s", "run.max_attempts",
                  "run.max_retry_wait_s", "run.retry_base_s"})),
    hydra=True,
    notes=("LLM judges are called like target models: same client, retries, limits and "
           "cache machinery, with the run.* settings above.",),
    examples=("xstress score transcripts/pilot judges=[heuristic,gpt4o_judge]",
              "xstress score transcripts/pilot judges=[gpt4o_judge] run.timeout_s=60"),
)
CODE_EXPORT = CommandSpec(
    name="code export", summary="Write a human coding packet (HTML form or CSV).",
    positionals=(RUN_DIR,), settings=(*describe(CodingSettings, "code"), RUBRIC),
    section="code",
    examples=("xstress code export transcripts/pilot coder=alice",
              "xstress code export transcripts/pilot coder=bob format=csv"),
)
CODE_IMPORT = CommandSpec(
    name="code import", summary="Import a coder's CSV into scores/<coder>.jsonl, all or nothing.",
    positionals=(RUN_DIR, ("FILE", "the coder's CSV (from the form's Save CSV, or the packet)")),
    flags=(Flag("replace", "replace this coder's existing scores"),
           Flag("allow-partial", "accept a packet that does not code every item")),
    settings=(Setting("code.coder", "the coder's name (scores/<coder>.jsonl)"), RUBRIC),
    section="code",
    examples=("xstress code import transcripts/pilot alice-codes.csv coder=alice",),
)
AGREE = CommandSpec(
    name="agree", summary="Agreement between coders: kappa and alpha with 95% bootstrap "
                          "intervals, prevalence warnings, confusion matrices.",
    positionals=(RUN_DIR,), settings=(*describe(AgreeSettings, "agree"), RUBRIC),
    section="agree",
    examples=("xstress agree transcripts/pilot",),
)
REPORT = CommandSpec(
    name="report", summary="Profiles, scaffold effects, model-dependence; report.md and .html.",
    positionals=(RUN_DIR,), flags=(JSON_FLAG,),
    settings=(*describe(ReportSettings, "report"),
              Setting("rubric=NAME", "rubric naming the dimensions (default: the run's own)")),
    section="report",
    examples=("xstress report transcripts/pilot",
              "xstress report transcripts/pilot coder=alice baseline=generic"),
)


def _help_or(spec: CommandSpec, argv: list[str]) -> Parsed | None:
    parsed = parse(spec, argv)
    if parsed.help:
        print(render_help(spec), end="")
        return None
    return parsed


def _rubric(name: str | None, default: str | None = DEFAULT_RUBRIC) -> RubricSpec | None:
    chosen = name or default
    return None if chosen is None else load_spec("rubric", chosen)


def cmd_blind(argv: list[str]) -> int:
    """``xstress blind RUN_DIR [blind.seed=N] [blind.tells=FILE] [--force] [--allow-leaks]``."""
    if (parsed := _help_or(BLIND, argv)) is None:
        return 0
    from harness.pipeline import blind_stage, blinding_is_current

    chosen = settings_from(parsed.overrides, {"blind": BlindSettings, "run": _Workers},
                           "blind")
    settings, processes = chosen["blind"], chosen["run"]
    assert isinstance(settings, BlindSettings) and isinstance(processes, _Workers)
    run_dir = RunDir(existing_run_dir(parsed.positionals[0]))
    if "force" not in parsed.flags and blinding_is_current(run_dir):
        # A rerun resumes like every stage: nothing new since the blinding, nothing to do.
        say(f"blind: already done, no transcript since -> {run_dir.blind_dir} (to re-blind "
            f"anyway, with a new key: 'xstress blind {run_dir.root} --force')")
        return 0
    workers = None if processes.workers is None else RunSettings(
        workers=processes.workers).worker_count()
    blind_stage(run_dir, settings, force="force" in parsed.flags,
                allow_leaks="allow-leaks" in parsed.flags, announce=say,
                progress=sys.stderr.isatty(), workers=workers)
    return 0


def cmd_score(argv: list[str]) -> int:
    """``xstress score RUN_DIR [judges=[...]] [rubric=NAME] [run.*=...] [--retry-unscored]``."""
    if (parsed := _help_or(SCORE, argv)) is None:
        return 0
    from harness.pipeline import score_stage

    run_dir = RunDir(existing_run_dir(parsed.positionals[0]))
    config = resolve_overrides(parsed.overrides)
    summary = score_stage(run_dir, config, retry_unscored="retry-unscored" in parsed.flags,
                          announce=say, progress=sys.stderr.isatty())
    return 1 if summary.over_share(config.pipeline.max_unscored_share) else 0


def cmd_code(argv: list[str]) -> int:
    """``xstress code export|import ...``: human coding packets."""
    from harness.score import export_packet, import_codes

    action, rest = (argv[0], argv[1:]) if argv else ("", [])
    if action not in ("export", "import"):
        if action in ("-h", "--help"):
            print(render_help(CODE_EXPORT) + "\n" + render_help(CODE_IMPORT), end="")
            return 0
        raise _usage("code", f"expected 'export' or 'import', got {action or 'nothing'}")
    spec = CODE_EXPORT if action == "export" else CODE_IMPORT
    if (parsed := _help_or(spec, rest)) is None:
        return 0
    if not any(o.startswith("code.coder=") for o in parsed.overrides):
        raise _usage(spec.name, "the coder is missing", fix="add coder=NAME")
    chosen = settings_from(parsed.overrides, {"code": CodingSettings, "": _Selection},
                           spec.name)
    coding, selection = chosen["code"], chosen[""]
    assert isinstance(coding, CodingSettings) and isinstance(selection, _Selection)
    rubric = _rubric(selection.rubric)
    assert rubric is not None
    run_dir = existing_run_dir(parsed.positionals[0])
    if action == "export":
        path = export_packet(run_dir, coding.coder, coding.format, rubric,
                             Path(coding.out) if coding.out else None)
        say(f"coding packet for {coding.coder}: {path}")
        return 0
    with run_lock(run_dir, command="code import"):
        summary = import_codes(run_dir, existing_run_dir(parsed.positionals[1], "coder's CSV"),
                               coding.coder, rubric, replace="replace" in parsed.flags,
                               allow_partial="allow-partial" in parsed.flags)
    say(f"imported {summary.n_scored} scored and {summary.n_null} null codes on "
        f"{summary.n_items} items for {summary.coder} -> {summary.path}")
    return 0


def cmd_agree(argv: list[str]) -> int:
    """``xstress agree RUN_DIR [rubric=NAME]``: agreement per dimension and coder pair."""
    from harness.stats import format_agreement_table
    if (parsed := _help_or(AGREE, argv)) is None:
        return 0
    from harness.pipeline import agree_stage

    chosen = settings_from(parsed.overrides, {"agree": AgreeSettings, "": _Selection}, "agree")
    settings, selection = chosen["agree"], chosen[""]
    assert isinstance(settings, AgreeSettings) and isinstance(selection, _Selection)
    run_dir = RunDir(existing_run_dir(parsed.positionals[0]))
    result, path = agree_stage(run_dir, _rubric(selection.rubric), n_boot=settings.n_boot,
                               seed=settings.seed)
    print(format_agreement_table(result))
    say(f"agreement -> {path}")
    return 0


def cmd_report(argv: list[str]) -> int:
    """``xstress report RUN_DIR [report.*=...] [rubric=NAME]``."""
    if (parsed := _help_or(REPORT, argv)) is None:
        return 0
    from harness.pipeline import report_stage

    chosen = settings_from(parsed.overrides, {"report": ReportSettings, "": _Selection},
                           "report")
    settings, selection = chosen["report"], chosen[""]
    assert isinstance(settings, ReportSettings) and isinstance(selection, _Selection)
    run_dir = RunDir(existing_run_dir(parsed.positionals[0]))
    settings, seed = _run_report_settings(run_dir, settings)
    summary = report_stage(run_dir, settings, default_seed=seed,
                           rubric=_rubric(selection.rubric, default=None), announce=say)
    say(f"report: {run_dir.report_file('report.html')}")
    if "json" in parsed.flags:
        print_json({"report_md": str(summary.report_md), "report_html": str(summary.report_html),
                    "csvs": [str(p) for p in summary.csvs],
                    "images": [str(p) for p in summary.images], "coder": summary.coder,
                    "simulated": summary.simulated, "heuristic_only": summary.heuristic_only,
                    "warnings": list(summary.warnings), "summary": summary.text.splitlines()})
    return 0


def _run_report_settings(run_dir: RunDir, given: ReportSettings) -> tuple[ReportSettings, int]:
    """The report settings the run was made with (its manifest), overridden by those given on
    the command line, and the run's seed: ``xstress report RUN`` rebuilds the pipeline's report
    (e.g. the offline preset's ``report.coder``) unless told otherwise."""
    from harness.rundir import read_manifests

    manifests = read_manifests(run_dir)
    if not manifests:
        return given, 0
    recorded = manifests[0].config
    inherited = recorded.report.model_dump()
    coder = inherited.get("coder")
    if coder and "coder" not in given.model_fields_set and coder not in (
            "judges-mean", "adjudicated") and not run_dir.scores(coder).is_file():
        say(f"report: the run chose report.coder={coder}, which has no scores here; choosing "
            f"by rule (set coder=NAME to choose)")
        inherited["coder"] = None
    merged = {**inherited, **given.model_dump(exclude_unset=True)}
    return ReportSettings.model_validate(merged), recorded.run.seed


def _usage(command: str, problem: str, fix: str | None = None) -> Exception:
    from harness.errors import ConfigError

    return ConfigError(f"xstress {command}: {problem}",
                       fix=fix or f"run 'xstress {command} --help'")

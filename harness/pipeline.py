"""The pipeline: the stages in order on one resolved config, typed, with no command line.

``run_pipeline(config)`` runs ``config.pipeline.stages`` (sweep -> blind -> score -> report) on
the run directory the config names and returns the exit code of the CLI contract. Each stage
is also a function here (``blind_stage``, ``score_stage``, ``agree_stage``, ``report_stage``) that
the CLI calls for a single stage on an existing run directory, so a stage is wired (its client,
its settings, its defaults) in one place whichever way it is started. What the user is told
goes through ``announce`` as finished lines; this module never parses arguments and never
prints. Each stage's package is imported when the stage runs: a sweep-only run never loads
the statistics stack.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.config import SIMULATED_BANNER, RunConfig
from harness.errors import ConfigError, InputError, OutputError
from harness.providers import PROVIDERS, check_keys, make_client
from harness.rundir import ResponseCache, RunDir, read_manifests, run_lock
from harness.schema import (
    DEFAULT_STAGES,
    BlindSettings,
    ModelSpec,
    ProviderSettings,
    ReportSettings,
    RubricSpec,
)
from harness.sweep import (
    SweepResult,
    check_replay_source,
    check_resume,
    run_dir_for,
    run_sweep_stage,
)

if TYPE_CHECKING:
    from harness.blind import BlindSummary
    from harness.report import ReportSummary
    from harness.score import ScoringSummary
    from harness.stats import AgreementResult

__all__ = [
    "Announce",
    "agree_stage",
    "blind_stage",
    "blinding_is_current",
    "report_stage",
    "run_pipeline",
    "score_stage",
]

log = logging.getLogger("xstress.pipeline")

Announce = Callable[[str], None]
"""Takes one finished line for the user."""

VIEW_MAX_CELLS = 5000
"""Above this many cells the report stage does not write the run browser's page (it holds every
cell's conversation and calls); ``xstress view`` still serves or writes it on request."""


def run_pipeline(config: RunConfig, *, announce: Announce = log.info,
                 progress: bool = False) -> int:
    """Run the configured stages on ``config``'s run directory; return the exit code.

    Exit codes: 0 every cell ``ok`` or ``blocked``; 1 some cell ended ``error``, or a judge
    left more than ``pipeline.max_unscored_share`` of its codes unscored (the report is still
    written); 3 stopped at the budget gate; 130 interrupted. Later stages run after a sweep
    that ended 0 or 1.

    Raises:
        XstressError: a configuration or input problem (the CLI prints it, exit code 2).
    """
    stages = list(config.pipeline.stages)
    unknown = [stage for stage in stages if stage not in DEFAULT_STAGES]
    if unknown:
        raise ConfigError(f"pipeline.stages: unknown stage(s) {unknown}",
                          fix=f"use some of {list(DEFAULT_STAGES)}")
    run_dir = RunDir(run_dir_for(config))
    _check_replay_source(config)
    if "sweep" in stages:
        # Before the judges' keys are checked: a wrong run directory is the first thing to fix.
        check_resume(config, run_dir.root)
        if config.replay.from_ and PROVIDERS[config.provider.mode].uses_recordings:
            check_replay_source(config, Path(config.replay.from_))
    if "score" in stages:
        # A missing judge key should stop the run before the sweep spends anything.
        check_keys(_llm_judge_models(config), _judge_provider(config))
    if "sweep" in stages:
        check_keys([*config.models, *config.user_models()], config.provider)
    _make_run_dir(run_dir)
    with run_lock(run_dir.root, command="run", shard=config.run.shard,
                  num_shards=config.run.num_shards):
        return _run_stages(config, stages, run_dir, announce, progress)


def _make_run_dir(run_dir: RunDir) -> None:
    try:
        run_dir.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{run_dir.root}: cannot write the run directory "
                          f"({exc.strerror or exc})",
                          fix="choose a writable run.out_dir or fix the folder's "
                              "permissions") from None


def _run_stages(config: RunConfig, stages: Sequence[str], run_dir: RunDir, announce: Announce,
                progress: bool) -> int:
    """The stages in order, under the run directory's lock."""
    if config.simulated and "sweep" not in stages:
        # (a sweep says so itself, once it has checked the run directory)
        announce(f"running {SIMULATED_BANNER}; outputs are labelled simulated")
    code = 0
    later = [stage for stage in stages if stage != "sweep"]
    if "sweep" in stages:
        result = run_sweep_stage(config, run_dir.root, announce=announce)
        for line in sweep_summary(result, config):
            announce(line)
        code = result.exit_code
        if code not in (0, 1):
            return code
        if later and not result.counts.get("ok"):
            # Blinding nothing would leave an empty blinding behind; say what to do instead.
            announce(f"{', '.join(later)}: nothing to do, no cell ended ok; fix the cause and "
                     f"rerun the same command (with run.name={run_dir.name}) to retry them")
            return code
    if later and config.run.num_shards > 1:
        root = run_dir.root
        announce(f"shard {config.run.shard} of {config.run.num_shards} done; once every shard "
                 f"has finished, run: xstress blind {root} && xstress score {root} && "
                 f"xstress report {root}")
        return code
    for stage in later:
        code = max(code, _run_later_stage(stage, run_dir, config, announce, progress))
    if "report" in later:
        announce(f"report: {run_dir.report_file('report.html')}")
    return code


def _run_later_stage(stage: str, run_dir: RunDir, config: RunConfig, announce: Announce,
                     progress: bool) -> int:
    """Run one stage after the sweep; its exit code (1: scoring left too much unscored)."""
    if stage == "blind":
        from harness.blind import has_blinding

        if not has_blinding(run_dir):
            blind_stage(run_dir, config.blind, default_seed=config.run.seed, announce=announce,
                        progress=progress, workers=_blind_workers(config))
        elif _sweep_changed_since_blinding(run_dir) and not run_dir.score_files():
            # Nothing is coded yet, so no score hangs on the old key: blind the new transcripts.
            announce(f"blind: new transcripts since {run_dir.blind_dir} was written and no "
                     f"scores yet; blinding again")
            blind_stage(run_dir, config.blind, default_seed=config.run.seed, force=True,
                        announce=announce, progress=progress, workers=_blind_workers(config))
        elif _sweep_changed_since_blinding(run_dir):
            announce(f"blind: {run_dir.blind_dir} predates new transcripts; kept as is (the key "
                     f"must not change under existing scores); run 'xstress blind "
                     f"{run_dir.root} --force' to re-blind")
        else:
            announce(f"blind: already done -> {run_dir.blind_dir}")
    elif stage == "score":
        summary = score_stage(run_dir, config, announce=announce, progress=progress)
        return 1 if summary.over_share(config.pipeline.max_unscored_share) else 0
    elif stage == "report":
        if len(run_dir.score_files()) >= 2:
            seed = config.report.seed if config.report.seed is not None else config.run.seed
            agree_stage(run_dir, config.rubric, n_boot=config.report.n_boot, seed=seed)
        report_stage(run_dir, config.report, default_seed=config.run.seed,
                     rubric=config.rubric, announce=announce)
    return 0


def _blind_workers(config: RunConfig) -> int | None:
    """``run.workers`` for the blinding; unset: its own choice (processes for large runs)."""
    return None if config.run.workers is None else config.run.worker_count()


def _llm_judge_models(config: RunConfig) -> list[ModelSpec]:
    return [judge.as_model_spec() for judge in config.judges if judge.kind == "llm"]


def _judge_provider(config: RunConfig) -> ProviderSettings:
    """LLM judges always call live (a replayed or mocked sweep still needs real coding),
    through ``provider.api_base`` when one is set."""
    return ProviderSettings(mode="live", api_base=config.provider.api_base)


def _check_replay_source(config: RunConfig) -> None:
    if not PROVIDERS[config.provider.mode].uses_recordings:
        return
    source = config.replay.from_
    if not source or not RunDir(Path(source)).cache_dir.is_dir():
        raise InputError(
            f"replay.from={source}: no recordings (cache/) found there",
            fix="point replay.from at a previous run directory, e.g. transcripts/<run>",
        )


def blinding_is_current(run_dir: RunDir) -> bool:
    """True when the run holds a blinding and no transcript was written after it: blinding
    again would change nothing but the key (``xstress blind`` then has nothing to do)."""
    from harness.blind import has_blinding

    return has_blinding(run_dir) and not _sweep_changed_since_blinding(run_dir)


def _sweep_changed_since_blinding(run_dir: RunDir) -> bool:
    newest = max((path.stat().st_mtime for path in run_dir.transcript_files()), default=0.0)
    return newest > run_dir.items.stat().st_mtime


def sweep_summary(result: SweepResult, config: RunConfig) -> list[str]:
    """The lines that tell the user how a sweep ended and what to do next."""
    counts = result.counts
    label = f" [{SIMULATED_BANNER}]" if config.simulated else ""
    lines = [f"sweep: {result.total_cells} cells: {counts.get('ok', 0)} ok, "
             f"{counts.get('error', 0)} error, {counts.get('blocked', 0)} blocked "
             f"({result.skipped} already done); {result.calls_made} provider calls; "
             f"cost ${result.spent_usd:.4f}{label} -> {result.run_dir}"]
    if counts.get("error"):
        causes = "; ".join(f"{n} x {cause}" for cause, n in result.error_causes.most_common(3))
        retry = ("a replay serves the same recordings again: replay the recording's own "
                 "configuration, or set replay.strict=false to call live for what is missing"
                 if PROVIDERS[config.provider.mode].uses_recordings else
                 f"rerun with run.name={result.run_dir.name} to retry them")
        lines.append(f"{counts['error']} cell(s) ended error: {causes} ({retry})")
    if result.truncated_replies:
        lines.append(_truncation_line(result, config))
    if result.stopped_by == "budget":
        lines.append(f"stopped at the budget gate (run.max_cost_usd={config.run.max_cost_usd}): "
                     f"{result.not_started} cell(s) not started; raise the budget and rerun "
                     f"with run.name={result.run_dir.name} to resume")
    if result.stopped_by == "interrupt":
        lines.append(f"interrupted: {result.not_started} cell(s) not finished; rerun with "
                     f"run.name={result.run_dir.name} to resume")
    return lines


def _truncation_line(result: SweepResult, config: RunConfig) -> str:
    """The summary line counting replies cut off at ``max_tokens``."""
    limits = ", ".join(sorted({f"{m.name} {m.params.max_tokens}" for m in config.models
                               if m.params.max_tokens is not None}))
    replies = "reply" if result.truncated_replies == 1 else "replies"
    return (f"{result.truncated_replies} {replies} in {result.truncated_cells} cell(s) cut "
            f"off at the length limit (finish_reason: length; max_tokens: {limits or 'unset'}); "
            f"coders see them marked; raise params.max_tokens in the model file to avoid it")


# =========================================================================== single stages


def blind_stage(run_dir: RunDir, settings: BlindSettings, *, default_seed: int | None = None,
                force: bool = False, allow_leaks: bool = False, announce: Announce = log.info,
                progress: bool = False, workers: int | None = None) -> BlindSummary:
    """Blind a run (``blind.seed`` falls back to ``default_seed``); announce one line.
    ``workers``: processes (``run.workers``); None: the blinding's own choice by size."""
    with run_lock(run_dir.root, command="blind"):
        return _blind_locked(run_dir, settings, default_seed=default_seed, force=force,
                             allow_leaks=allow_leaks, announce=announce, progress=progress,
                             workers=workers)


def _blind_locked(run_dir: RunDir, settings: BlindSettings, *, default_seed: int | None,
                  force: bool, allow_leaks: bool, announce: Announce,
                  progress: bool, workers: int | None) -> BlindSummary:
    from harness.blind import blind_run

    seed = settings.seed if settings.seed is not None else default_seed
    tells = Path(settings.tells) if settings.tells else None
    if tells is not None and not tells.is_file():
        raise InputError(f"blind.tells={settings.tells}: tells file not found",
                         fix="pass an existing file, or leave blind.tells unset for "
                             "configs/blinding/tells.yaml")
    summary = blind_run(run_dir.root, seed=seed, force=force, allow_leaks=allow_leaks,
                        tells_path=tells, progress=progress, workers=workers)
    ident = summary.identifiability
    measured = "identifiability not measured"
    if ident is not None:
        measured = (f"model identifiable from blinded text: accuracy {ident.accuracy:.2f} "
                    f"[95% CI {ident.ci_low:.2f}-{ident.ci_high:.2f}] vs chance "
                    f"{ident.chance:.2f}")
    announce(f"blind: {summary.n_items} items, {summary.n_excluded} excluded (error/blocked); "
             f"{measured} -> {run_dir.blind_dir}")
    return summary


def score_stage(run_dir: RunDir, config: RunConfig, *, retry_unscored: bool = False,
                announce: Announce = log.info, progress: bool = False,
                cite_calibration: bool = True) -> ScoringSummary:
    """Code a run's blinded items with ``config.judges`` on ``config.rubric``.

    LLM judges are called like target models: through the same provider client, with
    ``run.timeout_s``, ``run.max_attempts``, ``run.max_retry_wait_s``, ``run.retry_base_s``,
    ``run.concurrency`` items in flight and each judge's own ``limits``; always live (with
    ``provider.api_base`` when set), into the run's ``cache/responses.judges.jsonl``. With
    ``run.workers`` above 1 each LLM judge's items are split between that many processes
    (each with its share of ``run.concurrency`` and of the limits, and its own cache file);
    this process still writes every score.

    A judge whose file holds more than ``pipeline.max_unscored_share`` unscored codes gets one
    line with its reasons by count (``ScoringSummary.over_share``: the callers exit 1).

    Then, with ``cite_calibration``, each judge's calibration (``calibration/<judge>.json``)
    is copied into the run when it measured the judge config and rubric the scores were made
    with, and one line per judge gives its accuracy or says it is not calibrated.
    ``xstress calibrate`` codes its own items with this stage and cites nothing.
    """
    from harness.score import JudgeWorkers, score_run

    if not run_dir.items.exists():
        raise InputError(f"{run_dir.root}: no blind/items.jsonl",
                         fix=f"run 'xstress blind {run_dir.root}' first")
    if config.rubric is None:
        raise ConfigError("rubric: no rubric selected", fix="e.g. rubric=interactional8")
    rubric: RubricSpec = config.rubric
    judge_models = _llm_judge_models(config)
    families = {model.family for manifest in read_manifests(run_dir)
                for model in manifest.config.models}

    async def run() -> ScoringSummary:
        cache = client = None
        provider = _judge_provider(config)
        if judge_models:
            check_keys(judge_models, provider)
            cache = ResponseCache(run_dir, suffix=".judges")
            client = make_client(provider, config.run, cache=cache)
        workers = JudgeWorkers(config.run.worker_count(), provider, config.run)
        try:
            return await score_run(run_dir.root, list(config.judges), rubric, client=client,
                                   target_families=families, progress=progress,
                                   concurrency=config.run.concurrency,
                                   retry_unscored=retry_unscored, workers=workers)
        finally:
            if cache is not None:
                cache.close()

    with warnings.catch_warnings(record=True) as caught, \
            run_lock(run_dir.root, command="score"):
        warnings.simplefilter("always")
        summary = asyncio.run(run())
    for warning in caught:
        announce(f"warning: {warning.message}")
    for line in summary.lines():
        announce(f"score: {line}")
    for line in summary.over_share(config.pipeline.max_unscored_share):
        announce(f"score: {line} (exit code 1; see each record's reason and attempts in "
                 f"scores/, or code them again with --retry-unscored)")
    if cite_calibration:
        from harness.calibrate import cite_calibrations

        for line in cite_calibrations(run_dir, [judge.name for judge in config.judges]):
            announce(f"score: {line}")
    return summary


def agree_stage(run_dir: RunDir, rubric: RubricSpec | None, *, n_boot: int = 2000,
                seed: int = 0) -> tuple[AgreementResult, Path]:
    """Agreement between every pair of coders, with ``n_boot`` bootstrap resamples over items
    per interval (seeded); written under ``report/``."""
    from harness.stats import compute_agreement, write_agreement

    result = compute_agreement(run_dir.root, rubric, n_boot=n_boot, seed=seed)
    return result, write_agreement(result, run_dir.root)


def report_stage(run_dir: RunDir, settings: ReportSettings, *, default_seed: int = 0,
                 rubric: RubricSpec | None = None, announce: Announce = log.info
                 ) -> ReportSummary:
    """Build the report (``report.seed`` falls back to ``default_seed``) and, beside it, the
    run browser as a static page (``view.html``: the report's numbers link to it); announce
    what was written."""
    from harness.report import build_report
    from harness.view import write_view

    seed = settings.seed if settings.seed is not None else default_seed
    summary = build_report(run_dir.root, baseline=settings.baseline, coder=settings.coder,
                           n_perm=settings.n_perm, seed=seed,
                           rubric=rubric, equivalence_margin=settings.equivalence_margin,
                           adjust=settings.adjust)
    if summary.text:
        announce(summary.text)
    cells = sum(manifest.cells for manifest in read_manifests(run_dir))
    if cells > VIEW_MAX_CELLS:
        announce(f"Run browser not written ({cells} cells; the page holds every one): "
                 f"xstress view {run_dir.root} serves it, --static writes it")
        return summary
    try:
        announce(f"Run browser: {write_view(run_dir)} (or serve it: xstress view {run_dir.root})")
    except InputError as exc:
        # A run with scores but no transcripts (scores imported alone) still gets its report.
        announce(f"Run browser not written: {exc.one_line()}")
    return summary

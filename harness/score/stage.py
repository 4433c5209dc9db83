"""The scoring stage: blinded items in, one ``scores/<coder>.jsonl`` per judge out.

What this module owns: the order of the stage (check the judges, read the items, store the
rubric, then each judge in turn), which (item, dimension) pairs each judge still has to code,
and running the judge over them (the heuristic coder in ``heuristic.py``, in this process;
LLM judges through ``workers.py``, several items in flight, in this process or shared with
worker processes that send their codes back, so this module writes every record; an LLM
judge's calls per item, one per dimension or one for all, are ``judge.py``'s, how they are
made, structured or not and within which input limit, ``judge_setup.py``'s, and the progress
bar counts items either way). Its files are
``store.py``'s: items are read through the guarded reader (``blind/key.jsonl`` is never
opened, so no coder can see which model or scaffold produced an item), scores are appended
durably.

Resuming: on a rerun a torn last line is cut off with a warning, and every
(blind_id, dimension) already on file for that coder is skipped, whatever its status; an item
with only some dimensions on file is coded again for the missing ones only. ``unscored``
records stay unless ``retry_unscored`` is set, which rewrites the file without them
(atomically) and codes those pairs again. It does not read transcripts or the manifest: the
caller passes the target families. Each judge's summary counts its file's unscored codes by
kind of reason; ``ScoringSummary.over_share`` names the judges past a share (exit 1).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from harness.errors import InputError
from harness.rundir import BlindedItem, RunDir, ScoreRecord, reason_kind
from harness.schema import JudgeSpec, RubricSpec
from harness.score.heuristic import code_item
from harness.score.judge import CONTEXT_WINDOW, ProviderClientLike
from harness.score.judges import check_judges, coder_hash
from harness.score.rubric import DimensionCode, rubric_hash
from harness.score.store import (
    ScoreAppender,
    ScoreKey,
    prepare_scores_dir,
    read_blinded_items,
    read_scores,
    replace_scores,
    store_rubric,
)
from harness.score.workers import JudgeWorkers, Work, run_llm_judge

__all__ = [
    "CoderSummary",
    "ScoringSummary",
    "score_run",
]

log = logging.getLogger("xstress.scoring")

@dataclass(frozen=True)
class CoderSummary:
    """What one coder did in one scoring run."""

    coder: str
    kind: str
    """``llm_judge`` or ``heuristic``."""
    items_total: int
    items_coded: int
    """Items (re)coded in this run."""
    items_skipped: int
    """Items with every dimension already on file."""
    pairs_skipped: int
    """(blind_id, dimension) pairs already on file, not redone."""
    scored: int
    null: int
    unscored: int
    """Records written in this run, by status."""
    path: Path
    structured: int = 0
    """LLM judges: records written from replies under ``response_format``."""
    parsed: int = 0
    """LLM judges: records written from free-text replies."""
    reasked: int = 0
    """LLM judges: records whose reply needed re-asks (``asks`` over 1)."""
    context_window: int = 0
    """LLM judges: records left unscored because their prompt could not fit (no call)."""
    on_file: int = 0
    """Records in the coder's file after this run (this run's and earlier runs')."""
    unscored_reasons: tuple[tuple[str, int], ...] = ()
    """Of those, the unscored ones by kind of reason (``reason_kind``), most common first."""

    @property
    def unscored_on_file(self) -> int:
        """Unscored records in the coder's file after this run."""
        return sum(n for _, n in self.unscored_reasons)


@dataclass(frozen=True)
class ScoringSummary:
    """The result of ``score_run``: one ``CoderSummary`` per judge, in the order given."""

    run_dir: Path
    items_total: int
    coders: tuple[CoderSummary, ...]

    def lines(self) -> list[str]:
        """One human-readable line per coder, for the CLI."""
        return [
            f"{c.coder} ({c.kind}): {c.items_coded} of {c.items_total} items coded "
            f"({c.items_skipped} already done); written {c.scored} scored, {c.null} null, "
            f"{c.unscored} unscored -> {c.path}" + (
                f"\n  {c.structured} from structured replies, {c.parsed} from parsed text, "
                f"{c.reasked} after re-asks; {c.context_window} not sent (context_window)"
                if c.kind == "llm_judge" else "")
            for c in self.coders
        ]

    def over_share(self, max_share: float) -> list[str]:
        """One line per coder that left more than ``max_share`` of the codes on file
        unscored, with its reasons by count; empty when none did (the stage then exits 0)."""
        lines = []
        for c in self.coders:
            if c.on_file and c.unscored_on_file / c.on_file > max_share:
                reasons = "; ".join(f"{n} x {kind}" for kind, n in c.unscored_reasons[:3])
                more = len(c.unscored_reasons) - 3
                lines.append(
                    f"{c.coder} left {c.unscored_on_file} of {c.on_file} codes unscored "
                    f"({c.unscored_on_file / c.on_file:.0%}, more than "
                    f"pipeline.max_unscored_share={max_share:g}): {reasons}"
                    + (f"; and {more} other reason(s)" if more > 0 else ""))
        return lines


@dataclass(frozen=True)
class _Coder:
    """Who a judge's records are attributed to, and what they were coded with."""

    name: str
    kind: Literal["heuristic", "llm_judge"]
    rubric_hash: str
    coder_hash: str

    def records(self, item: BlindedItem, codes: list[DimensionCode], wanted: list[str]
                ) -> list[ScoreRecord]:
        """The records of one item's codes, for the ``wanted`` dimensions only."""
        scored_at = datetime.now(UTC).isoformat(timespec="seconds")
        dimensions = set(wanted)
        return [
            code.to_record(blind_id=item.blind_id, coder=self.name, coder_kind=self.kind,
                           rubric_hash=self.rubric_hash, coder_hash=self.coder_hash,
                           scored_at=scored_at)
            for code in codes
            if code.dimension in dimensions
        ]


async def score_run(
    run_dir: Path,
    judges: list[JudgeSpec],
    rubric: RubricSpec,
    *,
    client: ProviderClientLike | None,
    target_families: set[str],
    progress: bool = False,
    concurrency: int = 16,
    retry_unscored: bool = False,
    workers: JudgeWorkers | None = None,
) -> ScoringSummary:
    """Score every blinded item of a run with each judge, resumably.

    Args:
        run_dir: the run directory (holds ``blind/items.jsonl``).
        judges: judge specs; each writes ``scores/<judge.name>.jsonl``.
        rubric: the rubric to code on; stored as ``scores/rubrics/<rubric_hash>.json``.
        client: provider client for LLM judges (``harness.providers.ProviderClient``);
            may be None when every judge is a heuristic.
        target_families: vendor families of the run's target models (from the manifest),
            for the judge-family check.
        progress: show a progress bar per judge.
        concurrency: items in flight at once per LLM judge (shared between its workers).
        retry_unscored: code ``unscored`` pairs again (their old records are removed).
        workers: worker processes for LLM judges (``workers.py``); None or 1: this one.

    Returns:
        Per-judge counts.

    Raises:
        ConfigError: duplicate judge names, an LLM judge without a client, an invalid
            ``prompt_template``, or a refused judge-family match.
        InputError: ``blind/items.jsonl`` is missing or malformed, or a score file is; or a
            judge codes ``targeted`` dimensions and an item carries no targets (blinded
            before items carried them, or without the run's manifest).
        OutputError: ``scores/`` cannot be written.
    """
    check_judges(judges, client, target_families)
    layout = RunDir(run_dir)
    items = read_blinded_items(layout)
    _check_targets(layout, judges, items)
    prepare_scores_dir(layout)
    store_rubric(layout, rubric)
    summaries = []
    for judge in judges:
        summaries.append(
            await _score_with(
                layout,
                judge,
                rubric,
                items,
                client=client,
                progress=progress,
                concurrency=concurrency,
                retry_unscored=retry_unscored,
                workers=workers,
            )
        )
    return ScoringSummary(run_dir=run_dir, items_total=len(items), coders=tuple(summaries))


async def _score_with(
    run_dir: RunDir,
    judge: JudgeSpec,
    rubric: RubricSpec,
    items: list[BlindedItem],
    *,
    client: ProviderClientLike | None,
    progress: bool,
    concurrency: int,
    retry_unscored: bool,
    workers: JudgeWorkers | None,
) -> CoderSummary:
    coder = _Coder(name=judge.name, kind="heuristic" if judge.kind == "heuristic" else "llm_judge",
                   rubric_hash=rubric_hash(rubric), coder_hash=coder_hash(judge))
    existing = read_scores(run_dir, judge.name)
    if retry_unscored and any(r.status == "unscored" for r in existing.values()):
        existing = {key: r for key, r in existing.items() if r.status != "unscored"}
        replace_scores(run_dir, judge.name, existing.values())
    path = run_dir.scores(judge.name)
    _warn_if_mixed(path, existing.values(), coder)
    work, pairs_skipped = _missing(items, rubric, existing)
    appender = ScoreAppender(path)
    tally: Counter[str] = Counter()
    on_file = dict(existing)

    async def write(item: BlindedItem, codes: list[DimensionCode], missing: list[str]) -> None:
        records = coder.records(item, codes, missing)
        await appender.append(records)
        tally.update(tag for record in records for tag in _how_coded(record))
        on_file.update(((r.blind_id, r.dimension), r) for r in records)

    try:
        with _Progress(progress, f"scoring with {judge.name}", len(work)) as bar:
            if judge.kind == "heuristic":
                for item, missing in work:
                    await write(item, code_item(item, rubric), missing)
                    bar.advance()
            else:
                assert client is not None  # checked in score_run
                await run_llm_judge(judge, rubric, work, run_dir=run_dir.root, client=client,
                                    write=write, advance=bar.advance,
                                    concurrency=concurrency, workers=workers)
    finally:
        appender.close()
    return CoderSummary(
        coder=judge.name,
        kind=coder.kind,
        items_total=len(items),
        items_coded=len(work),
        items_skipped=len(items) - len(work),
        pairs_skipped=pairs_skipped,
        scored=appender.counts["scored"],
        null=appender.counts["null"],
        unscored=appender.counts["unscored"],
        path=path,
        structured=tally["structured"],
        parsed=tally["parsed"],
        reasked=tally["reasked"],
        context_window=tally["context_window"],
        on_file=len(on_file),
        unscored_reasons=tuple(Counter(reason_kind(r.reason) for r in on_file.values()
                                       if r.status == "unscored").most_common()),
    )


def _how_coded(record: ScoreRecord) -> list[str]:
    """How an LLM judge's record came about, for the summary: its path, whether it took
    re-asks, whether its prompt could not fit."""
    tags: list[str] = [record.path] if record.path is not None else []
    if record.asks is not None and record.asks > 1:
        tags.append("reasked")
    if record.status == "unscored" and (record.reason or "").startswith(CONTEXT_WINDOW):
        tags.append("context_window")
    return tags


def _check_targets(layout: RunDir, judges: list[JudgeSpec], items: list[BlindedItem]) -> None:
    """A ``targeted`` judge needs every item's targets: without them it would code nothing."""
    targeted = [j.name for j in judges if j.kind == "llm" and j.dimensions == "targeted"]
    untargeted = [item.blind_id for item in items if not item.targets]
    if targeted and untargeted:
        raise InputError(
            f"{layout.items}: {len(untargeted)} item(s) carry no targets (e.g. "
            f"{untargeted[0]}), and judge {targeted[0]} codes only targeted dimensions",
            fix=f"blind the run again (`xstress blind {layout.root} --force`, with its "
                "manifest) or set the judge's dimensions: all",
        )


def _missing(items: list[BlindedItem], rubric: RubricSpec,
             existing: dict[ScoreKey, ScoreRecord]) -> tuple[Work, int]:
    """The items with dimensions not yet on file, and how many pairs are on file already."""
    dimension_ids = [d.id for d in rubric.dimensions]
    work: Work = []
    pairs_skipped = 0
    for item in items:
        missing = [d for d in dimension_ids if (item.blind_id, d) not in existing]
        pairs_skipped += len(dimension_ids) - len(missing)
        if missing:
            work.append((item, missing))
    return work, pairs_skipped


def _warn_if_mixed(path: Path, records: Iterable[ScoreRecord], coder: _Coder) -> None:
    rubric_hashes = {r.rubric_hash for r in records if r.rubric_hash}
    coder_hashes = {r.coder_hash for r in records if r.coder_hash}
    stale = []
    if rubric_hashes - {coder.rubric_hash}:
        stale.append("rubric")
    if coder_hashes - {coder.coder_hash}:
        stale.append("judge config")
    if stale:
        log.warning(
            "%s: existing scores were made with a different %s; they are kept and skipped. "
            "Delete the file to score everything again with the current one.",
            path,
            " and ".join(stale),
        )


class _Progress:
    """A transient rich progress bar when asked for; otherwise nothing."""

    def __init__(self, enabled: bool, description: str, total: int) -> None:
        self._bar = None
        self._task = None
        if enabled and total:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task(description, total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)

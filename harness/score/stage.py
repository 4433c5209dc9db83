"""The scoring stage: blinded items in, one ``scores/<coder>.jsonl`` per judge out.

What this module owns: reading ``blind/items.jsonl`` (and nothing else of the blinding stage:
``blind/key.jsonl`` is never opened, so no coder can see which model or scaffold produced an
item), running each judge over the items (the heuristic coder in ``heuristic.py``, LLM judges
in ``judging.py``), the judge-family check against the run's target models, and the durable,
resumable score files.

Score files are append-only. All dimensions of an item are queued together and awaited until
durable (``store.DurableAppender``: written, flushed and fsynced), so a crash loses at most the
items in flight. On a rerun a torn last line is cut off with a warning, and every
(blind_id, dimension) already on file for that coder is skipped, whatever its status; an item
with only some dimensions on file is coded again for the missing ones only. ``unscored``
records stay unless ``retry_unscored`` is set, which rewrites the file without them
(atomically) and codes those pairs again. It does not read transcripts or the manifest: the
caller passes the target families.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel

from harness.errors import ConfigError, InputError, OutputError
from harness.rundir import BlindedItem, DurableAppender, ScoreRecord, read_jsonl
from harness.schema import JudgeSpec, RubricSpec, content_hash
from harness.score.heuristic import HEURISTIC_VERSION, code_item
from harness.score.judge import ProviderClientLike, check_prompt_template, judge_item
from harness.score.rubric import DimensionCode, rubric_hash

__all__ = [
    "CoderSummary",
    "FamilyMatchWarning",
    "ScoringSummary",
    "check_judge_families",
    "coder_hash",
    "read_blinded_items",
    "read_scores",
    "score_run",
    "scores_path",
]

log = logging.getLogger("xstress.scoring")
RecordT = TypeVar("RecordT", bound=BaseModel)

ITEMS_FILE = Path("blind") / "items.jsonl"
SCORES_DIR = "scores"


_Writer = Callable[[BlindedItem, list[DimensionCode], list[str]], Awaitable[None]]
"""Writes one item's codes (only the listed dimensions) durably."""


class FamilyMatchWarning(UserWarning):
    """An LLM judge belongs to the same vendor family as a model it is scoring."""


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
            f"{c.unscored} unscored -> {c.path}"
            for c in self.coders
        ]


def scores_path(run_dir: Path, coder: str) -> Path:
    """``<run_dir>/scores/<coder>.jsonl``."""
    return run_dir / SCORES_DIR / f"{coder}.jsonl"


def coder_hash(judge: JudgeSpec) -> str:
    """Content hash of a judge config; for the heuristic it includes the rule-set version."""
    if judge.kind == "heuristic":
        return content_hash(
            {"judge": judge.model_dump(mode="json"), "heuristic_version": HEURISTIC_VERSION}
        )
    return content_hash(judge)


def check_judge_families(judges: Iterable[JudgeSpec], target_families: set[str]) -> None:
    """Warn (``FamilyMatchWarning``) or refuse when an LLM judge shares a target's family.

    Raises:
        ConfigError: a judge with ``on_family_match: refuse`` shares a target's family.
    """
    targets = {family.casefold() for family in target_families}
    for judge in judges:
        if judge.kind != "llm" or judge.family is None:
            continue
        if judge.family.casefold() not in targets:
            continue
        message = (
            f"judge {judge.name!r} is of family {judge.family!r}, like a model it scores: "
            "judges may favour their own family"
        )
        if judge.on_family_match == "refuse":
            raise ConfigError(
                f"configs/judges/{judge.name}.yaml: {message}",
                fix="choose a judge from another family, or set on_family_match: warn",
            )
        warnings.warn(
            f"{message} (set on_family_match: refuse to stop instead)",
            FamilyMatchWarning,
            stacklevel=2,
        )


# --------------------------------------------------------------------------- reading


def _read(run_dir: Path, relative: Path, model: type[RecordT], fix: str
          ) -> Iterator[tuple[int, RecordT]]:
    """The one way scoring reads a file: only ``blind/items.jsonl`` and its own score files
    (through ``rundir.read_jsonl``: a torn last line is skipped with a warning)."""
    allowed = relative == ITEMS_FILE or (
        relative.parent == Path(SCORES_DIR) and relative.suffix == ".jsonl"
    )
    if not allowed:
        # A bug, not a user error: the blinding key must stay out of reach of every coder.
        raise PermissionError(f"scoring may not read {relative}")
    return read_jsonl(run_dir / relative, model, fix=fix)


def read_blinded_items(run_dir: Path) -> list[BlindedItem]:
    """The blinded items of a run, in file order.

    Raises:
        InputError: the file is missing, a line is not a blinded item, or a blind_id repeats.
    """
    path = run_dir / ITEMS_FILE
    if not Path(run_dir).is_dir():
        raise InputError(f"{run_dir}: no such run directory", fix="pass a run directory")
    if not path.is_file():
        raise InputError(f"{path}: no blinded items", fix=f"run `xstress blind {run_dir}` first")
    items: list[BlindedItem] = []
    seen: set[str] = set()
    fix = f"rerun `xstress blind {run_dir}`"
    for number, item in _read(run_dir, ITEMS_FILE, BlindedItem, fix):
        if item.blind_id in seen:
            raise InputError(
                f"{path}: blind_id {item.blind_id!r} appears twice (line {number})", fix=fix
            )
        seen.add(item.blind_id)
        items.append(item)
    if not items:
        raise InputError(f"{path}: no items", fix=fix)
    return items


def read_scores(path: Path) -> list[ScoreRecord]:
    """The records of one score file; a torn last line is skipped with a warning, and when a
    (blind_id, dimension) pair appears more than once the last record wins.

    Raises:
        InputError: a complete line is not a score record.
    """
    if not path.is_file():
        return []
    return list(_load_scores(read_jsonl(path, ScoreRecord, fix=_SCORES_FIX)).values())


_SCORES_FIX = "restore the file, or delete it to score that coder again"


def _load_scores(
    records: Iterable[tuple[int, ScoreRecord]],
) -> dict[tuple[str, str], ScoreRecord]:
    return {(record.blind_id, record.dimension): record for _, record in records}


# --------------------------------------------------------------------------- the stage


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
) -> ScoringSummary:
    """Score every blinded item of a run with each judge, resumably.

    Args:
        run_dir: the run directory (holds ``blind/items.jsonl``).
        judges: judge specs; each writes ``scores/<judge.name>.jsonl``.
        rubric: the rubric to code on.
        client: provider client for LLM judges (``harness.providers.ProviderClient``);
            may be None when every judge is a heuristic.
        target_families: vendor families of the run's target models (from the manifest),
            for the judge-family check.
        progress: show a progress bar per judge.
        concurrency: items in flight at once per LLM judge.
        retry_unscored: code ``unscored`` pairs again (their old records are removed).

    Returns:
        Per-judge counts.

    Raises:
        ConfigError: duplicate judge names, an LLM judge without a client, an invalid
            ``prompt_template``, or a refused judge-family match.
        InputError: ``blind/items.jsonl`` is missing or malformed, or a score file is.
        OutputError: ``scores/`` cannot be written.
    """
    names = [judge.name for judge in judges]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"judges: {', '.join(duplicates)} selected twice")
    for judge in judges:
        if judge.kind == "llm":
            if client is None:
                raise ConfigError(
                    f"configs/judges/{judge.name}.yaml: an llm judge needs a provider client",
                    fix="use judges=[heuristic] offline, or run with a provider configured",
                )
            if judge.prompt_template is not None:
                check_prompt_template(judge.prompt_template, judge_name=judge.name)
    check_judge_families(judges, target_families)

    items = read_blinded_items(run_dir)
    try:
        (run_dir / SCORES_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{run_dir / SCORES_DIR}: cannot create the scores folder ({exc.strerror or exc})",
            fix="check the run directory's permissions",
        ) from None
    summaries = []
    for judge in judges:
        summaries.append(
            await _score_with(
                run_dir,
                judge,
                rubric,
                items,
                client=client,
                progress=progress,
                concurrency=concurrency,
                retry_unscored=retry_unscored,
            )
        )
    return ScoringSummary(run_dir=run_dir, items_total=len(items), coders=tuple(summaries))


async def _score_with(
    run_dir: Path,
    judge: JudgeSpec,
    rubric: RubricSpec,
    items: list[BlindedItem],
    *,
    client: ProviderClientLike | None,
    progress: bool,
    concurrency: int,
    retry_unscored: bool,
) -> CoderSummary:
    path = scores_path(run_dir, judge.name)
    relative = Path(SCORES_DIR) / path.name
    kind: Literal["heuristic", "llm_judge"] = (
        "heuristic" if judge.kind == "heuristic" else "llm_judge"
    )
    the_rubric_hash = rubric_hash(rubric)
    the_coder_hash = coder_hash(judge)
    existing = (_load_scores(_read(run_dir, relative, ScoreRecord, _SCORES_FIX))
                if path.is_file() else {})
    if retry_unscored and any(r.status == "unscored" for r in existing.values()):
        existing = {key: r for key, r in existing.items() if r.status != "unscored"}
        _rewrite(path, existing.values())
    _warn_if_mixed(path, existing.values(), the_rubric_hash, the_coder_hash)

    dimension_ids = [d.id for d in rubric.dimensions]
    work: list[tuple[BlindedItem, list[str]]] = []
    pairs_skipped = 0
    for item in items:
        missing = [d for d in dimension_ids if (item.blind_id, d) not in existing]
        pairs_skipped += len(dimension_ids) - len(missing)
        if missing:
            work.append((item, missing))

    counts: Counter[str] = Counter()
    try:
        appender = DurableAppender(path)
    except OSError as exc:
        raise OutputError(
            f"{path}: cannot open for writing ({exc.strerror or exc})",
            fix="check the run directory's permissions",
        ) from None

    async def write(item: BlindedItem, codes: list[DimensionCode], missing: list[str]) -> None:
        scored_at = datetime.now(UTC).isoformat(timespec="seconds")
        wanted = set(missing)
        records = [
            code.to_record(
                blind_id=item.blind_id,
                coder=judge.name,
                coder_kind=kind,
                rubric_hash=the_rubric_hash,
                coder_hash=the_coder_hash,
                scored_at=scored_at,
            )
            for code in codes
            if code.dimension in wanted
        ]
        # Queue the item's lines together before awaiting, so they share one fsync.
        futures = [appender.append(r.model_dump_json(by_alias=True)) for r in records]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        counts.update(r.status for r in records)

    try:
        with _Progress(progress, f"scoring with {judge.name}", len(work)) as bar:
            if judge.kind == "heuristic":
                for item, missing in work:
                    await write(item, code_item(item, rubric), missing)
                    bar.advance()
            else:
                assert client is not None  # checked in score_run
                await _run_llm_judge(judge, rubric, work, client, write, bar, concurrency)
    finally:
        appender.close()
    return CoderSummary(
        coder=judge.name,
        kind=kind,
        items_total=len(items),
        items_coded=len(work),
        items_skipped=len(items) - len(work),
        pairs_skipped=pairs_skipped,
        scored=counts["scored"],
        null=counts["null"],
        unscored=counts["unscored"],
        path=path,
    )


async def _run_llm_judge(
    judge: JudgeSpec,
    rubric: RubricSpec,
    work: list[tuple[BlindedItem, list[str]]],
    client: ProviderClientLike,
    write: _Writer,
    bar: _Progress,
    concurrency: int,
) -> None:
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(item: BlindedItem, missing: list[str]) -> None:
        async with semaphore:
            codes = await judge_item(item, judge, rubric, client)
            await write(item, codes, missing)
            bar.advance()

    try:
        async with asyncio.TaskGroup() as group:
            for item, missing in work:
                group.create_task(one(item, missing))
    except BaseExceptionGroup as failures:
        # A judge failure is data (unscored); anything raised here is a user error (e.g. a
        # missing key, a replay miss) or a bug. Surface the first one as itself so the CLI
        # prints it; items already written stay on disk for the next run.
        raise _first_leaf(failures) from None


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _rewrite(path: Path, records: Iterable[ScoreRecord]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.model_dump_json(by_alias=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _warn_if_mixed(
    path: Path, records: Iterable[ScoreRecord], the_rubric_hash: str, the_coder_hash: str
) -> None:
    rubric_hashes = {r.rubric_hash for r in records if r.rubric_hash}
    coder_hashes = {r.coder_hash for r in records if r.coder_hash}
    stale = []
    if rubric_hashes - {the_rubric_hash}:
        stale.append("rubric")
    if coder_hashes - {the_coder_hash}:
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

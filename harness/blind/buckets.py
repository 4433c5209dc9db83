"""The blind stage's buckets: bounded-memory shuffling, and blinding one bucket at a time.

This module owns the streaming middle of the ``blind`` stage: it streams a run's transcript
records into bucket files chosen by a keyed hash of the cell id (so a retried cell's records
meet in one bucket, where the last one wins), gathering the run's own names on the way; then
it blinds one bucket alone (dedupe, shuffle, scrub, scan, write its items, each with its
scenario's targets and reference notes, and key lines) and merges the buckets' results in
order. Memory is bounded by the bucket size, not the run. It does not choose the bucket size
or the number of workers (``stage.py``), start worker processes (``workers.py``), write the
final files or the leak report (``stage.py``, ``leak_report.py``), or run the identifiability
audit (``leak_audit.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.blind.leak_audit import AuditReservoir
from harness.blind.references import NO_REFERENCE, ScenarioReference
from harness.blind.scrubber import Scrubber, Tell
from harness.blind.terms import RunTerms
from harness.blind.truncation import mark_truncated
from harness.rundir import (
    BlindedItem,
    ExcludedCell,
    KeyEntry,
    Message,
    RemainingTell,
    TranscriptRecord,
    read_jsonl,
)

__all__ = [
    "MAX_REPORTED_TELLS",
    "BlindTally",
    "BucketResult",
    "Outcome",
    "Partition",
    "ProgressBar",
    "blind_bucket",
    "open_private",
    "partition_transcripts",
]

MAX_REPORTED_TELLS = 100
PROGRESS_EVERY = 1000
"""Records read between two updates of the progress bar."""


class ProgressBar:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)

    def __enter__(self) -> ProgressBar:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def task(self, description: str, total: float | None) -> Callable[[float], None]:
        """Show a task; return the function that advances it (a no-op when disabled)."""
        if self._bar is None:
            return lambda _n: None
        task_id = self._bar.add_task(description, total=total)
        bar = self._bar
        return lambda n: bar.advance(task_id, n)


@dataclass
class Partition:
    """The bucket files a run's records were streamed into, and what the streaming saw."""

    buckets: list[Path]
    n_bytes: int = 0
    n_records: int = 0
    warnings: list[str] = field(default_factory=list)


def partition_transcripts(
    sources: list[Path],
    work: Path,
    terms: RunTerms,
    key: bytes,
    progress: ProgressBar,
    *,
    bucket_bytes: int,
    max_buckets: int,
) -> Partition:
    """Stream records into bucket files by keyed hash of cell_id; gather the run's names.

    There are enough buckets for about ``bucket_bytes`` of transcripts each, at most
    ``max_buckets``. Records are read with the run directory's one policy (``read_jsonl``):
    a torn last line is skipped with a warning (in ``Partition.warnings``), any other
    unreadable line is an ``InputError``.

    Raises:
        InputError: a transcript line other than a torn last one is unreadable.
    """
    total = sum(path.stat().st_size for path in sources)
    count = max(1, min(max_buckets, -(-total // bucket_bytes)))
    result = Partition([work / f"bucket-{i:04d}.jsonl" for i in range(count)], total)
    handles = [path.open("w", encoding="utf-8") for path in result.buckets]
    # read_jsonl hands out records, not bytes: the bar counts records, with no known total.
    advance = progress.task("reading transcripts", None)
    try:
        for source in sources:
            records = read_jsonl(source, TranscriptRecord, warnings=result.warnings,
                                 fix="repair or delete that line (only a crash's last line "
                                     "may be torn)")
            for _, record in records:
                terms.add_record(record)
                digest = hashlib.blake2b(record.cell_id.encode(), key=key, digest_size=8).digest()
                handles[int.from_bytes(digest, "big") % count].write(
                    json.dumps(_bucket_row(result.n_records, record), ensure_ascii=False) + "\n"
                )
                result.n_records += 1
                if result.n_records % PROGRESS_EVERY == 0:
                    advance(PROGRESS_EVERY)
        advance(result.n_records % PROGRESS_EVERY)
    finally:
        for handle in handles:
            handle.close()
    return result


def _bucket_row(sequence: int, record: TranscriptRecord) -> dict[str, Any]:
    """What blinding needs of a record, in short keys (bucket files are read back once).

    ``s`` is the record's position in the run: of a cell's records the last one wins.
    """
    return {
        "s": sequence,
        "c": record.cell_id,
        "st": record.status,
        "e": record.error,
        "m": record.model,
        "sc": record.scaffold,
        "p": record.prompt_id,
        "r": record.replicate,
        "d": record.domain,
        "msg": [[m.role, m.content] for m in record.messages] if record.status == "ok" else [],
        "tr": record.truncated_messages,
    }


@dataclass
class BlindTally:
    """What blinding counted and listed: per bucket, or merged over all buckets."""

    counts: Counter[str] = field(default_factory=Counter)
    unlisted: Counter[str] = field(default_factory=Counter)
    """Names on no list that self-identifications gave, with how many texts gave each."""
    n_cells: int = 0
    n_items: int = 0
    n_duplicates: int = 0
    n_tells: int = 0
    user_replacements: int = 0
    dropped_system: int = 0
    excluded: list[ExcludedCell] = field(default_factory=list)
    tells: list[RemainingTell] = field(default_factory=list)


@dataclass
class BucketResult(BlindTally):
    """What blinding one bucket produced (returned from a worker process)."""

    items_path: Path = field(kw_only=True)
    key_path: Path = field(kw_only=True)
    sample: list[tuple[str, str, str]] = field(default_factory=list)
    """(reply text, model, scaffold) of a Bernoulli sample of the items, for the audit."""


def open_private(path: Path) -> Any:
    """Open a new file for writing with mode 0600 from the start (never world-readable)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8")


def blind_bucket(
    bucket: Path, seed: str | None, sample_rate: float, scrubber: Scrubber,
    references: dict[str, ScenarioReference],
) -> BucketResult:
    """Dedupe, shuffle, scrub and scan one bucket into its own items and key part files.

    Each item gets its scenario's targets and reference notes from ``references`` (none when
    the scenario is not there); the notes are scanned for tells, not scrubbed.
    """
    scrubber.counts = Counter()
    scrubber.unlisted = Counter()
    result = BucketResult(
        items_path=bucket.with_suffix(".items"), key_path=bucket.with_suffix(".key")
    )
    # A per-bucket seed keeps the outcome independent of how buckets meet workers.
    rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
    latest: dict[str, dict[str, Any]] = {}
    with bucket.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            previous = latest.get(row["c"])
            if previous is not None:
                result.n_duplicates += 1
            if previous is None or row["s"] > previous["s"]:
                latest[row["c"]] = row
    rows = sorted(latest.values(), key=lambda row: int(row["s"]))
    notes = _NoteScan(references, scrubber)
    del latest
    rng.shuffle(rows)
    result.items_path.unlink(missing_ok=True)
    result.key_path.unlink(missing_ok=True)
    with (
        result.items_path.open("w", encoding="utf-8") as items,
        open_private(result.key_path) as key,
    ):
        for row in rows:
            result.n_cells += 1
            if row["st"] != "ok":
                result.excluded.append(
                    ExcludedCell(cell_id=row["c"], status=row["st"], error=row["e"])
                )
                continue
            replies = _write_item(row, scrubber, notes, result, items, key)
            if rng.random() < sample_rate:
                result.sample.append(("\n\n".join(replies), row["m"], row["sc"]))
    result.counts = scrubber.counts
    result.unlisted = scrubber.unlisted
    return result


class _NoteScan:
    """Each scenario's reference, with the tells its notes hold (scanned once per bucket)."""

    def __init__(self, references: dict[str, ScenarioReference], scrubber: Scrubber) -> None:
        self._references = references
        self._scrubber = scrubber
        self._tells: dict[str, list[Tell]] = {}

    def get(self, scenario_id: str) -> tuple[ScenarioReference, list[Tell]]:
        """The scenario's reference and the tells in its notes."""
        reference = self._references.get(scenario_id, NO_REFERENCE)
        if scenario_id not in self._tells:
            self._tells[scenario_id] = self._scrubber.scan(reference.notes)
        return reference, self._tells[scenario_id]


def _write_item(
    row: dict[str, Any], scrubber: Scrubber, notes: _NoteScan, result: BucketResult,
    items: Any, key: Any
) -> list[str]:
    """Write one item and its key line; return the scrubbed replies (for the audit)."""
    blind_id = secrets.token_hex(10)
    messages: list[Message] = []
    replies: list[str] = []
    found: list[tuple[str, Tell]] = []
    truncated = set(row.get("tr", ()))
    quiet = not scrubber.has_wrappers and scrubber.quiet(
        "\n".join(content for role, content in row["msg"] if role != "system")
    )
    for index, (role, content) in enumerate(row["msg"]):
        if role == "system":
            result.dropped_system += 1
            continue
        tells: list[Tell] = []
        if quiet:
            text, replaced = content, 0
        else:
            text, replaced, tells = scrubber.clean(content, role=role)
        if role == "user":
            result.user_replacements += replaced
        else:
            replies.append(text)
            if index in truncated:
                text = mark_truncated(text)
        messages.append(Message(role=role, content=text))
        found.extend((f"messages[{len(messages) - 1}] ({role}, turn {index})", t) for t in tells)
    for name, value in (("scenario_id", row["p"]), ("domain", row["d"])):
        found.extend((name, t) for t in scrubber.scan(value))
    reference, note_tells = notes.get(row["p"])
    found.extend(("reference_notes", t) for t in note_tells)
    item = BlindedItem(blind_id=blind_id, scenario_id=row["p"], domain=row["d"],
                       messages=messages, targets=list(reference.targets),
                       reference_notes=reference.notes)
    items.write(item.model_dump_json(by_alias=True) + "\n")
    entry = KeyEntry(
        blind_id=blind_id,
        cell_id=row["c"],
        model=row["m"],
        scaffold=row["sc"],
        prompt_id=row["p"],
        replicate=row["r"],
    )
    key.write(entry.model_dump_json() + "\n")
    result.n_items += 1
    result.n_tells += len(found)
    for where, tell in found[: max(0, MAX_REPORTED_TELLS - len(result.tells))]:
        result.tells.append(
            RemainingTell(
                cell_id=row["c"],
                blind_id=blind_id,
                field=where,
                category=tell.category,
                match=tell.match,
                context=tell.context,
            )
        )
    return replies


@dataclass
class Outcome(BlindTally):
    """All buckets' results merged, plus the audit sample."""

    def merge(self, part: BucketResult, items: Any, key: Any, reservoir: AuditReservoir) -> None:
        """Append ``part``'s items and key lines, add its counts, sample its replies."""
        for path, target in ((part.items_path, items), (part.key_path, key)):
            with path.open(encoding="utf-8") as handle:
                shutil.copyfileobj(handle, target)
            path.unlink()
        self.counts.update(part.counts)
        self.unlisted.update(part.unlisted)
        self.n_cells += part.n_cells
        self.n_items += part.n_items
        self.n_duplicates += part.n_duplicates
        self.n_tells += part.n_tells
        self.user_replacements += part.user_replacements
        self.dropped_system += part.dropped_system
        self.excluded.extend(part.excluded)
        self.tells.extend(part.tells[: max(0, MAX_REPORTED_TELLS - len(self.tells))])
        for text, model, scaffold in part.sample:
            reservoir.add(text, {"model": model, "scaffold": scaffold})

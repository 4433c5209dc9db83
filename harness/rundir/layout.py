"""Where everything of a run lives: ``RunDir`` names every path of a run directory, once.

A run directory is the contract between the stages: the sweep writes transcripts, the cache
and the manifest; blinding writes items, the key and the leak report; scoring and human coding
write score files and the rubrics they used; agreement and the report write under ``report/``.
No stage spells a file name of another: each asks ``RunDir``. This module knows paths only; it
reads and writes nothing (``files.py`` does) and does not know the records' shapes
(``records/``).

::

    <run>/
      manifest.json                 manifest.shard-K-of-N.json with shards
      transcripts.jsonl             transcripts.shard-K-of-N.jsonl with shards
      cache/responses.jsonl         responses.shard-K-of-N.jsonl, responses.judges.jsonl
      blind/items.jsonl  key.jsonl  leak_report.json  (leak_report.rejected.json)
      scores/<coder>.jsonl          scores/rubrics/<rubric_hash>.json
      scores/calibration/<coder>.json  the coder's calibration figures, when they apply
      coding/<coder>.html|csv       human coding packets
      report/                       report.md, report.html, *.csv, *.png, agreement files
      export/                       inspect/*.json (Inspect eval logs), table.csv|parquet
      view.html  view.blind.html    the run browser as static pages
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunDir", "shard_suffix"]


def shard_suffix(shard: int, num_shards: int) -> str:
    """``""`` for an unsharded run, else ``.shard-K-of-N``."""
    return "" if num_shards == 1 else f".shard-{shard}-of-{num_shards}"


@dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (the folder need not exist yet)."""

    root: Path
    """The run directory, ``<run.out_dir>/<run.name>``."""

    @property
    def name(self) -> str:
        """The run's name (the folder's name); also its ``run_id``."""
        return self.root.name

    # ----------------------------------------------------------------------- sweep

    def manifest(self, shard: int = 0, num_shards: int = 1) -> Path:
        """The manifest one shard writes."""
        return self.root / f"manifest{shard_suffix(shard, num_shards)}.json"

    def manifests(self) -> list[Path]:
        """Every shard's manifest, sorted."""
        return sorted(self.root.glob("manifest*.json"))

    def transcripts(self, shard: int = 0, num_shards: int = 1) -> Path:
        """The transcript file one shard appends to."""
        return self.root / f"transcripts{shard_suffix(shard, num_shards)}.jsonl"

    def transcript_files(self) -> list[Path]:
        """Every shard's transcript file, sorted (readers take the union)."""
        return sorted(self.root.glob("transcripts*.jsonl"))

    @property
    def cache_dir(self) -> Path:
        """The write-ahead cache of provider replies."""
        return self.root / "cache"

    def cache(self, suffix: str = "") -> Path:
        """One writer's cache file (a shard suffix, or ``.judges`` for judge calls)."""
        return self.cache_dir / f"responses{suffix}.jsonl"

    def cache_files(self) -> list[Path]:
        """Every cache file of the run, sorted."""
        return sorted(self.cache_dir.glob("responses*.jsonl")) if self.cache_dir.is_dir() else []

    # ----------------------------------------------------------------------- blind

    @property
    def blind_dir(self) -> Path:
        """Blinding's folder."""
        return self.root / "blind"

    @property
    def items(self) -> Path:
        """What coders see."""
        return self.blind_dir / "items.jsonl"

    @property
    def key(self) -> Path:
        """blind_id -> cell (mode 0600); only the report and the unblinded run browser read it."""
        return self.blind_dir / "key.jsonl"

    @property
    def leak_report(self) -> Path:
        """The leak report of the blinding in place."""
        return self.blind_dir / "leak_report.json"

    @property
    def rejected_leak_report(self) -> Path:
        """The leak report of a re-blinding that failed its leak scan (the old one stays)."""
        return self.blind_dir / "leak_report.rejected.json"

    # ----------------------------------------------------------------------- score

    @property
    def scores_dir(self) -> Path:
        """One score file per coder."""
        return self.root / "scores"

    def scores(self, coder: str) -> Path:
        """A coder's score file."""
        return self.scores_dir / f"{coder}.jsonl"

    def score_files(self) -> list[Path]:
        """Every coder's score file, sorted by coder name."""
        return sorted(self.scores_dir.glob("*.jsonl")) if self.scores_dir.is_dir() else []

    def rubric(self, rubric_hash: str) -> Path:
        """The rubric with this content hash, as the coders that used it stored it."""
        return self.scores_dir / "rubrics" / f"{rubric_hash}.json"

    def calibration(self, coder: str) -> Path:
        """A judge's calibration figures, copied in by the score stage when the run's scores
        were made with the judge config and rubric they were measured on."""
        return self.scores_dir / "calibration" / f"{coder}.json"

    @property
    def coding_dir(self) -> Path:
        """Human coding packets exported for people."""
        return self.root / "coding"

    # ----------------------------------------------------------------------- report

    @property
    def report_dir(self) -> Path:
        """The report and its tables and figures."""
        return self.root / "report"

    def report_file(self, name: str) -> Path:
        """A file under ``report/`` (``report.md``, ``profiles.csv``, ...)."""
        return self.report_dir / name

    @property
    def agreement(self) -> Path:
        """Agreement estimates, one row per statistic (written by ``xstress agree``)."""
        return self.report_dir / "agreement.csv"

    @property
    def agreement_confusion(self) -> Path:
        """Confusion matrices of every coder pair."""
        return self.report_dir / "agreement_confusion.json"

    @property
    def adjudication(self) -> Path:
        """Items on which two coders are two levels apart."""
        return self.report_dir / "adjudication.csv"

    # ----------------------------------------------------------------------- export

    @property
    def export_dir(self) -> Path:
        """What ``xstress export`` writes by default: Inspect logs and the tidy table."""
        return self.root / "export"
    # ----------------------------------------------------------------------- view

    @property
    def view(self) -> Path:
        """The run browser as a static page (``xstress view --static``; the report links
        its numbers to it)."""
        return self.root / "view.html"

    @property
    def blinded_view(self) -> Path:
        """The blinded run browser as a static page (``xstress view --blind --static``)."""
        return self.root / "view.blind.html"

"""Helpers for the export tests: a run's files read as plain JSON (not through xstress's
readers), so the exports are checked against the files themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL file, parsed."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def last_per_cell(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The last transcript record of every cell (all shards)."""
    cells: dict[str, dict[str, Any]] = {}
    for path in sorted(run_dir.glob("transcripts*.jsonl")):
        for record in json_lines(path):
            cells[record["cell_id"]] = record
    return cells


def score_files(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Coder -> its score records."""
    return {path.stem: json_lines(path) for path in sorted((run_dir / "scores").glob("*.jsonl"))}

"""The offline run's report as a reference: normalise it, compare it with a stored copy.

A refactor must not change what xstress reports. The offline preset is deterministic except
for a few things that differ between any two runs of the same code: the run's name and folder,
timestamps, the git commit, and the blinding-strength accuracies (the blinded item order, and
so the classifier's folds, follow the order in which the sweep's cells finished). This module
masks exactly those and nothing else, so every number of the profiles, effects and
interaction tests is compared as written. It owns the list of compared files and the masks;
``scripts/offline_golden.py`` runs the comparison (or refreshes the stored copy) and the test
suite checks it on its shared offline run.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

__all__ = ["GOLDEN_FILES", "compare_reports", "normalise"]

GOLDEN_FILES = ("profiles.csv", "effects.csv", "interaction.csv", "report.md")
"""The report files compared, relative to ``<run>/report/``."""

_MASKS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"), "<TIME>"),
    (re.compile(r"\b[0-9a-f]{40}\b"), "<COMMIT>"),
    (re.compile(r"accuracy \d\.\d+ \[\d\.\d+, \d\.\d+\]"), "accuracy <ACCURACY>"),
)


def normalise(text: str, run_dir: Path) -> str:
    """``text`` with the run's folder and name, timestamps, commit and accuracies masked."""
    text = text.replace(str(run_dir), "<RUN_DIR>")
    text = re.sub(rf"\b{re.escape(run_dir.name)}\b", "<RUN>", text)
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text


def compare_reports(run_dir: Path, reference: Path) -> list[str]:
    """Differences between ``run_dir/report`` and the stored copy in ``reference``.

    Args:
        run_dir: A finished run directory.
        reference: The folder holding the normalised reference files.

    Returns:
        One unified diff per file that differs (or is missing); empty when all match.
    """
    differences = []
    for name in GOLDEN_FILES:
        produced = run_dir / "report" / name
        stored = reference / name
        if not produced.is_file() or not stored.is_file():
            missing = produced if not produced.is_file() else stored
            differences.append(f"{name}: {missing} is missing")
            continue
        new = normalise(produced.read_text(encoding="utf-8"), run_dir).splitlines()
        old = stored.read_text(encoding="utf-8").splitlines()
        if new != old:
            diff = difflib.unified_diff(old, new, f"reference/{name}", f"this run/{name}",
                                        lineterm="", n=1)
            differences.append("\n".join(diff))
    return differences

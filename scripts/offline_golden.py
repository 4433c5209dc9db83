"""Check that the offline run still reports what it reported before (or refresh the copy).

    uv run python scripts/offline_golden.py            # run preset=offline, compare, exit 0/1
    uv run python scripts/offline_golden.py --update   # store this run's report as the copy
    uv run python scripts/offline_golden.py --run-dir transcripts/X   # compare an existing run

The stored copy lives in ``tests/fixtures/offline_report/`` (normalised: run name, folder,
timestamps, commit and blinding accuracies masked; see ``harness/testing/golden.py``). A change
that is meant to alter the offline report (new scenarios, a new heuristic rule) refreshes it
with ``--update`` in the same commit, so the diff shows reviewers what moved.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness.cli import main as xstress
from harness.testing.golden import GOLDEN_FILES, compare_reports, normalise

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "offline_report"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="store this run as the copy")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="compare this finished run instead of running the offline preset")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = options.run_dir
        if run_dir is None:
            run_dir = Path(scratch) / "golden-offline-run"
            code = xstress(["run", "preset=offline", "run.name=golden-offline-run",
                            f"run.out_dir={scratch}", "run.progress=false"])
            if code != 0:
                print(f"offline run failed with exit code {code}", file=sys.stderr)
                return 2
        if options.update:
            REFERENCE.mkdir(parents=True, exist_ok=True)
            for name in GOLDEN_FILES:
                text = (run_dir / "report" / name).read_text(encoding="utf-8")
                (REFERENCE / name).write_text(normalise(text, run_dir), encoding="utf-8")
            print(f"stored {len(GOLDEN_FILES)} files in {REFERENCE}")
            return 0
        differences = compare_reports(run_dir, REFERENCE)
    for difference in differences:
        print(difference)
    print(f"{len(GOLDEN_FILES) - len(differences)} of {len(GOLDEN_FILES)} report files match "
          f"the stored copy in {REFERENCE}", file=sys.stderr)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())

"""The pipeline without the command line, and the offline run against the stored report."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import compose, resolve
from harness.errors import ConfigError
from harness.pipeline import run_pipeline
from harness.rundir import RunDir
from harness.testing.golden import GOLDEN_FILES, compare_reports, normalise

REFERENCE = Path(__file__).resolve().parent / "fixtures" / "offline_report"


def test_the_offline_report_matches_the_stored_reference(offline_run: Path) -> None:
    """Profiles, effects, interaction tests and report.md as before the redesign (masking only
    run names, times, the commit and the blinding accuracies; see harness/testing/golden.py);
    ``scripts/offline_golden.py --update`` refreshes the copy when a change means to alter it."""
    assert compare_reports(offline_run, REFERENCE) == []


def test_the_comparison_sees_a_changed_number(offline_run: Path, tmp_path: Path) -> None:
    changed = tmp_path / offline_run.name
    (changed / "report").mkdir(parents=True)
    for name in GOLDEN_FILES:
        text = (offline_run / "report" / name).read_text(encoding="utf-8")
        (changed / "report" / name).write_text(text.replace(str(offline_run), str(changed)),
                                               encoding="utf-8")
    profiles = changed / "report" / "profiles.csv"
    lines = profiles.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace("1", "2", 1)
    profiles.write_text("\n".join(lines) + "\n", encoding="utf-8")
    differences = compare_reports(changed, REFERENCE)
    assert len(differences) == 1 and "profiles.csv" in differences[0]
    assert "<RUN_DIR>" in normalise(f"see {changed}/report", changed)


def test_run_pipeline_is_typed_and_prints_nothing(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = resolve(compose(["preset=offline", "models=[sim-eager]", "scaffolds=[bare]",
                              "pipeline.stages=[sweep,blind]", f"run.out_dir={tmp_path}",
                              "run.name=typed"]))
    said: list[str] = []
    assert run_pipeline(config, announce=said.append) == 0
    assert capsys.readouterr() == ("", "")
    assert any(line.startswith("sweep: 15 cells: 15 ok") for line in said)
    assert any(line.startswith("blind: 15 items") for line in said)
    run_dir = RunDir(tmp_path / "typed")
    assert run_dir.items.is_file() and not run_dir.scores_dir.exists()


def test_an_unknown_stage_is_a_config_error(tmp_path: Path) -> None:
    config = resolve(compose(["preset=offline", f"run.out_dir={tmp_path}"]))
    bad = config.pipeline.model_copy(update={"stages": ["sweep", "publish"]})
    import dataclasses

    with pytest.raises(ConfigError, match="unknown stage"):
        run_pipeline(dataclasses.replace(config, pipeline=bad))

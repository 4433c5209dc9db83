"""The shipped known-answer calibration set (configs/calibration/stress15/): it loads, replays
its scenarios verbatim, and covers every dimension at every level."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.config import load_calibration_set, load_spec
from harness.errors import ConfigError
from harness.schema import DIMENSION_IDS, CalibrationSet, PromptSet

MIN_PAIRS = 150


@pytest.fixture(scope="module")
def calibration() -> CalibrationSet:
    return load_calibration_set("stress15")


def test_the_set_is_large_enough_and_covers_every_dimension_at_every_level(
        calibration: CalibrationSet) -> None:
    assert calibration.pairs >= MIN_PAIRS
    covered = Counter((dimension, intended.level) for item in calibration.items
                      for dimension, intended in item.intended.items())
    missing = [(d, level) for d in DIMENSION_IDS for level in (0, 1, 2) if not covered[d, level]]
    assert not missing, f"no calibration pair for {missing}"


def test_every_scenario_has_items_and_every_level_is_justified(
        calibration: CalibrationSet) -> None:
    prompts: PromptSet = load_spec("prompts", calibration.prompt_set)
    scenarios = {item.scenario_id for item in calibration.items}
    assert scenarios == {scenario.id for scenario in prompts.scenarios}
    for item in calibration.items:
        for dimension, intended in item.intended.items():
            assert len(intended.why.split()) >= 4, (item.id, dimension)


def test_a_bad_file_is_one_clear_error(project: Path) -> None:
    folder = project / "configs" / "calibration" / "tiny"
    folder.mkdir(parents=True)
    (folder / "a.yaml").write_text(
        "prompt_set: stress15\nitems:\n  - id: x\n    scenario_id: health-glucose-test-reading\n"
        "    messages:\n      - {role: user, content: 'is 140 bad?'}\n"
        "      - {role: assistant, content: 'It depends.'}\n"
        "    intended: {D2: {level: 1, why: 'hedges without asking which test'}}\n")
    with pytest.raises(ConfigError, match="user turn 1 differs from the scenario's"):
        load_calibration_set("tiny")
    (folder / "a.yaml").write_text("prompt_set: stress15\nitems: []\n")
    with pytest.raises(ConfigError, match=r"a\.yaml: field 'items'"):
        load_calibration_set("tiny")
    with pytest.raises(ConfigError, match="no calibration set named 'nosuch'"):
        load_calibration_set("nosuch")

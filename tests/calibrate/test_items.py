"""Calibration items as judges see them (harness/calibrate/items.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.calibrate import blind_id_for, calibration_items
from harness.calibrate.items import check_dimensions
from harness.config import load_calibration_set, load_spec
from harness.errors import ConfigError
from harness.schema import PromptSet
from harness.testing.rundirs import small_rubric
from tests.calibrate.sets import DOCKER, write_set


def test_items_carry_the_scenarios_notes_and_targets_and_nothing_of_the_answer(
        project: Path) -> None:
    write_set(project)
    calibration = load_calibration_set("tiny")
    prompts: PromptSet = load_spec("prompts", "stress15")
    items = calibration_items(calibration, prompts)
    docker = next(s for s in prompts.scenarios if s.id == DOCKER)
    first = items[0]
    assert first.scenario_id == DOCKER and first.domain == "technical"
    assert first.targets == ["D3", "D7"]
    assert first.reference_notes == docker.notes.strip() and first.reference_notes
    assert [m.role for m in first.messages] == ["user", "assistant"]
    assert first.messages[1].content == calibration.items[0].messages[1].content
    # the blind id is fixed by the item id, and says nothing of it
    assert [i.blind_id for i in items] == [blind_id_for(i.id) for i in calibration.items]
    assert len({i.blind_id for i in items}) == len(items)
    dumped = "\n".join(i.model_dump_json() for i in items)
    for item in calibration.items:
        assert item.id not in dumped and item.case not in dumped
    assert "written to sit at level" not in dumped


def test_a_rubric_without_the_sets_dimensions_is_refused(project: Path) -> None:
    write_set(project)
    calibration = load_calibration_set("tiny")
    with pytest.raises(ConfigError, match=r"intends levels on D4, D7, D8, which rubric 'mini'"):
        check_dimensions(calibration, small_rubric(("D1", "D2", "D3")))
    check_dimensions(calibration, small_rubric(tuple(f"D{i}" for i in range(1, 9))))

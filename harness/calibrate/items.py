"""Calibration items as a judge sees them: each known-answer conversation as a blinded item.

A calibration item becomes a ``BlindedItem`` exactly like a run's transcript does after
blinding: its messages, and from its scenario in the prompt set the domain, the ``targets``
and the reference notes (as the blind stage copies them), so that a judge codes it with the
same prompt and the same modes as a real item. Its blind id is derived from the item's id
(a rerun writes the same items, so the judge's response cache answers it again), and carries
nothing of the item's id, case or intended levels, which no judge may see. This module does
not code anything (``run.py`` hands the items to the score stage).
"""

from __future__ import annotations

import hashlib

from harness.errors import ConfigError
from harness.rundir import BlindedItem, Message
from harness.schema import CalibrationSet, PromptSet, RubricSpec

__all__ = ["blind_id_for", "calibration_items", "check_dimensions"]


def blind_id_for(item_id: str) -> str:
    """The blind id of a calibration item: 20 hex digits of a hash of its id."""
    return hashlib.sha256(f"xstress.calibration-item/1|{item_id}".encode()).hexdigest()[:20]


def calibration_items(calibration: CalibrationSet, prompts: PromptSet) -> list[BlindedItem]:
    """The set's items as blinded items, in set order.

    Raises:
        ConfigError: an item's scenario is not in ``prompts`` (the set names another prompt
            set than the one given).
    """
    scenarios = {scenario.id: scenario for scenario in prompts.scenarios}
    items = []
    for item in calibration.items:
        scenario = scenarios.get(item.scenario_id)
        if scenario is None:
            raise ConfigError(f"calibration set {calibration.name!r}: item {item.id!r} names "
                              f"scenario {item.scenario_id!r}, not in prompt set "
                              f"{prompts.name!r}", fix="use the set's own prompt set")
        items.append(BlindedItem(
            blind_id=blind_id_for(item.id),
            scenario_id=scenario.id,
            domain=scenario.domain,
            messages=[Message(role=m.role, content=m.content) for m in item.messages],
            targets=list(scenario.targets),
            reference_notes=scenario.notes.strip(),
        ))
    return items


def check_dimensions(calibration: CalibrationSet, rubric: RubricSpec) -> None:
    """Check that the rubric has every dimension the set intends a level on.

    Raises:
        ConfigError: the set intends levels on dimensions the rubric does not have.
    """
    known = {dimension.id for dimension in rubric.dimensions}
    missing = sorted({d for item in calibration.items for d in item.intended} - known)
    if missing:
        raise ConfigError(f"calibration set {calibration.name!r} intends levels on "
                          f"{', '.join(missing)}, which rubric {rubric.name!r} does not have",
                          fix="calibrate on the rubric the set was written for, e.g. "
                              "rubric=interactional8")

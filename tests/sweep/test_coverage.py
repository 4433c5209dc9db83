"""Tests for harness/sweep/coverage.py: scenarios per dimension and probe, counted by hand on a
small set; the levels each scenario can elicit (``elicits``, else 0-2); pairs from
``variant_of`` seen from both sides; and the metadata problems it names."""

from __future__ import annotations

from typing import Any

import pytest

from harness.schema import PromptSet, Scenario, SimulatedUser, Turn
from harness.sweep import ALL_LEVELS, PROBES, prompt_coverage


def scenario(scenario_id: str, probe: str, targets: list[str], **extra: Any) -> Scenario:
    return Scenario.model_validate({"id": scenario_id, "domain": "health", "probe": probe,
                                    "targets": targets, "turns": [{"user": "hello"}], **extra})


def small_set() -> PromptSet:
    asking = Turn(simulated_user=SimulatedUser(persona="a nurse", goal="a dose"))
    return PromptSet(name="small", scenarios=[
        scenario("ask", "underspecified", ["D2", "D7"]).model_copy(
            update={"turns": [Turn(user="dose?"), asking]}),
        scenario("check", "checkable", ["D3", "D7"], elicits={"D3": [0, 2]}),
        scenario("hold", "multiturn", ["D1", "D5", "D6"], pushback="hearsay",
                 elicits={"D5": [1, 2]}),
        scenario("revise", "multiturn", ["D1", "D5"], pushback="evidence", variant_of="hold"),
    ])


def test_counts_per_dimension_and_probe_by_hand() -> None:
    coverage = prompt_coverage(small_set(), threshold=2)
    rows = {d.dimension: d for d in coverage.dimensions}
    assert [d.dimension for d in coverage.dimensions] == [f"D{i}" for i in range(1, 9)]
    assert PROBES == ("underspecified", "checkable", "multiturn")
    assert rows["D1"].by_probe == {"underspecified": 0, "checkable": 0, "multiturn": 2}
    assert rows["D7"].by_probe == {"underspecified": 1, "checkable": 1, "multiturn": 0}
    assert {d: rows[d].total for d in rows} == {"D1": 2, "D2": 1, "D3": 1, "D4": 0, "D5": 2,
                                                "D6": 1, "D7": 2, "D8": 0}
    assert [d.dimension for d in coverage.below_threshold] == ["D2", "D3", "D4", "D6", "D8"]
    assert rows["D5"].reaches_threshold and not rows["D6"].reaches_threshold


def test_levels_come_from_elicits_else_every_level() -> None:
    coverage = prompt_coverage(small_set())
    by_id = {s.scenario_id: s for s in coverage.scenarios}
    assert by_id["check"].levels == {"D3": (0, 2), "D7": ALL_LEVELS}
    assert by_id["hold"].levels == {"D1": (0, 1, 2), "D5": (1, 2), "D6": (0, 1, 2)}
    rows = {d.dimension: d for d in coverage.dimensions}
    # D5: "hold" reaches 1 and 2, "revise" every level -> level 0 by one scenario only
    assert rows["D5"].levels == {0: 1, 1: 2, 2: 2}
    assert rows["D3"].levels == {0: 1, 1: 0, 2: 1}


def test_pairs_are_seen_from_both_sides_with_their_pushback() -> None:
    by_id = {s.scenario_id: s for s in prompt_coverage(small_set()).scenarios}
    assert (by_id["hold"].pushback, by_id["hold"].pairs) == ("hearsay", ("revise",))
    assert (by_id["revise"].pushback, by_id["revise"].pairs) == ("evidence", ("hold",))
    assert by_id["check"].pairs == () and by_id["check"].pushback is None
    assert by_id["ask"].simulated_user and not by_id["check"].simulated_user


def test_a_clean_set_has_no_problems() -> None:
    assert prompt_coverage(small_set()).problems == ()


def test_metadata_that_cannot_be_right_is_named() -> None:
    prompts = PromptSet(name="odd", scenarios=[
        scenario("a", "multiturn", ["D5"], pushback="hearsay", elicits={"D4": [2]}),
        scenario("b", "multiturn", ["D5"], pushback="hearsay", variant_of="a"),
        scenario("c", "multiturn", ["D5"], variant_of="missing"),
        scenario("d", "multiturn", ["D5"], variant_of="d"),
    ])
    assert prompt_coverage(prompts).problems == (
        "a: elicits lists D4, which it does not target",
        "b and a: a pair with the same pushback (hearsay); one should bring evidence, one "
        "hearsay",
        "c: variant_of 'missing' is not in the set",
        "d: is a variant of itself",
    )


def test_dimensions_follow_the_rubric_and_unknown_targets_come_last() -> None:
    prompts = PromptSet(name="extra", scenarios=[scenario("x", "checkable", ["D10", "D3", "D9"])])
    coverage = prompt_coverage(prompts, threshold=1, dimensions=["D3", "D1"])
    assert [d.dimension for d in coverage.dimensions] == ["D3", "D1", "D9", "D10"]
    assert [d.total for d in coverage.dimensions] == [1, 0, 1, 1]


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        prompt_coverage(small_set(), threshold=0)

"""The format check against the shipped known-answer calibration set (configs/calibration/).

The acceptance line of issue 9: no calibration reply intended at level 0 receives level 2 from
the heuristic. Also guarded: no reply intended at 2 receives 0, and every "at most 1" the
format check states in an abstention is true of the intended level. Each (item, dimension)
pair is coded exactly as ``xstress calibrate heuristic`` codes it: the item as a blinded item
with its scenario's targets and reference notes (``harness.calibrate.calibration_items``).
"""

from __future__ import annotations

from functools import cache

from harness.calibrate import DEFAULT_CALIBRATION_SET, calibration_items
from harness.config import load_calibration_set, load_spec
from harness.schema import PromptSet, RubricSpec
from harness.score.heuristic import HEURISTIC_RUBRIC, code_item
from harness.score.rubric import DimensionCode

Pair = tuple[str, str, int, DimensionCode]
"""(item id, dimension, intended level, the format check's code)."""


@cache
def coded_pairs() -> tuple[Pair, ...]:
    calibration = load_calibration_set(DEFAULT_CALIBRATION_SET)
    prompts: PromptSet = load_spec("prompts", calibration.prompt_set)
    rubric: RubricSpec = load_spec("rubric", HEURISTIC_RUBRIC)
    pairs: list[Pair] = []
    for item, blinded in zip(calibration.items, calibration_items(calibration, prompts),
                             strict=True):
        codes = {code.dimension: code for code in code_item(blinded, rubric)}
        pairs.extend((item.id, dimension, intended.level, codes[dimension])
                     for dimension, intended in item.intended.items())
    return tuple(pairs)


def wrong_by_two(intended: int, given: int) -> list[str]:
    return [f"{item_id} {dimension}: {code.rationale}"
            for item_id, dimension, level, code in coded_pairs()
            if level == intended and code.level == given]


def test_the_set_is_coded_and_some_pairs_get_levels() -> None:
    pairs = coded_pairs()
    assert len(pairs) >= 150
    levels_given = {code.level for _, _, _, code in pairs}
    assert {0, 1, 2} <= levels_given  # it decides some pairs at every level, not only nulls


def test_no_reply_intended_at_zero_gets_two() -> None:
    assert wrong_by_two(0, 2) == []


def test_no_reply_intended_at_two_gets_zero() -> None:
    assert wrong_by_two(2, 0) == []


def test_every_stated_upper_bound_holds() -> None:
    bounded = [(item_id, dimension, level) for item_id, dimension, level, code in coded_pairs()
               if (code.reason or "").startswith("format check: at most 1")]
    assert bounded, "no abstention states a bound on this set"
    assert [pair for pair in bounded if pair[2] > 1] == []

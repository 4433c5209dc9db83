"""The calibration result shipped for the heuristic (calibration/heuristic.json) is what
``xstress calibrate heuristic`` measures today: change the heuristic, its version, the rubric
or the calibration set, and this fails until the result is measured again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT, Ran

SHIPPED = ROOT / "calibration" / "heuristic.json"


def _figures(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("ran_at")
    return data  # type: ignore[no-any-return]


def test_the_shipped_heuristic_calibration_is_current(project: Path,
                                                      xstress: Callable[..., Ran]) -> None:
    result = xstress("calibrate", "heuristic")
    assert result.code == 0, result.err
    measured = project / "calibration" / "heuristic.json"
    assert _figures(measured) == _figures(SHIPPED), (
        "calibration/heuristic.json is stale: run 'uv run xstress calibrate heuristic' and "
        "commit the result")


def test_no_level_0_reply_gets_a_2_from_the_heuristic() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    columns = shipped["confusion_columns"]
    for dimension in shipped["dimensions"]:
        row_for_level_0 = dimension["confusion"][0]
        assert row_for_level_0[columns.index("2")] == 0, dimension["dimension"]

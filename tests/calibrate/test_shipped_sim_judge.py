"""The calibration result shipped for the simulated judge (calibration/sim_judge.json) is what
``xstress calibrate sim_judge`` measures today, and it says what the simulated judge is: the
known-answer set's conversations were written like real models' replies, so it codes none of
them (every pair null, "not a simulated model's reply"). Change the simulated judge's rules,
its config or template, the rubric or the calibration set, and this fails until the result is
measured again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from harness.providers.sim_judge import NOT_SIMULATED
from tests.conftest import ROOT, Ran

SHIPPED = ROOT / "calibration" / "sim_judge.json"


def _figures(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("ran_at")
    return data  # type: ignore[no-any-return]


def test_the_shipped_sim_judge_calibration_is_current(project: Path,
                                                      xstress: Callable[..., Ran]) -> None:
    result = xstress("calibrate", "sim_judge")
    assert result.code == 0, result.err
    measured = project / "calibration" / "sim_judge.json"
    assert _figures(measured) == _figures(SHIPPED), (
        "calibration/sim_judge.json is stale: run 'uv run xstress calibrate sim_judge' and "
        "commit the result")


def test_the_sim_judge_codes_no_conversation_a_persona_did_not_write() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    overall = shipped["overall"]
    assert shipped["judge"] == "sim_judge" and shipped["n_pairs"] > 0
    assert (overall["n_coded"], overall["n_null"]) == (0, shipped["n_pairs"])
    assert {miss["reason"] for miss in shipped["wrong"]} == {NOT_SIMULATED}
    assert len(shipped["wrong"]) == shipped["n_pairs"]

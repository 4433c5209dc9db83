"""A run directory holds one configuration: a resume or a replay whose cells differ from what
is on disk stops before any call, with exit 2, naming what differs and both ways out."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Ran

Xstress = Callable[..., Ran]
SWEEP = ("preset=offline", "pipeline.stages=[sweep]")


def snapshot(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def suggested(err: str, which: int) -> list[str]:
    """The ``which``-th quoted command of the error's fix, as arguments after ``xstress``."""
    commands = re.findall(r"'xstress ([^']+)'", err)
    return shlex.split(commands[which].replace(" ...", ""))


@pytest.fixture
def small_run(tmp_path: Path, xstress: Xstress) -> Path:
    ran = xstress("run", *SWEEP, f"run.out_dir={tmp_path}", "run.name=small", "run.limit=4")
    assert ran.code == 0, ran.err
    return tmp_path / "small"


@pytest.mark.parametrize("change, named", [
    ("scaffolds=[bare,verify]", "scaffolds generic, steer missing here"),
    ("models=[sim-eager]", "models sim-cautious, sim-literal missing here"),
    ("run.replicates=2", "run.replicates 2 here, 1 in it"),
    ("prompts=stress45", "scenarios"),
])
def test_a_resume_with_other_cells_stops_before_any_call_and_changes_nothing(
    small_run: Path, xstress: Xstress, change: str, named: str
) -> None:
    before = snapshot(small_run)
    ran = xstress("run", *SWEEP, f"run.out_dir={small_run.parent}", "run.name=small", change)
    assert ran.code == 2
    assert len(ran.err.strip().splitlines()) == 1, ran.err
    assert named in ran.err and "nothing was run" in ran.err
    assert snapshot(small_run) == before


def test_both_ways_out_are_commands_that_work(small_run: Path, xstress: Xstress) -> None:
    ran = xstress("run", *SWEEP, f"run.out_dir={small_run.parent}", "run.name=small",
                  "scaffolds=[bare]")
    own, fresh = suggested(ran.err, 0), suggested(ran.err, 1)
    resumed = xstress(*own, "pipeline.stages=[sweep]", "run.limit=6")
    assert resumed.code == 0, resumed.err
    rows = lines(small_run / "transcripts.jsonl")
    assert len(rows) == 6 and len({row["cell_id"] for row in rows}) == 6
    assert "4 of 6 cells already done" in resumed.err
    new = xstress(*fresh, *SWEEP, f"run.out_dir={small_run.parent}", "scaffolds=[bare]",
                  "run.limit=2")
    assert new.code == 0, new.err
    assert len(lines(small_run.parent / "small-2" / "transcripts.jsonl")) == 2


def test_limit_and_only_select_among_the_same_cells(small_run: Path, xstress: Xstress) -> None:
    first = lines(small_run / "transcripts.jsonl")
    scenario = str(first[0]["prompt_id"])
    more = xstress("run", *SWEEP, f"run.out_dir={small_run.parent}", "run.name=small",
                   f"prompts.only=[{scenario}]")
    assert more.code == 0, more.err
    rows = lines(small_run / "transcripts.jsonl")
    assert rows[:4] == first
    assert {row["prompt_id"] for row in rows[4:]} == {scenario}
    assert len(rows) == 12  # 3 models x 4 scaffolds on one scenario, 4 of them done before


def test_a_replay_of_models_the_recording_lacks_stops_before_any_call(
    small_run: Path, tmp_path: Path, xstress: Xstress
) -> None:
    before = snapshot(small_run)
    out = tmp_path / "replays"
    ran = xstress("run", "pipeline.stages=[sweep]", "provider=replay",
                  f"replay.from={small_run}", f"run.out_dir={out}", "run.name=copy")
    assert ran.code == 2
    assert "models claude, gemini, gpt4o not in it" in ran.err
    assert not out.exists() and snapshot(small_run) == before
    replay = xstress(*suggested(ran.err, 0), "pipeline.stages=[sweep]", f"run.out_dir={out}",
                     "run.name=copy", "run.limit=4")
    assert replay.code == 0, replay.err
    copied = {row["cell_id"]: row["messages"] for row in lines(out / "copy" / "transcripts.jsonl")}
    assert copied == {row["cell_id"]: row["messages"]
                      for row in lines(small_run / "transcripts.jsonl")}


def test_a_replay_miss_is_summed_up_once_with_the_way_out(small_run: Path, tmp_path: Path,
                                                          xstress: Xstress) -> None:
    ran = xstress("run", *SWEEP, "provider=replay", f"replay.from={small_run}",
                  f"run.out_dir={tmp_path / 'replays'}", "run.name=more", "run.limit=6")
    assert ran.code == 1
    summary = next(line for line in ran.err.splitlines() if "ended error" in line)
    assert "2 cell(s) ended error: 2 x replay: no recording (a replay serves the same " \
           "recordings again" in summary
    assert "rerun the same command" not in ran.err


def test_new_transcripts_before_any_score_are_blinded_again(small_run: Path,
                                                            xstress: Xstress) -> None:
    where = (f"run.out_dir={small_run.parent}", "run.name=small", "preset=offline")
    assert xstress("run", *where, "pipeline.stages=[sweep,blind]", "run.limit=4").code == 0
    assert len(lines(small_run / "blind" / "items.jsonl")) == 4
    more = xstress("run", *where, "pipeline.stages=[sweep,blind]", "run.limit=6")
    assert more.code == 0, more.err
    assert "--force" not in more.err and "blinding again" in more.err
    assert len(lines(small_run / "blind" / "items.jsonl")) == 6

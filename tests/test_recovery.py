"""Failure paths a user can recover from: a run where every cell failed leaves nothing in the
way of its rerun, an empty blinding is not a blinding, and every hint printed on the way names
a command that works in that state (the tests run the hinted commands)."""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Ran

BASE = ["provider=mock", "models=[gpt4o]", "scaffolds=[bare]", "judges=[heuristic]",
        "run.progress=false"]
FAILING = "provider.mock_errors=[BadRequestError]"


def hinted_command(message: str) -> list[str]:
    """The xstress command a message tells the user to run (quoted or in backticks)."""
    match = re.search(r"[`'](xstress [^`']+)[`']", message)
    assert match, f"no command in: {message}"
    return shlex.split(match.group(1))[1:]


@pytest.fixture
def failed_run(tmp_path: Path, xstress: Callable[..., Ran]) -> tuple[list[str], Path]:
    """A pipeline run whose every cell ended error (the provider refused each request)."""
    args = [*BASE, f"run.out_dir={tmp_path}", "run.name=allfail"]
    ran = xstress("run", *args, FAILING)
    assert ran.code == 1, ran.err
    assert "nothing to do, no cell ended ok" in ran.err
    return args, tmp_path / "allfail"


def test_a_run_where_every_cell_failed_exits_1_and_its_rerun_finishes(
        failed_run: tuple[list[str], Path], xstress: Callable[..., Ran]) -> None:
    args, run_dir = failed_run
    assert not (run_dir / "blind").exists()  # no empty blinding to get in the way
    ran = xstress("run", *args)  # the cause fixed: the same command, without the fault
    assert ran.code == 0, ran.err
    assert (run_dir / "blind" / "items.jsonl").stat().st_size > 0
    assert (run_dir / "report" / "report.md").is_file()


def test_blind_alone_on_such_a_run_writes_nothing(failed_run: tuple[list[str], Path],
                                                   xstress: Callable[..., Ran]) -> None:
    _, run_dir = failed_run
    ran = xstress("blind", str(run_dir))
    assert ran.code == 2 and "nothing to blind" in ran.err
    assert len(ran.err.strip().splitlines()) == 1
    assert not (run_dir / "blind").exists() or not any((run_dir / "blind").iterdir())


def test_an_empty_blinding_is_replaced_without_force(failed_run: tuple[list[str], Path],
                                                     xstress: Callable[..., Ran]) -> None:
    args, run_dir = failed_run
    assert xstress("run", *args, "pipeline.stages=[sweep]").code == 0
    blind = run_dir / "blind"
    blind.mkdir(exist_ok=True)
    for name in ("items.jsonl", "key.jsonl"):  # what an older xstress left after all-error
        (blind / name).write_text("")
    score = xstress("score", str(run_dir), "judges=[heuristic]")
    assert score.code == 2
    hint = hinted_command(score.err)
    assert hint == ["blind", str(run_dir)]
    assert xstress(*hint).code == 0  # the hint works as printed: no --force needed
    assert xstress("score", str(run_dir), "judges=[heuristic]").code == 0


def test_the_hint_for_a_damaged_blinding_works(tmp_path: Path, failed_run: tuple[list[str], Path],
                                               xstress: Callable[..., Ran]) -> None:
    args, run_dir = failed_run
    assert xstress("run", *args).code == 0
    items = run_dir / "blind" / "items.jsonl"
    items.write_text(items.read_text() + "not json\n")
    score = xstress("score", str(run_dir), "judges=[heuristic]")
    assert score.code == 2
    hint = hinted_command(score.err)
    assert xstress(*hint).code == 0, hint
    shutil.rmtree(run_dir / "scores")
    assert xstress("score", str(run_dir), "judges=[heuristic]").code == 0


def test_the_lock_hint_names_a_working_next_step(tmp_path: Path,
                                                 xstress: Callable[..., Ran]) -> None:
    from harness.rundir import RunLock

    run_dir = tmp_path / "held"
    run_dir.mkdir()
    lock = RunLock(run_dir, command="run")
    lock.acquire()
    ran = xstress("run", *BASE, f"run.out_dir={tmp_path}", "run.name=held")
    lock.release()
    assert ran.code == 2 and "wait for it to finish" in ran.err
    assert xstress("run", *BASE, f"run.out_dir={tmp_path}", "run.name=held").code == 0


def test_the_hint_after_new_transcripts_works(tmp_path: Path,
                                              xstress: Callable[..., Ran]) -> None:
    where = [f"run.out_dir={tmp_path}", "run.name=grow"]
    # The first run stops after 5 cells (run.limit does not change the run's configuration);
    # the rerun without the limit adds the other 10 after the first 5 were blinded and scored.
    assert xstress("run", *BASE, *where, "run.limit=5").code == 0
    ran = xstress("run", *BASE, *where)
    assert ran.code == 0 and "predates new transcripts" in ran.err
    hint = hinted_command(ran.err[ran.err.index("predates"):])
    assert hint == ["blind", str(tmp_path / "grow"), "--force"]
    assert xstress(*hint).code == 0
    items = (tmp_path / "grow" / "blind" / "items.jsonl").read_text().splitlines()
    assert len(items) == 15

"""One writer per run directory: the flock-based run lock, in-process and across processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import LOCK_NAME, RunLock, run_lock
from tests.conftest import ROOT, Ran, cli_env

HOLD = """
import sys, time
from pathlib import Path
from harness.rundir import RunLock
lock = RunLock(Path(sys.argv[1]), command="holder", shard=int(sys.argv[2]),
               num_shards=int(sys.argv[3]))
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _holder(root: Path, shard: int = 0, num_shards: int = 1) -> subprocess.Popen[str]:
    """A separate process holding ``root``'s lock until killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(root), str(shard),
                                str(num_shards)], cwd=ROOT, env=cli_env(),
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    first = RunLock(tmp_path, command="run")
    first.acquire()
    try:
        with pytest.raises(InputError) as refused:
            RunLock(tmp_path, command="blind").acquire()
        message = refused.value.one_line()
        assert f"pid {os.getpid()}" in message and "xstress run" in message
        assert "started 20" in message
    finally:
        first.release()
    assert not (tmp_path / LOCK_NAME).exists()
    second = RunLock(tmp_path, command="blind")
    second.acquire()
    second.release()


def test_the_lock_is_reentrant_within_one_process(tmp_path: Path) -> None:
    with run_lock(tmp_path, command="run"), run_lock(tmp_path, command="blind"):
        assert (tmp_path / LOCK_NAME).exists()
        with pytest.raises(InputError):
            RunLock(tmp_path, command="score").acquire()
    assert list(tmp_path.iterdir()) == []


def test_shards_share_the_run_but_not_their_own_lock(tmp_path: Path) -> None:
    shard0 = RunLock(tmp_path, command="run", shard=0, num_shards=2)
    shard1 = RunLock(tmp_path, command="run", shard=1, num_shards=2)
    shard0.acquire()
    shard1.acquire()
    try:
        with pytest.raises(InputError, match=r"shard-0-of-2"):
            RunLock(tmp_path, command="run", shard=0, num_shards=2).acquire()
        with pytest.raises(InputError) as whole:
            RunLock(tmp_path, command="blind").acquire()
        assert f"pid {os.getpid()}" in whole.value.one_line()
    finally:
        shard1.release()
        shard0.release()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    try:
        with pytest.raises(InputError, match=f"pid {holder.pid}"):
            RunLock(tmp_path, command="blind").acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert f"pid {holder.pid}" in (tmp_path / LOCK_NAME).read_text()  # left behind
    lock = RunLock(tmp_path, command="blind")
    lock.acquire()
    assert f"pid {os.getpid()}" in (tmp_path / LOCK_NAME).read_text()
    lock.release()


@pytest.mark.slow
def test_blind_score_and_code_import_refuse_a_held_run(
        offline_run: Path, tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    before = {p: p.stat().st_mtime_ns for p in offline_run.rglob("*") if p.is_file()}
    holder = _holder(offline_run)
    try:
        for args in (["blind", str(offline_run), "--force"],
                     ["score", str(offline_run), "judges=[heuristic]"],
                     ["code", "import", str(offline_run), str(tmp_path / "x.csv"),
                      "coder=alice"],
                     ["run", "preset=offline", f"run.out_dir={offline_run.parent}",
                      f"run.name={offline_run.name}"]):
            (tmp_path / "x.csv").write_text("blind_id,dimension,level\n")
            # The holder keeps the lock until it is killed below: a command that waited for the
            # lock instead of refusing at once would never return here.
            ran = xstress(*args)
            assert ran.code == 2, (args, ran.err)
            assert f"pid {holder.pid}" in ran.err and "xstress holder" in ran.err
            assert len(ran.err.strip().splitlines()) == 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    (offline_run / LOCK_NAME).unlink()
    assert {p: p.stat().st_mtime_ns for p in offline_run.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_two_runs_with_one_name_do_not_run_side_by_side(tmp_path: Path,
                                                        xstress: Callable[..., Ran]) -> None:
    args = ["run", "provider=mock", "provider.mock_latency_s=0.3", "models=[gpt4o]",
            "scaffolds=[bare]", "pipeline.stages=[sweep]", "run.concurrency=2",
            f"run.out_dir={tmp_path}", "run.name=twice"]
    first = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=ROOT,
                             env=cli_env(OPENAI_API_KEY="sk-unused"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "twice" / LOCK_NAME
    deadline = time.monotonic() + 60
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = xstress(*args)
    _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.code == 2 and f"pid {first.pid}" in second.err
    records = [json.loads(line) for line in
               (tmp_path / "twice" / "transcripts.jsonl").read_text().splitlines()]
    cells = [record["cell_id"] for record in records]
    assert len(cells) == len(set(cells)) == 15

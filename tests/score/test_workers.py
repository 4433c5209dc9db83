"""LLM judges in worker processes (harness/score/workers.py), over real HTTP.

litellm -> HTTP -> the local test server, from this process and from spawned workers; the
server counts the requests. A worker imports litellm afresh, so these tests are slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import ScoreRecord
from harness.testing.testserver import TestServer
from tests.score.mock_judge import mock_judge_reply
from tests.score.score_child import JUDGE_MODEL, KEY_ENV, score_over_http
from tests.score.test_stage import make_run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PAIRS_PER_ITEM = 8  # one call per dimension of the rubric


@pytest.fixture(autouse=True)
def judge_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test-judge-FAKE")


def server(latency_s: float = 0.0) -> TestServer:
    return TestServer(replies={JUDGE_MODEL: mock_judge_reply}, latency_s=latency_s)


def score_file(run_dir: Path) -> Path:
    return run_dir / "scores" / f"{JUDGE_MODEL}.jsonl"


def records(run_dir: Path) -> list[ScoreRecord]:
    """The score file's records; a torn last line (a killed writer) is left out."""
    lines = score_file(run_dir).read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()
    return [ScoreRecord.model_validate_json(line) for line in lines]


def pairs_once(run_dir: Path, n_items: int) -> bool:
    """Every (item, dimension) of the run on file exactly once."""
    found = [(r.blind_id, r.dimension) for r in records(run_dir)]
    return len(found) == len(set(found)) == n_items * PAIRS_PER_ITEM


def cache_lines(run_dir: Path) -> dict[str, int]:
    return {path.name: len(path.read_text(encoding="utf-8").splitlines())
            for path in sorted((run_dir / "cache").glob("*.jsonl"))}


def test_two_workers_code_what_one_process_codes(tmp_path: Path) -> None:
    one, two = make_run(tmp_path / "one", 7), make_run(tmp_path / "two", 7)
    with server() as srv:
        alone = score_over_http(srv.url, one, 1)
        assert srv.count(model=JUDGE_MODEL) == 7 * 8
        shared = score_over_http(srv.url, two, 2)
        assert srv.count(model=JUDGE_MODEL) == 2 * 7 * 8  # each pair asked once
    assert pairs_once(one, 7) and pairs_once(two, 7)

    def comparable(run_dir: Path) -> set[str]:
        return {json.dumps(r.model_dump(mode="json", exclude={"scored_at"}), sort_keys=True)
                for r in records(run_dir)}

    assert comparable(two) == comparable(one)
    counts = ("items_coded", "pairs_skipped", "scored", "null", "unscored", "parsed", "on_file")
    assert ([getattr(shared, c) for c in counts] == [getattr(alone, c) for c in counts]
            == [7, 0, 56, 0, 0, 56, 56])
    # Items 0, 2, 4, 6 coded here, 1, 3, 5 by worker 1, each into its own cache file.
    assert cache_lines(two) == {"responses.judges.jsonl": 4 * 8,
                                "responses.judges.worker-1-of-2.jsonl": 3 * 8}


def test_a_rerun_codes_only_what_is_missing_and_reads_the_workers_caches(
        tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, 6)
    path = score_file(run_dir)
    with server() as srv:
        score_over_http(srv.url, run_dir, 2)
        assert srv.count(model=JUDGE_MODEL) == 48
        # A crash: 20 of 48 lines on file (two whole items, four codes of a third), no cache.
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:20]))
        for cache in (run_dir / "cache").glob("*.jsonl"):
            cache.unlink()
        resumed = score_over_http(srv.url, run_dir, 2)
        assert srv.count(model=JUDGE_MODEL) == 48 + 28  # only the missing pairs asked
        assert (resumed.pairs_skipped, resumed.items_coded, resumed.scored) == (20, 4, 28)
        assert pairs_once(run_dir, 6)
        assert set(cache_lines(run_dir)) == {"responses.judges.jsonl",
                                             "responses.judges.worker-1-of-2.jsonl"}
        # Scores lost: the 20 pairs whose replies went with the first caches are asked again.
        path.unlink()
        score_over_http(srv.url, run_dir, 1)
        assert srv.count(model=JUDGE_MODEL) == 48 + 28 + 20
        # Scores lost, replies kept: each reply comes from whichever cache file holds it,
        # with slices that differ from those that wrote them.
        path.unlink()
        again = score_over_http(srv.url, run_dir, 2)
        assert srv.count(model=JUDGE_MODEL) == 48 + 28 + 20
        assert (again.items_coded, again.scored) == (6, 48)
        assert pairs_once(run_dir, 6)


def test_a_failing_worker_is_raised_and_what_was_written_stays(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, 6)
    path = score_file(run_dir)
    with server() as srv:
        score_over_http(srv.url, run_dir, 2)
        kept = path.read_text().splitlines(keepends=True)[:20]
        path.write_text("".join(kept))
        for cache in (run_dir / "cache").glob("*.jsonl"):
            cache.unlink()
        # Worker 1 cannot open its cache file (a folder stands in its place); this process,
        # given no cache, codes its own share.
        (run_dir / "cache" / "responses.judges.worker-1-of-2.jsonl").mkdir()
        with pytest.raises(InputError, match=r"worker-1-of-2\.jsonl: is a directory"):
            score_over_http(srv.url, run_dir, 2, parent_cache=False)
    after = path.read_text().splitlines(keepends=True)
    assert after[:20] == kept
    found = [(r.blind_id, r.dimension) for r in records(run_dir)]
    assert len(found) == len(set(found))


# ------------------------------------------------------------ interrupted and killed


def children(pid: int) -> dict[int, str]:
    """Live processes whose parent is ``pid``, with their command lines (Linux /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(stat.parent.name)] = cmdline
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: object, what: str, limit_s: float = 120.0) -> None:
    """A hang guard, not a timing assertion: fail only if ``condition`` never holds."""
    assert callable(condition)
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("stop", ["ctrl-c", "kill-9"])
def test_stopped_parent_leaves_no_worker_and_a_rerun_codes_the_rest_once(
        tmp_path: Path, stop: str) -> None:
    n = 24
    run_dir = make_run(tmp_path, n)
    worker_cache = run_dir / "cache" / "responses.judges.worker-1-of-2.jsonl"
    with server(latency_s=1.0) as slow:
        # stderr to a file: a pipe would stay open as long as an orphaned worker lives.
        log = (tmp_path / "stderr.txt").open("w")
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.score.score_child", slow.url, str(run_dir), "2", "2"],
            cwd=ROOT, stderr=log, text=True, start_new_session=True)
        try:
            # Stopped mid-run: the worker has cached a reply, and has 11 items (a second
            # each) left in its slice.
            wait_for(lambda: worker_cache.is_file() and worker_cache.stat().st_size > 0,
                     "the worker's first reply")
            workers = [pid for pid, cmd in children(child.pid).items() if "spawn_main" in cmd]
            assert len(workers) == 1
            if stop == "ctrl-c":
                os.killpg(child.pid, signal.SIGINT)  # as a terminal does: the whole group
            else:
                child.kill()
            child.wait(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
            log.close()
        wait_for(lambda: not any(alive(pid) for pid in workers), "the worker's exit", 60)
    stderr = (tmp_path / "stderr.txt").read_text()
    # The worker stopped with its parent instead of coding the rest of its slice alone.
    assert cache_lines(run_dir)[worker_cache.name] < (n // 2) * PAIRS_PER_ITEM
    if stop == "ctrl-c":
        assert child.returncode == 130
        assert "Traceback" not in stderr, stderr
    else:
        assert child.returncode == -signal.SIGKILL
    partial = len(records(run_dir)) if score_file(run_dir).is_file() else 0
    assert partial < n * PAIRS_PER_ITEM
    with server() as fast:  # the replies already cached are not asked again
        rerun = score_over_http(fast.url, run_dir, 2)
    assert rerun.pairs_skipped == partial
    assert pairs_once(run_dir, n)

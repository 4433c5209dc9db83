"""Each stage run alone from the command line on one run directory, as a user would (in this
process: ``main(argv)``), and the run.* client settings reaching LLM judges."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.rundir import RunDir
from harness.testing.testserver import Fault, TestServer
from tests.conftest import Ran

Xstress = Callable[..., Ran]
JUDGE_KEY = "sk-test-FAKE-judge-5b1d-never-written"
DIMENSIONS = [f"D{i}" for i in range(1, 9)]
# One call per item (mode: joint), so the counts below are items; one call per dimension is
# tested in tests/score/test_stage.py.
LOCAL_JUDGE = ("name: local_judge\nkind: llm\nlitellm_model: openai/judge\nfamily: local\n"
               "api_key_env: XSTRESS_JUDGE_KEY\nmode: joint\n")


def judge_reply(messages: list[dict[str, object]]) -> str:
    """A mock judge: level 2 on D3 when the transcript has a 'How to check' section; its
    evidence is the start of the first message (the line after the first header)."""
    text = str(messages[-1]["content"])
    d3 = 2 if "How to check" in text else 0
    start = text.find("\n", text.find("<<<USER TURN 1 ")) + 1
    quote = text[start:start + 40].strip()
    scores = {d: {"level": 1, "reason": None, "rationale": "mock", "evidence": quote}
              for d in DIMENSIONS}
    scores["D3"]["level"] = d3
    scores["D8"] = {"level": None, "reason": "no role stated", "rationale": "mock",
                    "evidence": ""}
    return json.dumps({"scores": scores})


def swept_copy(offline_run: Path, target: Path, models: tuple[str, ...] = (
        "sim-cautious", "sim-eager"), scaffolds: tuple[str, ...] = ("bare", "verify")) -> Path:
    """A run directory holding only the sweep's output for some of the offline run's cells."""
    source, copy = RunDir(offline_run), RunDir(target)
    copy.root.mkdir(parents=True)
    shutil.copy(source.manifest(), copy.manifest())
    lines = [line for line in source.transcripts().read_text().splitlines()
             if json.loads(line)["model"] in models and json.loads(line)["scaffold"] in scaffolds]
    copy.transcripts().write_text("\n".join(lines) + "\n")
    return copy.root


@pytest.fixture
def judge_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (project / "configs" / "judges" / "local_judge.yaml").write_text(LOCAL_JUDGE)
    monkeypatch.setenv("XSTRESS_JUDGE_KEY", JUDGE_KEY)
    return project


def test_stages_one_by_one(judge_project: Path, offline_run: Path, tmp_path: Path,
                           xstress: Xstress) -> None:
    run_dir = swept_copy(offline_run, tmp_path / "staged")

    blind = xstress("blind", str(run_dir), "seed=3")
    assert blind.code == 0, blind.err
    assert "60 items" in blind.err and "identifiable" in blind.err
    key_before = (run_dir / "blind" / "key.jsonl").read_bytes()
    again = xstress("blind", str(run_dir))  # resumes: nothing new, nothing to do
    assert again.code == 0 and "already done" in again.err and "--force" in again.err
    assert (run_dir / "blind" / "key.jsonl").read_bytes() == key_before

    with TestServer(require_key=JUDGE_KEY, replies={"judge": judge_reply}) as server:
        score = xstress("score", str(run_dir), "judges=[heuristic,local_judge]",
                        f"provider.api_base={server.url}")
        assert score.code == 0, score.err
        assert server.count(model="judge") == 60
        rescore = xstress("score", str(run_dir), "judges=[heuristic,local_judge]",
                          f"provider.api_base={server.url}")
        assert rescore.code == 0 and server.count(model="judge") == 60
    judged = [json.loads(line) for line in
              (run_dir / "scores" / "local_judge.jsonl").read_text().splitlines()]
    assert len(judged) == 60 * 8
    assert {r["status"] for r in judged if r["dimension"] == "D8"} == {"null"}
    assert {r["coder_kind"] for r in judged} == {"llm_judge"}

    export = xstress("code", "export", str(run_dir), "coder=alice", "format=csv")
    assert export.code == 0, export.err
    packet = next((run_dir / "coding").glob("alice*.csv"))
    rows = list(csv.DictReader(packet.open()))
    assert len(rows) == 60 * 8
    for row in rows:
        row["level"] = "2" if row["dimension"] == "D3" else "1"
    filled = tmp_path / "alice.csv"
    with filled.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    imported = xstress("code", "import", str(run_dir), str(filled), "coder=alice")
    assert imported.code == 0, imported.err

    agree = xstress("agree", str(run_dir))
    assert agree.code == 0, agree.err
    table = list(csv.DictReader((run_dir / "report" / "agreement.csv").open()))
    assert {(r["coder_a"], r["coder_b"]) for r in table if r["coder_b"]} >= {
        ("alice", "heuristic"), ("alice", "local_judge"), ("heuristic", "local_judge")}

    report = xstress("report", str(run_dir), "coder=local_judge",
                     "report.n_perm=200")
    assert report.code == 0, report.err
    text = (run_dir / "report" / "report.md").read_text()
    assert "local_judge" in text and "SIMULATED" in text
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert JUDGE_KEY not in path.read_text(errors="replace"), path


def test_judge_calls_take_the_run_client_settings(judge_project: Path, offline_run: Path,
                                                  tmp_path: Path, xstress: Xstress) -> None:
    """run.timeout_s and run.max_attempts reach LLM judges as they reach target models."""
    run_dir = swept_copy(offline_run, tmp_path / "judged", models=("sim-eager",),
                         scaffolds=("bare",))
    assert xstress("blind", str(run_dir), "seed=1").code == 0
    with TestServer(require_key=JUDGE_KEY, hang_s=5.0,
                    always={"judge": Fault.timeout()}) as server:
        score = xstress("score", str(run_dir), "judges=[local_judge]",
                        f"provider.api_base={server.url}", "run.timeout_s=0.2",
                        "run.max_attempts=2", "run.retry_base_s=0", "run.concurrency=15")
        requests = server.attempts_by_fingerprint()
    # every code unscored: more than pipeline.max_unscored_share, so the stage exits 1
    assert score.code == 1, score.err
    assert ("local_judge left 120 of 120 codes unscored (100%, more than "
            "pipeline.max_unscored_share=0.2): 120 x judge call failed after 2 attempt(s)"
            in score.err), score.err
    # 15 items, each judge request tried exactly run.max_attempts times, each ended by the
    # client's run.timeout_s (a litellm Timeout), not by the server
    assert len(requests) == 15 and set(requests.values()) == {2}
    records = [json.loads(line) for line in
               (run_dir / "scores" / "local_judge.jsonl").read_text().splitlines()]
    assert {r["status"] for r in records} == {"unscored"}
    assert all("Timeout" in r["reason"] for r in records), records[0]["reason"]


def test_score_shares_a_judge_between_worker_processes(judge_project: Path, offline_run: Path,
                                                       tmp_path: Path, xstress: Xstress) -> None:
    """run.workers=2: one worker process beside the command's own; every item asked once and
    written once, by the command, whoever coded it."""
    run_dir = swept_copy(offline_run, tmp_path / "workers", models=("sim-eager",),
                         scaffolds=("bare",))
    assert xstress("blind", str(run_dir), "seed=1").code == 0
    with TestServer(require_key=JUDGE_KEY, replies={"judge": judge_reply}) as server:
        score = xstress("score", str(run_dir), "judges=[local_judge]",
                        f"provider.api_base={server.url}", "run.workers=2")
        assert score.code == 0, score.err
        assert server.count(model="judge") == 15
    records = [json.loads(line) for line in
               (run_dir / "scores" / "local_judge.jsonl").read_text().splitlines()]
    assert len({(r["blind_id"], r["dimension"]) for r in records}) == len(records) == 15 * 8
    assert "15 of 15 items coded" in score.err
    worker_cache = run_dir / "cache" / "responses.judges.worker-1-of-2.jsonl"
    assert len(worker_cache.read_text().splitlines()) == 7  # items 1, 3, ..., 13


@pytest.mark.parametrize("args", [
    ["blind", "{tmp}/nope"], ["score", "{tmp}"], ["report", "{tmp}"], ["agree", "{tmp}/nope"],
    ["code", "export", "{tmp}"], ["code", "import", "{tmp}", "{tmp}/x.csv", "coder=a"],
    ["report", "{tmp}", "codr=x"], ["blind", "{tmp}", "--seed", "3"],
])
def test_stage_errors_are_one_line(tmp_path: Path, xstress: Xstress, args: list[str]) -> None:
    result = xstress(*(arg.format(tmp=tmp_path) for arg in args))
    assert result.code == 2, (args, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("xstress: error: "), (args, result.err)


def test_blind_on_a_current_blinding_has_nothing_to_do(offline_run: Path, tmp_path: Path,
                                                       xstress: Callable[..., Ran]) -> None:
    """Rerunning a stage resumes it: a blinding no transcript is newer than stays as it is (exit
    0, every file byte-identical); new transcripts under existing scores still need --force."""
    import hashlib
    import os

    run = tmp_path / "run"
    shutil.copytree(offline_run, run)

    def digest() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in (run / "blind").iterdir() if p.is_file()}

    before = digest()
    ran = xstress("blind", str(run))
    assert ran.code == 0, ran.err
    assert "already done" in ran.err and digest() == before
    newer = (run / "blind" / "items.jsonl").stat().st_mtime + 10
    os.utime(run / "transcripts.jsonl", (newer, newer))
    ran = xstress("blind", str(run))
    assert ran.code == 2 and "already holds a blinding" in ran.err
    assert digest() == before

"""Each stage run alone from the command line on one run directory, as a user would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.testing.testserver import TestServer
from tests.conftest import cli_env, run_cli

pytestmark = pytest.mark.slow

JUDGE_KEY = "sk-test-FAKE-judge-5b1d-never-written"
DIMENSIONS = [f"D{i}" for i in range(1, 9)]


def judge_reply(messages: list[dict[str, object]]) -> str:
    """A mock judge: level 2 on D3 when the transcript has a 'How to check' section."""
    text = str(messages[-1]["content"])
    d3 = 2 if "How to check" in text else 0
    start = text.find("\n", text.find("<<<TRANSCRIPT")) + 1
    quote = text[start:start + 40].strip()
    scores = {d: {"level": 1, "reason": None, "rationale": "mock", "evidence": quote}
              for d in DIMENSIONS}
    scores["D3"]["level"] = d3
    scores["D8"] = {"level": None, "reason": "no role stated", "rationale": "mock",
                    "evidence": ""}
    return json.dumps({"scores": scores})


def test_stages_one_by_one(project: Path, tmp_path: Path) -> None:
    (project / "configs" / "judges" / "local_judge.yaml").write_text(
        "name: local_judge\nkind: llm\nlitellm_model: openai/judge\nfamily: local\n"
        "api_key_env: XSTRESS_JUDGE_KEY\n")
    env = cli_env(project, XSTRESS_JUDGE_KEY=JUDGE_KEY)
    run_dir = tmp_path / "staged"
    sweep = run_cli(["run", "preset=offline", "models=[sim-cautious,sim-eager]",
                     "scaffolds=[bare,verify]", "pipeline.stages=[sweep]",
                     f"run.out_dir={tmp_path}", "run.name=staged"], cwd=tmp_path, env=env)
    assert sweep.returncode == 0, sweep.stderr

    blind = run_cli(["blind", str(run_dir), "--seed", "3"], cwd=tmp_path, env=env)
    assert blind.returncode == 0, blind.stderr
    assert "60 items" in blind.stderr and "identifiable" in blind.stderr
    key_before = (run_dir / "blind" / "key.jsonl").read_bytes()
    again = run_cli(["blind", str(run_dir)], cwd=tmp_path, env=env)
    assert again.returncode == 2 and "--force" in again.stderr
    assert (run_dir / "blind" / "key.jsonl").read_bytes() == key_before

    with TestServer(require_key=JUDGE_KEY, replies={"judge": judge_reply}) as server:
        score = run_cli(["score", str(run_dir), "judges=[heuristic,local_judge]",
                         f"provider.api_base={server.url}"], cwd=tmp_path, env=env)
        assert score.returncode == 0, score.stderr
        assert server.count(model="judge") == 60
        rescore = run_cli(["score", str(run_dir), "judges=[heuristic,local_judge]",
                           f"provider.api_base={server.url}"], cwd=tmp_path, env=env)
        assert rescore.returncode == 0 and server.count(model="judge") == 60
    judged = [json.loads(line) for line in
              (run_dir / "scores" / "local_judge.jsonl").read_text().splitlines()]
    assert len(judged) == 60 * 8
    assert {r["status"] for r in judged if r["dimension"] == "D8"} == {"null"}
    assert {r["coder_kind"] for r in judged} == {"llm_judge"}

    export = run_cli(["code", "export", str(run_dir), "--coder", "alice", "--format", "csv"],
                     cwd=tmp_path, env=env)
    assert export.returncode == 0, export.stderr
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
    imported = run_cli(["code", "import", str(run_dir), str(filled), "--coder", "alice"],
                       cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stderr

    agree = run_cli(["agree", str(run_dir)], cwd=tmp_path, env=env)
    assert agree.returncode == 0, agree.stderr
    table = list(csv.DictReader((run_dir / "report" / "agreement.csv").open()))
    assert {(r["coder_a"], r["coder_b"]) for r in table if r["coder_b"]} >= {
        ("alice", "heuristic"), ("alice", "local_judge"), ("heuristic", "local_judge")}

    report = run_cli(["report", str(run_dir), "--coder", "local_judge", "--n-boot", "200",
                      "--n-perm", "200"], cwd=tmp_path, env=env)
    assert report.returncode == 0, report.stderr
    text = (run_dir / "report" / "report.md").read_text()
    assert "local_judge" in text and "SIMULATED" in text
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert JUDGE_KEY not in path.read_text(errors="replace"), path


def test_stage_errors_are_one_line(tmp_path: Path) -> None:
    for args in (["blind", str(tmp_path / "nope")], ["score", str(tmp_path)],
                 ["report", str(tmp_path)], ["agree", str(tmp_path / "nope")]):
        result = run_cli(args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.stderr, (args, result.stderr)

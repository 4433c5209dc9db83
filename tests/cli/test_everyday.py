"""The everyday commands as a user runs them: a 5-cell smoke run, ``runs``, ``show``, ``list``,
``--json`` results on stdout (human lines on stderr), and hints for override mistakes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import list_names, load_spec
from tests.conftest import Ran

Xstress = Callable[..., Ran]


def transcript_lines(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / "transcripts.jsonl").read_text().splitlines()]


def test_a_five_cell_run_then_runs_show_and_report_as_json(tmp_path: Path,
                                                           xstress: Xstress) -> None:
    ran = xstress("run", "preset=offline", "run.limit=5", f"run.out_dir={tmp_path}",
                  "run.name=smoke", "--json")
    assert ran.code == 0, ran.err
    result = json.loads(ran.out)  # stdout holds the JSON alone; the human lines are on stderr
    assert "sweep: 5 cells: 5 ok" in ran.err
    rows = transcript_lines(tmp_path / "smoke")
    assert len(rows) == 5 and result["run"]["cells"] == 5 and result["run"]["ok"] == 5
    assert result["exit_code"] == 0 and result["run"]["simulated"] is True
    assert Path(result["report_html"]).is_file()

    listed = xstress("runs", str(tmp_path), "--json")
    assert listed.code == 0, listed.err
    (row,) = json.loads(listed.out)
    assert row == result["run"]
    assert row["name"] == "smoke" and row["not_run"] == 0 and row["finished"] is True
    table = xstress("runs", str(tmp_path))
    assert table.out.splitlines()[1].split()[:5] == ["smoke", "(sim)", row["started_at"][:10],
                                                    row["started_at"][11:19], "5"]

    third = rows[2]
    by_number = xstress("show", str(tmp_path / "smoke"), "3")
    by_id = xstress("show", str(tmp_path / "smoke"), str(third["cell_id"])[:8], "--calls")
    assert by_number.code == by_id.code == 0
    assert by_id.out.startswith(by_number.out)  # --calls adds the calls after the conversation
    assert f"cell {third['cell_id']}" in by_number.out and "SIMULATED" in by_number.out
    for message in third["messages"]:  # type: ignore[attr-defined]
        assert message["content"] in by_number.out
    missing = xstress("show", str(tmp_path / "smoke"), "6")
    assert missing.code == 2 and "give N from 1 to 5" in missing.err

    report = xstress("report", str(tmp_path / "smoke"), "--json")
    assert report.code == 0, report.err
    summary = json.loads(report.out)
    assert summary["simulated"] is True and summary["coder"] in " ".join(summary["summary"])
    assert Path(summary["report_md"]).is_file() and summary["summary"]


def test_plan_json_counts_the_selected_cells(xstress: Xstress) -> None:
    full = json.loads(xstress("plan", "preset=offline", "--json").out)
    limited = json.loads(xstress("plan", "preset=offline", "run.limit=7", "--json").out)
    scenario = load_spec("prompts", "stress15").scenarios[4].id
    only = json.loads(xstress("plan", "preset=offline", f"prompts.only=[{scenario}]",
                              "--json").out)
    assert full["cells"] == 3 * 4 * full["scenarios"]
    assert limited["cells"] == 7 and limited["limit"] == 7
    assert only["cells"] == 12 and only["only"] == [scenario]


def test_an_unknown_scenario_id_is_one_line_with_a_did_you_mean(xstress: Xstress) -> None:
    scenario = load_spec("prompts", "stress15").scenarios[0].id
    ran = xstress("plan", "preset=offline", f"prompts.only=[{scenario[:-1]}]")
    assert ran.code == 2 and len(ran.err.strip().splitlines()) == 1
    assert f"did you mean {scenario}?" in ran.err


@pytest.mark.parametrize(("override", "written"), [
    ("scaffold=bare", "write scaffolds=bare"),
    ("run.limt=3", "write run.limit=3"),
    ("report.coderr=alice", "write report.coder=alice"),
    ("scaffolds=[verfy]", "did you mean verify?"),
    ("prompts.only=a,b", "write prompts.only=[a,b]"),
    ("coder=heuristic", "write report.coder=heuristic"),
])
def test_override_mistakes_get_the_override_meant(xstress: Xstress, override: str,
                                                  written: str) -> None:
    ran = xstress("plan", "preset=offline", override)
    assert ran.code == 2 and written in ran.err
    suggestion = written.removeprefix("write ")
    if "=" in suggestion and "[a,b]" not in suggestion:  # the suggestion itself is accepted
        assert xstress("plan", "preset=offline", suggestion).code == 0


@pytest.mark.parametrize("kind", ["models", "scaffolds", "prompts", "judges", "rubric", "users"])
def test_list_names_every_file_and_cuts_no_word(xstress: Xstress, kind: str) -> None:
    ran = xstress("list", kind, "--json")
    assert ran.code == 0, ran.err
    entries = json.loads(ran.out)
    assert [entry["name"] for entry in entries] == list_names(kind)
    text = xstress("list", kind).out
    for entry in entries:
        assert entry["description"].split() == [
            word for word in entry["description"].split() if word in text.split()]


def test_list_prompts_set_gives_the_ids_prompts_only_takes(xstress: Xstress) -> None:
    ids = [entry["name"] for entry in json.loads(xstress("list", "prompts", "stress15",
                                                         "--json").out)]
    assert ids == [s.id for s in load_spec("prompts", "stress15").scenarios]
    assert xstress("list", "modles").code == 2


def test_scaffolds_list_wraps_descriptions_instead_of_cutting(xstress: Xstress) -> None:
    out = xstress("scaffolds", "list").out
    for name in list_names("scaffolds"):
        assert load_spec("scaffolds", name).description.split()[-1] in out.split()


def test_runs_before_any_run_is_an_empty_list(tmp_path: Path, xstress: Xstress,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ran = xstress("runs", "--json")
    assert ran.code == 0 and json.loads(ran.out) == []
    assert xstress("runs", str(tmp_path / "nowhere")).code == 2  # a folder named, not found


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """``xstress list scaffolds | true``: the reader is gone before xstress writes (Python
    starts in a third of a second, ``true`` in a millisecond); xstress exits quietly."""
    import subprocess
    import sys

    from tests.conftest import cli_env

    pipe = subprocess.run(
        f"{sys.executable} -m harness list scaffolds | true", shell=True, cwd=tmp_path,
        env=cli_env(), capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in pipe.stderr and "BrokenPipe" not in pipe.stderr, pipe.stderr

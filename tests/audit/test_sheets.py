"""The sheet reader (harness/audit/sheets.py): CSV and YAML sheets read to the same rows, and
every problem is its own one-line error naming file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.audit import (
    BenchmarkList,
    SheetProblems,
    read_benchmark_list,
    read_sheets,
    template_text,
)
from harness.errors import ConfigError

DIMENSIONS = ("D1", "D2", "D3")
LISTING = BenchmarkList.model_validate({"name": "t", "benchmarks": [
    {"name": "alpha", "source": "A paper", "evidence_level": "response"},
    {"name": "beta, with a comma", "source": None}]})


def filled_yaml(path: Path, coder: str, levels: list[list[int | None]]) -> Path:
    entries = yaml.safe_load(template_text(LISTING, DIMENSIONS, coder=coder, fmt="yaml"))
    for entry, row in zip(entries, levels, strict=True):
        entry["evidence_level"] = entry["evidence_level"] or "model"
        entry.update(zip(DIMENSIONS, row, strict=True))
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    return path


def test_csv_and_yaml_sheets_read_to_the_same_rows(tmp_path: Path) -> None:
    levels = [[0, 1, 2], [2, 2, 0]]
    yaml_rows = read_sheets([filled_yaml(tmp_path / "a.yaml", "ann", levels)], DIMENSIONS)
    csv_path = tmp_path / "a.csv"
    lines = template_text(LISTING, DIMENSIONS, coder="ann").splitlines()
    lines[1] = lines[1].replace("response,ann,,,,", "response,ann,0,1,2,")
    lines[2] = lines[2].replace(",,ann,,,,", ",model,ann,2,2,0,")
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    csv_rows = read_sheets([csv_path], DIMENSIONS)
    strip = {"file", "row"}
    assert [r.model_dump(exclude=strip) for r in csv_rows] == [
        r.model_dump(exclude=strip) for r in yaml_rows]
    assert [r.benchmark for r in csv_rows] == ["alpha", "beta, with a comma"]
    assert [r.row for r in csv_rows] == [2, 3] and [r.row for r in yaml_rows] == [1, 2]
    assert csv_rows[0].levels == {"D1": 0, "D2": 1, "D3": 2}


def test_every_problem_is_one_error_naming_file_row_and_column(tmp_path: Path) -> None:
    sheet = filled_yaml(tmp_path / "b.yaml", "bo", [[0, None, 2], [5, 1, 1]])
    entries = yaml.safe_load(sheet.read_text(encoding="utf-8"))
    entries[0]["D7"] = 1
    entries[1]["D7"] = 1
    sheet.write_text(yaml.safe_dump(entries), encoding="utf-8")
    with pytest.raises(SheetProblems) as caught:
        read_sheets([sheet, tmp_path / "missing.csv", tmp_path / "codes.txt"], DIMENSIONS)
    lines = [problem.one_line() for problem in caught.value.problems]
    assert len(lines) == 5, lines
    assert "b.yaml: column D7: unknown dimension" in lines[0]  # once, not once per row
    assert "b.yaml: row 1, column D2: not coded (empty)" in lines[1]
    assert "b.yaml: row 2, column D1: level 5 is not 0, 1 or 2" in lines[2]
    assert "missing.csv: file not found" in lines[3]
    assert "codes.txt: not an audit sheet" in lines[4]
    assert all("(fix: " in line and "\n" not in line for line in lines)


def test_a_benchmark_may_be_coded_once_per_coder_across_sheets(tmp_path: Path) -> None:
    first = filled_yaml(tmp_path / "one.yaml", "cy", [[0, 0, 0], [1, 1, 1]])
    second = filled_yaml(tmp_path / "two.yaml", "cy", [[2, 2, 2], [1, 1, 1]])
    with pytest.raises(SheetProblems) as caught:
        read_sheets([first, second], DIMENSIONS)
    assert len(caught.value.problems) == 2
    assert "two.yaml: row 1, column benchmark: 'alpha' coded again by coder 'cy' (first at" \
        in caught.value.problems[0].one_line()
    misspelt = filled_yaml(tmp_path / "four.yaml", "CY", [[2, 2, 2], [1, 1, 1]])
    with pytest.raises(SheetProblems) as caught:
        read_sheets([first, misspelt], DIMENSIONS)
    assert "four.yaml: row 1, column coder: 'CY' differs from 'cy'" in (
        caught.value.problems[0].one_line())
    other = filled_yaml(tmp_path / "three.yaml", "dee", [[2, 2, 2], [1, 1, 1]])
    assert len(read_sheets([first, other], DIMENSIONS)) == 4


def test_a_benchmark_list_names_each_benchmark_once(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("name: x\nbenchmarks:\n  - name: IFEval\n  - name: ifeval\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="entry 2: 'ifeval' is listed twice"):
        read_benchmark_list(path)
    path.write_text("name: x\nbenchmarks:\n  - name: a\n    evidence_level: societal\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"benchmarks\.0\.evidence_level"):
        read_benchmark_list(path)


def test_column_names_match_whatever_their_case_and_semicolons_are_named(tmp_path: Path) -> None:
    sheet = tmp_path / "excel.csv"
    sheet.write_text("Benchmark,Evidence_Level,Coder,d1,D2,d3\nalpha,model,eve,0,1,2\n",
                     encoding="utf-8")
    (row,) = read_sheets([sheet], DIMENSIONS)
    assert (row.benchmark, row.coder, row.levels) == ("alpha", "eve", {"D1": 0, "D2": 1, "D3": 2})
    sheet.write_text("benchmark;evidence_level;coder;D1;D2;D3\nalpha;model;eve;0;1;2\n",
                     encoding="utf-8")
    with pytest.raises(SheetProblems) as caught:
        read_sheets([sheet], DIMENSIONS)
    (problem,) = caught.value.problems
    assert "excel.csv: row 1, cells are separated by ';'" in problem.one_line()

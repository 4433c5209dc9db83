"""``xstress audit`` and ``xstress audit template`` as a user runs them (in-process): the
template round trip, bad sheets (one line each, exit 2, nothing written), adjudication, and
that the report shows no code the sheets do not hold."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.audit import EVIDENCE_LEVELS, read_benchmark_list
from tests.conftest import ROOT, Ran

Xstress = Callable[..., Ran]
DIMENSIONS = [f"D{i}" for i in range(1, 9)]
STUDY_BENCHMARKS = {"tau-bench", "CURATe", "Rifts", "Common Ground", "TruthfulQA", "IFEval",
                    "MT-Bench", "Chatbot Arena"}


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def fill(path: Path, offset: int) -> dict[tuple[str, str], int]:
    """Code every empty cell of a template (a deterministic pattern); returns the codes."""
    rows = read_rows(path)
    codes = {}
    for index, row in enumerate(rows):
        row["evidence_level"] = EVIDENCE_LEVELS[index % 4]
        for number, dimension in enumerate(DIMENSIONS):
            level = (index + number * offset) % 3
            row[dimension] = str(level)
            codes[(row["benchmark"], dimension)] = level
    write_rows(path, rows)
    return codes


@pytest.fixture
def coded(tmp_path: Path, xstress: Xstress) -> tuple[Path, Path]:
    """alice's and bob's sheets, from the template, filled in."""
    for coder in ("alice", "bob"):
        assert xstress("audit", "template", f"out={tmp_path / f'{coder}.csv'}",
                       f"coder={coder}").code == 0
    fill(tmp_path / "alice.csv", 1)
    fill(tmp_path / "bob.csv", 2)
    return tmp_path / "alice.csv", tmp_path / "bob.csv"


def test_the_shipped_benchmark_list_names_the_study_benchmarks_with_sources_and_no_codes(
) -> None:
    listing = read_benchmark_list(ROOT / "configs" / "audit" / "benchmarks.yaml")
    assert {entry.name for entry in listing.benchmarks} == STUDY_BENCHMARKS
    # Evidence levels, like the D codes, are the coders' to give.
    assert all(entry.evidence_level is None for entry in listing.benchmarks)
    with_source = [entry for entry in listing.benchmarks if entry.source]
    assert len(with_source) == len(STUDY_BENCHMARKS) - 1  # Common Ground's is not guessed
    raw = (ROOT / "configs" / "audit" / "benchmarks.yaml").read_text(encoding="utf-8")
    assert not any(f"{dimension}:" in raw for dimension in DIMENSIONS)


def test_template_lists_every_benchmark_with_its_source_and_no_codes(
        tmp_path: Path, xstress: Xstress) -> None:
    ran = xstress("audit", "template")
    assert ran.code == 0
    rows = list(csv.DictReader(ran.out.splitlines()))
    assert list(rows[0]) == ["benchmark", "source", "evidence_level", "coder", *DIMENSIONS,
                             "note"]
    assert {row["benchmark"] for row in rows} == STUDY_BENCHMARKS
    assert all(row[d] == "" and row["evidence_level"] == "" for row in rows for d in DIMENSIONS)
    tau = next(row for row in rows if row["benchmark"] == "tau-bench")
    assert "arXiv:2406.12045" in tau["source"]

    ran = xstress("audit", "template", f"out={tmp_path / 'carol.yaml'}", "coder=carol")
    assert ran.code == 0
    entries = yaml.safe_load((tmp_path / "carol.yaml").read_text(encoding="utf-8"))
    assert {entry["coder"] for entry in entries} == {"carol"}
    assert all(entry[d] is None for entry in entries for d in DIMENSIONS)


def test_the_shipped_template_is_what_the_command_writes(xstress: Xstress) -> None:
    # configs/audit/template.csv is `xstress audit template > configs/audit/template.csv`:
    # refresh it the same way when the benchmark list or the rubric changes.
    shipped = (ROOT / "configs" / "audit" / "template.csv").read_text(encoding="utf-8")
    assert xstress("audit", "template").out == shipped


def test_template_never_overwrites_a_sheet(tmp_path: Path, xstress: Xstress) -> None:
    sheet = tmp_path / "alice.csv"
    sheet.write_text("my codes\n", encoding="utf-8")
    ran = xstress("audit", "template", f"out={sheet}")
    assert ran.code == 2
    assert "already exists" in ran.err and len(ran.err.strip().splitlines()) == 1
    assert sheet.read_text(encoding="utf-8") == "my codes\n"
    ran = xstress("audit", "template", "--benchmarks", "list.yaml")
    assert ran.code == 2 and "benchmarks=list.yaml" in ran.err
    ran = xstress("audit", "template", "-o", "other.csv")
    assert ran.code == 2 and "(fix: write out=other.csv)" in ran.err


def test_template_to_filled_sheets_to_audit(coded: tuple[Path, Path], tmp_path: Path,
                                            xstress: Xstress) -> None:
    alice, bob = coded
    rows = read_rows(alice)
    for row in rows:
        row["note"] = f"read the {row['benchmark']} paper"
    write_rows(alice, rows)
    codes_a = {(r["benchmark"], d): int(r[d]) for r in read_rows(alice) for d in DIMENSIONS}
    codes_b = {(r["benchmark"], d): int(r[d]) for r in read_rows(bob) for d in DIMENSIONS}
    ran = xstress("audit", str(alice), str(bob), "n_boot=50")
    assert ran.code == 0, ran.err
    out = tmp_path / "audit"
    assert {p.name for p in out.iterdir()} == {"audit.md", "audit.html", "coverage.png",
                                               "coverage.csv", "agreement.csv",
                                               "disagreements.csv"}
    cells = read_rows(out / "coverage.csv")
    assert len(cells) == 8 * 8
    for cell in cells:
        key = (cell["benchmark"], cell["dimension"])
        if codes_a[key] == codes_b[key]:
            assert (cell["status"], cell["level"]) == ("agreed", str(codes_a[key]))
        else:
            assert (cell["status"], cell["level"]) == ("disputed", "")
        assert cell["codes"] == f"alice={codes_a[key]}; bob={codes_b[key]}"
    disagreements = [r for r in read_rows(out / "disagreements.csv")
                     if r["field"] != "evidence_level"]
    assert len(disagreements) == sum(codes_a[k] != codes_b[k] for k in codes_a)
    assert all(f"alice: read the {d['benchmark']} paper" in d["notes"] for d in disagreements)
    report = (out / "audit.md").read_text(encoding="utf-8")
    assert "alice (`" in report and "bob (`" in report and "Adjudicated: no" in report
    assert f"disagreements: {len(read_rows(out / 'disagreements.csv'))} (" in ran.out
    for count_line in ran.out.splitlines()[:8]:
        dimension = count_line.split(":")[0]
        substantive = sum(1 for k in codes_a if k[1] == dimension
                          and codes_a[k] == codes_b[k] == 2)
        assert f"by {substantive} of 8" in count_line


def test_adjudicated_codes_settle_the_coverage_matrix(coded: tuple[Path, Path], tmp_path: Path,
                                                      xstress: Xstress) -> None:
    alice, bob = coded
    rows = read_rows(alice)
    for row in rows:
        row["coder"] = "consensus"
        row["D3"] = "2"
    settled = write_rows(tmp_path / "consensus.csv", rows)
    ran = xstress("audit", str(alice), str(bob), f"adjudicated={settled}",
                  f"out={tmp_path / 'out'}", "n_boot=50")
    assert ran.code == 0, ran.err
    cells = read_rows(tmp_path / "out" / "coverage.csv")
    assert {cell["status"] for cell in cells} == {"adjudicated"}
    assert all(cell["level"] == "2" for cell in cells if cell["dimension"] == "D3")
    assert all("consensus (adjudicated)=" in cell["codes"] for cell in cells)
    report = (tmp_path / "out" / "audit.md").read_text(encoding="utf-8")
    assert "Adjudicated: yes, by consensus" in report
    assert "D3 verification support: measured substantively by 8 of 8" in report
    # The agreement is the coders', never the adjudicator's.
    assert "consensus" not in (tmp_path / "out" / "agreement.csv").read_text(encoding="utf-8")


BAD_SHEETS = {
    "level 3": (lambda rows: rows[1].update(D4="3"), "row 3, column D4: level 3 is not 0, 1 or 2"),
    "unknown dimension": (lambda rows: [row.update(D9="1") for row in rows],
                          "row 1, column D9: unknown dimension"),
    "duplicate row": (lambda rows: rows.append(dict(rows[0])),
                      "row 10, column benchmark: 'tau-bench' coded again by coder 'alice' "
                      "(first at"),
    "missing benchmark": (lambda rows: rows[4].update(benchmark=""),
                          "row 6, column benchmark: empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_SHEETS))
def test_a_bad_sheet_gets_one_line_and_exit_2_and_nothing_is_written(
        case: str, coded: tuple[Path, Path], tmp_path: Path, xstress: Xstress) -> None:
    alice, bob = coded
    rows = read_rows(alice)
    change, expected = BAD_SHEETS[case]
    change(rows)
    write_rows(alice, rows)
    ran = xstress("audit", str(alice), str(bob), f"out={tmp_path / 'out'}")
    assert ran.code == 2
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"xstress: error: {alice}: ") and expected in lines[0]
    assert "(fix: " in lines[0]
    assert not (tmp_path / "out").exists()


def test_every_problem_gets_its_own_line_and_an_earlier_audit_survives(
        coded: tuple[Path, Path], tmp_path: Path, xstress: Xstress) -> None:
    alice, bob = coded
    out = tmp_path / "out"
    assert xstress("audit", str(alice), str(bob), f"out={out}", "n_boot=20").code == 0
    before = (out / "audit.html").read_bytes()
    rows = read_rows(bob)
    rows[0]["D1"] = "7"
    rows[2]["evidence_level"] = "societal"
    rows[3]["D8"] = ""
    write_rows(bob, rows)
    ran = xstress("audit", str(alice), str(bob), f"out={out}")
    assert ran.code == 2
    lines = ran.err.strip().splitlines()
    assert [line.split(": ")[3].split(":")[0] for line in lines] == [
        "row 2, column D1", "row 4, column evidence_level", "row 5, column D8"]
    assert (out / "audit.html").read_bytes() == before


def test_audit_help_lists_its_settings(xstress: Xstress) -> None:
    ran = xstress("audit", "--help")
    assert ran.code == 0
    for setting in ("adjudicated=FILE", "out=DIR", "rubric=NAME", "n_boot=N"):
        assert setting in ran.out
    assert "audit template" in xstress("--help").out

"""Importing a coder's filled-in CSV as scores (harness/score/human_import.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.rundir import RunDir, ScoreRecord, read_json
from harness.schema import RubricSpec, content_hash
from harness.score.human_export import PACKET_COLUMNS, export_packet
from harness.score.human_import import import_codes
from harness.testing.rundirs import write_scores
from tests.score.key_guard import key_guard
from tests.score.packets import SECRETS, coding_run, mini_rubric, read_csv


def write_csv(
    path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = PACKET_COLUMNS
) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def filled_rows(run_dir: Path, rubric: RubricSpec) -> list[dict[str, str]]:
    """The exported packet with every row coded: level = (item index + dim index) % 3."""
    path = export_packet(run_dir, "alice", "csv", rubric, out=run_dir.parent / "packet.csv")
    rows = read_csv(path)
    for number, row in enumerate(rows):
        row["level"] = str(number % 3)
    return rows


def scores_lines(run_dir: Path, coder: str) -> list[ScoreRecord]:
    text = (run_dir / "scores" / f"{coder}.jsonl").read_text(encoding="utf-8")
    return [ScoreRecord.model_validate_json(line) for line in text.splitlines()]


def test_round_trip_writes_one_record_per_row(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=4)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    rows[2]["level"] = ""
    rows[2]["null_reason"] = "only one turn"
    rows[5]["notes"] = 'careful, "quoted"\nsecond line'
    summary = import_codes(run_dir, write_csv(tmp_path / "alice.csv", rows), "alice", rubric)

    assert summary.path == run_dir / "scores" / "alice.jsonl"
    assert (summary.n_items, summary.n_scored, summary.n_null, summary.n_missing) == (4, 11, 1, 0)
    assert summary.replaced is False
    records = scores_lines(run_dir, "alice")
    assert len(records) == 12
    assert [(r.blind_id, r.dimension) for r in records] == [
        (r["blind_id"], r["dimension"]) for r in rows
    ]
    assert all(r.coder == "alice" and r.coder_kind == "human" for r in records)
    assert {r.rubric_hash for r in records} == {content_hash(rubric)}
    assert records[0].status == "scored" and records[0].level == 0
    assert records[4].level == 1 and records[5].level == 2
    assert records[2].status == "null" and records[2].level is None
    assert records[2].reason == "only one turn"
    assert records[5].rationale == 'careful, "quoted"\nsecond line'
    assert records[0].rationale is None
    assert all(r.coder_hash is None for r in records)
    # No temp file is left next to the scores, nor next to the rubric stored with them.
    assert sorted(p.name for p in (run_dir / "scores").iterdir()) == ["alice.jsonl", "rubrics"]
    assert sorted(p.name for p in (run_dir / "scores" / "rubrics").iterdir()) == [
        f"{content_hash(rubric)}.json"
    ]


def test_import_is_lenient_about_layout(tmp_path: Path) -> None:
    """Column order, extra columns, a BOM, CRLF, NA markers and '1.0' are all fine."""
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    rows[0]["level"] = "N/A"
    rows[0]["null_reason"] = "not applicable"
    rows[1]["level"] = "1.0"
    for row in rows:
        row["coder_comment"] = "extra"
    rows[3]["dimension"] = "d1"
    columns = ("notes", "coder_comment", "level", "dimension", "blind_id", "null_reason")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    assert b"\r\n" in path.read_bytes()
    summary = import_codes(run_dir, path, "alice", rubric)
    assert (summary.n_scored, summary.n_null) == (5, 1)
    records = {(r.blind_id, r.dimension): r for r in scores_lines(run_dir, "alice")}
    assert records[("itm-0000", "D1")].status == "null"
    assert records[("itm-0000", "D2")].level == 1
    assert records[("itm-0001", "D1")].level == 0


def test_informational_columns_are_ignored_whatever_they_hold(tmp_path: Path) -> None:
    """The packet's reference notes and packet id (and the names beside the ids) are there
    for the coder: edited, emptied or odd, they never fail an import nor become a code."""
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    assert rows[0]["reference_notes"] and rows[0]["packet_id"]  # the packet carries them
    rows[0]["reference_notes"] = "3"
    rows[1]["reference_notes"] = 'edited, "quoted"\nand </script>'
    rows[2]["packet_id"] = "not-this-packet"
    rows[3]["dimension_name"] = ""
    rows[4]["scenario_id"] = "elsewhere"
    path = write_csv(tmp_path / "alice.csv", rows)
    summary = import_codes(run_dir, path, "alice", rubric)
    assert (summary.n_scored, summary.n_null, summary.n_missing) == (6, 0, 0)
    records = scores_lines(run_dir, "alice")
    assert [r.level for r in records] == [number % 3 for number in range(6)]
    assert all(r.rationale is None and r.reason is None for r in records)


def test_level_out_of_range_lists_rows_and_imports_nothing(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    rows[2]["level"] = "3"  # spreadsheet row 4
    rows[7]["level"] = "3"  # spreadsheet row 9
    path = write_csv(tmp_path / "alice.csv", rows)
    with pytest.raises(InputError) as caught:
        import_codes(run_dir, path, "alice", rubric)
    message = caught.value.one_line()
    assert f"{path}: rows 4, 9: level '3' out of range 0-2 (use 0, 1, 2 or blank" in message
    assert "nothing was imported" in message
    assert "\n" not in message
    assert not (run_dir / "scores" / "alice.jsonl").exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    rows[0]["blind_id"] = "itm-9999"  # row 2
    rows[1]["dimension"] = "D7"  # row 3
    rows[2]["level"] = ""  # row 4: blank level, blank reason
    rows[3]["level"] = "x"  # row 5
    rows[4]["null_reason"] = "but also a level"  # row 6
    rows[5]["level"] = "-1"  # row 7
    rows.append(dict(rows[6]))  # row 14: duplicate of row 8
    path = write_csv(tmp_path / "alice.csv", rows)
    with pytest.raises(InputError) as caught:
        import_codes(run_dir, path, "alice", rubric)
    message = caught.value.one_line()
    assert "row 2: unknown blind_id 'itm-9999'" in message
    assert "row 3: unknown dimension 'D7' (rubric mini3 has D1, D2, D3)" in message
    assert "row 4: missing level for this dimension" in message
    assert "row 5: level 'x' out of range 0-2" in message
    assert "row 6: both a level and a null_reason" in message
    assert "row 7: level '-1' out of range 0-2" in message
    assert "row 14: the same blind_id and dimension as an earlier row" in message
    # Rows 2 and 3 were not valid codes, so those pairs are also missing from the packet.
    assert "missing from the file: itm-0000 D1 D2" in message
    # Problems appear in row order.
    positions = [message.index(f"row {n}:") for n in (2, 3, 4, 5, 6, 7, 14)]
    assert positions == sorted(positions)
    assert not (run_dir / "scores").exists()


def test_missing_items_are_listed(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=3)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    kept = [
        r
        for r in rows
        if r["blind_id"] != "itm-0001" and (r["blind_id"], r["dimension"]) != ("itm-0002", "D3")
    ]
    path = write_csv(tmp_path / "alice.csv", kept)
    with pytest.raises(
        InputError, match=r"missing from the file: itm-0001 \(all dimensions\), itm-0002 D3"
    ):
        import_codes(run_dir, path, "alice", rubric)
    summary = import_codes(run_dir, path, "alice", rubric, allow_partial=True)
    assert (summary.n_items, summary.n_scored, summary.n_missing) == (2, 5, 4)


def test_allow_partial_skips_blank_rows(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    for row in rows[3:]:
        row["level"] = ""
    path = write_csv(tmp_path / "alice.csv", rows)
    with pytest.raises(InputError, match="rows 5, 6, 7: missing level"):
        import_codes(run_dir, path, "alice", rubric)
    summary = import_codes(run_dir, path, "alice", rubric, allow_partial=True)
    assert (summary.n_items, summary.n_scored, summary.n_null, summary.n_missing) == (1, 3, 0, 3)
    assert len(scores_lines(run_dir, "alice")) == 3


def test_na_marker_without_reason_is_an_error_even_when_partial(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=1)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    rows[1]["level"] = "NA"
    path = write_csv(tmp_path / "alice.csv", rows)
    with pytest.raises(InputError, match="row 3: missing level"):
        import_codes(run_dir, path, "alice", rubric, allow_partial=True)


def test_an_empty_packet_is_refused_even_when_partial(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=1)
    rubric = mini_rubric()
    path = export_packet(run_dir, "alice", "csv", rubric)
    with pytest.raises(InputError, match="no codes in the file"):
        import_codes(run_dir, path, "alice", rubric, allow_partial=True)


def test_long_row_lists_are_truncated(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=10)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    for row in rows:
        row["level"] = "5"
    with pytest.raises(
        InputError, match=r"rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 18 more: level '5'"
    ):
        import_codes(run_dir, write_csv(tmp_path / "a.csv", rows), "alice", rubric)


def test_header_problems(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=1)
    rubric = mini_rubric()
    no_level = write_csv(
        tmp_path / "a.csv", filled_rows(run_dir, rubric), ("blind_id", "dimension")
    )
    with pytest.raises(InputError, match=r"lacks column\(s\) level"):
        import_codes(run_dir, no_level, "alice", rubric)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty file"):
        import_codes(run_dir, empty, "alice", rubric)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("blind_id,dimension,level,notes\nitm-0000,D1,1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        import_codes(run_dir, latin, "alice", rubric)
    with pytest.raises(InputError, match="no such file"):
        import_codes(run_dir, tmp_path / "absent.csv", "alice", rubric)


def test_reimport_needs_replace(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
    rows = filled_rows(run_dir, rubric)
    path = write_csv(tmp_path / "alice.csv", rows)
    import_codes(run_dir, path, "alice", rubric)
    with pytest.raises(InputError) as caught:
        import_codes(run_dir, path, "alice", rubric)
    assert "re-run with --replace" in caught.value.one_line()
    rows[0]["level"] = "2"
    summary = import_codes(run_dir, write_csv(path, rows), "alice", rubric, replace=True)
    assert summary.replaced is True
    assert scores_lines(run_dir, "alice")[0].level == 2


def test_import_refuses_to_overwrite_a_judge(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=1)
    rubric = mini_rubric()
    judge = ScoreRecord(
        blind_id="itm-0000",
        dimension="D1",
        coder="heuristic",
        coder_kind="heuristic",
        status="scored",
        level=1,
        scored_at="2026-01-01T00:00:00+00:00",
    )
    write_scores(run_dir, "heuristic", [judge])
    path = write_csv(tmp_path / "h.csv", filled_rows(run_dir, rubric))
    with pytest.raises(InputError, match="scores of the heuristic coder"):
        import_codes(run_dir, path, "heuristic", rubric, replace=True)


def test_import_stores_the_rubric_coded_on(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
    path = write_csv(tmp_path / "alice.csv", filled_rows(run_dir, rubric))
    with key_guard() as opened:
        import_codes(run_dir, path, "alice", rubric)
    assert opened == []
    (the_hash,) = {r.rubric_hash for r in scores_lines(run_dir, "alice")}
    assert the_hash is not None
    stored = read_json(RunDir(run_dir).rubric(the_hash), RubricSpec, fix="")
    assert stored == rubric
    assert content_hash(stored) == the_hash
    for secret in SECRETS:
        assert secret not in (run_dir / "scores" / "alice.jsonl").read_text(encoding="utf-8")

"""Tests for harness/coding.py: coding packets (CSV and HTML) and importing a coder's CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from harness.errors import InputError
from harness.rundir.records import BlindedItem, KeyEntry, Message, ScoreRecord
from harness.schema import RubricDimension, RubricSpec, content_hash
from harness.score.human import (
    PACKET_COLUMNS,
    export_packet,
    import_codes,
    packet_id,
    read_blinded_items,
    render_form,
)

REPO = Path(__file__).resolve().parent.parent
SECRET_MODEL = "secret-model-name-xyz"


def small_rubric() -> RubricSpec:
    """Three dimensions, enough to exercise every code path."""

    def dimension(dim_id: str, name: str) -> RubricDimension:
        return RubricDimension(
            id=dim_id,
            name=name,
            definition=f"How well the assistant does {name.lower()}.",
            levels={0: f"{name}: absent", 1: f"{name}: partial", 2: f"{name}: full"},
            not_applicable_when="single-turn" if dim_id == "D1" else "",
        )

    return RubricSpec(
        name="mini3",
        dimensions=[
            dimension("D1", "Coherence"),
            dimension("D2", "Clarification"),
            dimension("D3", "Verification"),
        ],
    )


def make_items(count: int) -> list[BlindedItem]:
    items = []
    for index in range(count):
        items.append(
            BlindedItem(
                blind_id=f"itm-{index:04d}",
                scenario_id=f"scenario-{index % 2}",
                domain="health",
                messages=[
                    Message(role="user", content=f"Question {index}?\n  indented line"),
                    Message(role="assistant", content=f"Answer {index} </script><b>x</b> & co"),
                ],
            )
        )
    return items


def make_run(tmp_path: Path, count: int = 4) -> Path:
    run_dir = tmp_path / "run"
    (run_dir / "blind").mkdir(parents=True)
    items = make_items(count)
    (run_dir / "blind" / "items.jsonl").write_text(
        "".join(item.model_dump_json(by_alias=True) + "\n" for item in items), encoding="utf-8"
    )
    key = [
        KeyEntry(
            blind_id=item.blind_id,
            cell_id=f"cell-{n}",
            model=SECRET_MODEL,
            scaffold="verify",
            prompt_id=item.scenario_id,
            replicate=0,
        )
        for n, item in enumerate(items)
    ]
    (run_dir / "blind" / "key.jsonl").write_text(
        "".join(entry.model_dump_json() + "\n" for entry in key), encoding="utf-8"
    )
    return run_dir


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


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


# --------------------------------------------------------------------------- export


def test_csv_packet_has_one_empty_row_per_item_and_dimension(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, count=3)
    rubric = small_rubric()
    path = export_packet(run_dir, "alice", "csv", rubric)
    assert path == run_dir / "coding" / "alice-packet.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM so spreadsheets read UTF-8
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == PACKET_COLUMNS
    rows = read_csv(path)
    assert [(r["blind_id"], r["dimension"]) for r in rows] == [
        (f"itm-{i:04d}", d) for i in range(3) for d in ("D1", "D2", "D3")
    ]
    assert {r["dimension_name"] for r in rows} == {"Coherence", "Clarification", "Verification"}
    assert all(r["level"] == r["null_reason"] == r["notes"] == "" for r in rows)
    assert rows[1]["scenario_id"] == "scenario-0"
    assert rows[3]["scenario_id"] == "scenario-1"


def test_export_never_reads_the_key(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    rubric = small_rubric()
    csv_text = export_packet(run_dir, "alice", "csv", rubric).read_text(encoding="utf-8")
    html_text = export_packet(run_dir, "alice", "html", rubric).read_text(encoding="utf-8")
    for text in (csv_text, html_text):
        assert SECRET_MODEL not in text
        assert "cell-0" not in text
    # Still works with the key gone: export needs items only.
    (run_dir / "blind" / "key.jsonl").unlink()
    assert export_packet(run_dir, "bob", "csv", rubric).is_file()


def test_export_to_a_directory_or_file(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    out_dir = tmp_path / "outbox"
    out_dir.mkdir()
    assert export_packet(run_dir, "alice", "html", small_rubric(), out=out_dir) == (
        out_dir / "alice-packet.html"
    )
    target = tmp_path / "x" / "custom.html"
    assert export_packet(run_dir, "alice", "html", small_rubric(), out=target) == target
    assert target.is_file()


def embedded_packet(html_text: str) -> dict[str, object]:
    match = re.search(
        r'<script type="application/json" id="packet-data">(.*?)</script>', html_text, re.S
    )
    assert match is not None
    data = json.loads(match.group(1))
    assert isinstance(data, dict)
    return data


def test_html_form_is_self_contained_and_embeds_items_safely(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, count=2)
    rubric = small_rubric()
    html_text = export_packet(run_dir, "alice", "html", rubric).read_text(encoding="utf-8")
    # No external resource of any kind: no http(s) or protocol-relative URL in src/href.
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html_text, re.I)
    assert "http://" not in html_text and "https://" not in html_text
    assert "@import" not in html_text
    assert "default-src 'none'" in html_text  # CSP forbids any network fetch
    # The "</script>" inside a message cannot close the data block: exactly two blocks end.
    assert html_text.count("</script>") == 2
    assert html_text.count("<script") == 2
    data = embedded_packet(html_text)
    assert data["coder"] == "alice"
    assert data["packet_id"] == packet_id(make_items(2), rubric)
    assert data["columns"] == list(PACKET_COLUMNS)
    items = data["items"]
    assert isinstance(items, list)
    assert [item["blind_id"] for item in items] == ["itm-0000", "itm-0001"]
    assert items[0]["messages"][1]["content"] == "Answer 0 </script><b>x</b> & co"
    assert items[0]["messages"][0]["content"] == "Question 0?\n  indented line"
    rubric_data = data["rubric"]
    assert isinstance(rubric_data, dict)
    assert rubric_data["dimensions"][0]["levels"] == {
        "0": "Coherence: absent",
        "1": "Coherence: partial",
        "2": "Coherence: full",
    }
    # Controls the browser test relies on.
    for element_id in ("prev", "next", "jump", "save-csv", "progress", "dimensions"):
        assert f'id="{element_id}"' in html_text


def test_html_form_never_shows_a_system_message(tmp_path: Path) -> None:
    item = BlindedItem(
        blind_id="itm-x",
        scenario_id="s",
        domain="d",
        messages=[
            Message(role="system", content="HIDDEN SYSTEM PROMPT"),
            Message(role="user", content="hi"),
            Message(role="assistant", content="hello"),
        ],
    )
    html_text = render_form([item], small_rubric(), "alice")
    assert "HIDDEN SYSTEM PROMPT" not in html_text
    assert [m["role"] for m in embedded_packet(html_text)["items"][0]["messages"]] == [  # type: ignore[index]
        "user",
        "assistant",
    ]


def test_placeholder_lookalikes_in_items_are_kept() -> None:
    item = BlindedItem(
        blind_id="itm-x",
        scenario_id="s",
        domain="d",
        messages=[Message(role="user", content="{{TITLE}} and {{PACKET_JSON}}")],
    )
    html_text = render_form([item], small_rubric(), "alice")
    data = embedded_packet(html_text)
    assert data["items"][0]["messages"][0]["content"] == "{{TITLE}} and {{PACKET_JSON}}"  # type: ignore[index]


def test_title_is_escaped(tmp_path: Path) -> None:
    html_text = render_form(make_items(1), small_rubric(), "a.b-c_d")
    assert "<title>xstress coding: a.b-c_d (1 items)</title>" in html_text


def test_packet_id_changes_with_content() -> None:
    rubric = small_rubric()
    assert packet_id(make_items(2), rubric) == packet_id(make_items(2), rubric)
    assert packet_id(make_items(2), rubric) != packet_id(make_items(3), rubric)


@pytest.mark.parametrize("coder", ["../evil", "a b", "", ".hidden", "x" * 81])
def test_bad_coder_names_are_refused(tmp_path: Path, coder: str) -> None:
    run_dir = make_run(tmp_path)
    with pytest.raises(InputError, match="coder name"):
        export_packet(run_dir, coder, "csv", small_rubric())


def test_missing_items_file_says_to_blind_first(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(InputError) as caught:
        export_packet(run_dir, "alice", "csv", small_rubric())
    assert "no blinded items (fix: run `xstress blind" in caught.value.one_line()
    with pytest.raises(InputError, match="no such run directory"):
        read_blinded_items(tmp_path / "nope")


def test_malformed_items_line_names_the_line(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, count=2)
    path = run_dir / "blind" / "items.jsonl"
    path.write_text(path.read_text() + '{"blind_id": 3}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 3"):
        read_blinded_items(run_dir)


def test_export_with_the_project_rubric(tmp_path: Path) -> None:
    path = REPO / "configs" / "rubric" / "interactional8.yaml"
    if not path.is_file():
        pytest.skip("configs/rubric/interactional8.yaml is not written yet")
    rubric = RubricSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    run_dir = make_run(tmp_path, count=2)
    rows = read_csv(export_packet(run_dir, "alice", "csv", rubric))
    assert len(rows) == 2 * len(rubric.dimensions)
    data = embedded_packet(export_packet(run_dir, "alice", "html", rubric).read_text("utf-8"))
    assert [d["id"] for d in data["rubric"]["dimensions"]] == [  # type: ignore[index]
        d.id for d in rubric.dimensions
    ]


# --------------------------------------------------------------------------- import


def test_round_trip_writes_one_record_per_row(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, count=4)
    rubric = small_rubric()
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
    # No temp file is left next to the scores.
    assert sorted(p.name for p in (run_dir / "scores").iterdir()) == ["alice.jsonl"]


def test_import_is_lenient_about_layout(tmp_path: Path) -> None:
    """Column order, extra columns, a BOM, CRLF, NA markers and '1.0' are all fine."""
    run_dir = make_run(tmp_path, count=2)
    rubric = small_rubric()
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


def test_level_out_of_range_lists_rows_and_imports_nothing(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    rubric = small_rubric()
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
    run_dir = make_run(tmp_path)
    rubric = small_rubric()
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
    run_dir = make_run(tmp_path, count=3)
    rubric = small_rubric()
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
    run_dir = make_run(tmp_path, count=2)
    rubric = small_rubric()
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
    run_dir = make_run(tmp_path, count=1)
    rubric = small_rubric()
    rows = filled_rows(run_dir, rubric)
    rows[1]["level"] = "NA"
    path = write_csv(tmp_path / "alice.csv", rows)
    with pytest.raises(InputError, match="row 3: missing level"):
        import_codes(run_dir, path, "alice", rubric, allow_partial=True)


def test_an_empty_packet_is_refused_even_when_partial(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, count=1)
    rubric = small_rubric()
    path = export_packet(run_dir, "alice", "csv", rubric)
    with pytest.raises(InputError, match="no codes in the file"):
        import_codes(run_dir, path, "alice", rubric, allow_partial=True)


def test_long_row_lists_are_truncated(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, count=10)
    rubric = small_rubric()
    rows = filled_rows(run_dir, rubric)
    for row in rows:
        row["level"] = "5"
    with pytest.raises(
        InputError, match=r"rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 and 18 more: level '5'"
    ):
        import_codes(run_dir, write_csv(tmp_path / "a.csv", rows), "alice", rubric)


def test_header_problems(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, count=1)
    rubric = small_rubric()
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
    run_dir = make_run(tmp_path, count=2)
    rubric = small_rubric()
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
    run_dir = make_run(tmp_path, count=1)
    rubric = small_rubric()
    (run_dir / "scores").mkdir()
    judge = ScoreRecord(
        blind_id="itm-0000",
        dimension="D1",
        coder="heuristic",
        coder_kind="heuristic",
        status="scored",
        level=1,
        scored_at="2026-01-01T00:00:00+00:00",
    )
    (run_dir / "scores" / "heuristic.jsonl").write_text(judge.model_dump_json(by_alias=True) + "\n")
    path = write_csv(tmp_path / "h.csv", filled_rows(run_dir, rubric))
    with pytest.raises(InputError, match="scores of the heuristic coder"):
        import_codes(run_dir, path, "heuristic", rubric, replace=True)

"""Coding packets, CSV and HTML (harness/score/human_export.py)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.errors import InputError
from harness.rundir import BlindedItem, Message
from harness.schema import RubricSpec
from harness.score.human_export import PACKET_COLUMNS, export_packet, packet_id, render_form
from tests.conftest import Ran
from tests.score.key_guard import key_guard
from tests.score.packets import (
    SECRETS,
    coding_run,
    make_items,
    mini_rubric,
    read_csv,
    reference_notes,
)

REPO = Path(__file__).resolve().parents[2]


def test_csv_packet_has_one_empty_row_per_item_and_dimension(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=3)
    rubric = mini_rubric()
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
    # Every row carries its item's reference notes verbatim (quotes, commas, a line break)
    # and the packet's id.
    assert [r["reference_notes"] for r in rows] == [
        reference_notes(i) for i in range(3) for _ in ("D1", "D2", "D3")
    ]
    assert '"check the label", twice </script>' in rows[0]["reference_notes"]
    assert rows[3]["reference_notes"] == ""
    assert {r["packet_id"] for r in rows} == {packet_id(make_items(3), rubric)}


def test_export_never_reads_the_key(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path)
    rubric = mini_rubric()
    assert "secret-model" in (run_dir / "blind" / "key.jsonl").read_text()  # the control
    with key_guard() as opened:
        csv_text = export_packet(run_dir, "alice", "csv", rubric).read_text(encoding="utf-8")
        html_text = export_packet(run_dir, "alice", "html", rubric).read_text(encoding="utf-8")
    assert opened == []
    for text in (csv_text, html_text):
        for secret in SECRETS:
            assert secret not in text
    # Still works with the key gone: export needs items only.
    (run_dir / "blind" / "key.jsonl").unlink()
    assert export_packet(run_dir, "bob", "csv", rubric).is_file()


def test_export_to_a_directory_or_file(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path)
    out_dir = tmp_path / "outbox"
    out_dir.mkdir()
    assert export_packet(run_dir, "alice", "html", mini_rubric(), out=out_dir) == (
        out_dir / "alice-packet.html"
    )
    target = tmp_path / "x" / "custom.html"
    assert export_packet(run_dir, "alice", "html", mini_rubric(), out=target) == target
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
    run_dir = coding_run(tmp_path, count=2)
    rubric = mini_rubric()
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
    assert [item["reference_notes"] for item in items] == [reference_notes(0), ""]
    rubric_data = data["rubric"]
    assert isinstance(rubric_data, dict)
    assert rubric_data["dimensions"][0]["levels"] == {
        "0": "Coherence: absent",
        "1": "Coherence: partial",
        "2": "Coherence: full",
    }
    # Controls the browser test relies on.
    for element_id in ("prev", "next", "jump", "save-csv", "progress", "dimensions",
                       "load-csv", "toggle-view", "dim-progress", "reference-notes-text"):
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
    html_text = render_form([item], mini_rubric(), "alice")
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
    html_text = render_form([item], mini_rubric(), "alice")
    data = embedded_packet(html_text)
    assert data["items"][0]["messages"][0]["content"] == "{{TITLE}} and {{PACKET_JSON}}"  # type: ignore[index]


def test_title_is_escaped(tmp_path: Path) -> None:
    html_text = render_form(make_items(1), mini_rubric(), "a.b-c_d")
    assert "<title>xstress coding: a.b-c_d (1 items)</title>" in html_text


def test_packet_id_changes_with_content() -> None:
    rubric = mini_rubric()
    assert packet_id(make_items(2), rubric) == packet_id(make_items(2), rubric)
    assert packet_id(make_items(2), rubric) != packet_id(make_items(3), rubric)


@pytest.mark.parametrize("coder", ["../evil", "a b", "", ".hidden", "x" * 81])
def test_bad_coder_names_are_refused(tmp_path: Path, coder: str) -> None:
    run_dir = coding_run(tmp_path)
    with pytest.raises(InputError, match="coder name"):
        export_packet(run_dir, coder, "csv", mini_rubric())


def test_missing_items_file_says_to_blind_first(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(InputError) as caught:
        export_packet(run_dir, "alice", "csv", mini_rubric())
    assert "no blinded items (fix: run `xstress blind" in caught.value.one_line()
    with pytest.raises(InputError, match="no such run directory"):
        export_packet(tmp_path / "nope", "alice", "csv", mini_rubric())


def test_malformed_items_line_names_the_line(tmp_path: Path) -> None:
    run_dir = coding_run(tmp_path, count=2)
    path = run_dir / "blind" / "items.jsonl"
    path.write_text(path.read_text() + '{"blind_id": 3}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 3"):
        export_packet(run_dir, "alice", "html", mini_rubric())


def test_export_with_the_project_rubric(tmp_path: Path) -> None:
    path = REPO / "configs" / "rubric" / "interactional8.yaml"
    if not path.is_file():
        pytest.skip("configs/rubric/interactional8.yaml is not written yet")
    rubric = RubricSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    run_dir = coding_run(tmp_path, count=2)
    rows = read_csv(export_packet(run_dir, "alice", "csv", rubric))
    assert len(rows) == 2 * len(rubric.dimensions)
    data = embedded_packet(export_packet(run_dir, "alice", "html", rubric).read_text("utf-8"))
    assert [d["id"] for d in data["rubric"]["dimensions"]] == [  # type: ignore[index]
        d.id for d in rubric.dimensions
    ]


def test_cli_exports_both_packets_and_imports_the_csv(
    xstress: Callable[..., Ran], tmp_path: Path
) -> None:
    """``xstress code export`` on the project rubric; the filled CSV packet, informational
    columns and all, goes back in through ``xstress code import``."""
    run_dir = coding_run(tmp_path, count=2)
    form = xstress("code", "export", str(run_dir), "coder=alice", "format=html")
    assert form.code == 0, form.err
    data = embedded_packet((run_dir / "coding" / "alice-packet.html").read_text("utf-8"))
    assert [item["reference_notes"] for item in data["items"]] == [  # type: ignore[attr-defined]
        reference_notes(0), ""
    ]
    sheet = xstress("code", "export", str(run_dir), "coder=alice", "format=csv")
    assert sheet.code == 0, sheet.err
    rows = read_csv(run_dir / "coding" / "alice-packet.csv")
    assert len(rows) == 2 * len(data["rubric"]["dimensions"])  # type: ignore[index]
    for row in rows:
        row["level"] = "1"
    filled = tmp_path / "alice.csv"
    with filled.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(PACKET_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    imported = xstress("code", "import", str(run_dir), str(filled), "coder=alice")
    assert imported.code == 0, imported.err
    assert f"imported {len(rows)} scored and 0 null codes on 2 items" in imported.err

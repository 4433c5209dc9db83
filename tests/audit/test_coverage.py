"""The coverage matrix (harness/audit/coverage.py): every level shown is a code from a sheet,
with where it came from; disputes are never blended."""

from __future__ import annotations

from harness.audit import SheetRow
from harness.audit.coverage import DISPUTED, build_coverage

DIMENSIONS = ("D1", "D2")


def row(benchmark: str, coder: str, evidence: str, d1: int, d2: int, note: str = "") -> SheetRow:
    return SheetRow.model_validate({
        "benchmark": benchmark, "source": "", "evidence_level": evidence, "coder": coder,
        "levels": {"D1": d1, "D2": d2}, "note": note, "file": f"{coder}.csv", "row": 2})


def test_cells_show_agreed_single_and_adjudicated_codes_and_mark_disputes() -> None:
    rows = [row("agreed", "ann", "model", 2, 0), row("agreed", "ben", "model", 2, 1),
            row("alone", "ann", "interaction", 1, 1),
            row("split", "ann", "response", 0, 0, "only the abstract"),
            row("split", "ben", "deployment", 2, 0)]
    coverage = build_coverage(rows, [], DIMENSIONS)
    cells = {(c.benchmark, c.dimension): c for c in coverage.cells}
    assert (cells["agreed", "D1"].level, cells["agreed", "D1"].status) == (2, "agreed")
    assert (cells["agreed", "D2"].level, cells["agreed", "D2"].status) == (None, "disputed")
    assert cells["agreed", "D2"].codes == "ann=0; ben=1"
    assert (cells["alone", "D1"].level, cells["alone", "D1"].status) == (1, "one coder")
    assert cells["split", "D1"].evidence_level == DISPUTED
    # Grouped by evidence level, lowest first, the disputed group last.
    assert [b.name for b in coverage.benchmarks] == ["agreed", "alone", "split"]
    assert [c.benchmark for c in coverage.cells][::2] == ["agreed", "alone", "split"]
    fields = [(d.benchmark, d.field, d.spread) for d in coverage.disagreements]
    assert fields == [("agreed", "D2", 1), ("split", "evidence_level", None), ("split", "D1", 2)]
    assert coverage.disagreements[1].notes == "ann: only the abstract"
    counts = {c.dimension: c for c in coverage.counts}
    assert (counts["D1"].substantive, counts["D1"].partial, counts["D1"].disputed) == (1, 1, 1)
    assert counts["D1"].n_benchmarks == 3

    settled = [row("split", "panel", "response", 1, 0)]
    coverage = build_coverage(rows, settled, DIMENSIONS)
    cells = {(c.benchmark, c.dimension): c for c in coverage.cells}
    assert (cells["split", "D1"].level, cells["split", "D1"].status) == (1, "adjudicated")
    assert cells["split", "D1"].codes == "ann=0; ben=2; panel (adjudicated)=1"
    assert cells["split", "D1"].evidence_level == "response"
    assert [d.adjudicated for d in coverage.disagreements if d.benchmark == "split"] == [
        "response", "1"]
    assert cells["agreed", "D2"].status == "disputed"  # not adjudicated: still disputed

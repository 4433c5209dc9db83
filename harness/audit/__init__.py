"""The benchmark audit (study 1): coders' sheets coding existing benchmarks on the rubric's
dimensions -> agreement, disagreements, a coverage matrix grouped by evidence level, and a
report (``xstress audit``); and the empty sheet a coder starts from (``xstress audit
template``).
"""

from __future__ import annotations

from harness.audit.records import (
    EVIDENCE_LEVELS,
    BenchmarkEntry,
    BenchmarkList,
    CoverageCell,
    Disagreement,
    EvidenceLevel,
    SheetRow,
)
from harness.audit.run import AuditSummary, run_audit
from harness.audit.sheets import (
    SHEET_SUFFIXES,
    SheetProblems,
    read_benchmark_list,
    read_sheets,
    template_text,
    write_new_file,
)

__all__ = [
    "EVIDENCE_LEVELS",
    "SHEET_SUFFIXES",
    "AuditSummary",
    "BenchmarkEntry",
    "BenchmarkList",
    "CoverageCell",
    "Disagreement",
    "EvidenceLevel",
    "SheetProblems",
    "SheetRow",
    "read_benchmark_list",
    "read_sheets",
    "run_audit",
    "template_text",
    "write_new_file",
]

"""Export: a run as Inspect AI eval logs, as a tidy table (CSV or Parquet), and as pandas
DataFrames (``load_run``, public as ``harness.load_run``). Reads the run directory through its
records; the key only on request, through the report's reader.
"""

from __future__ import annotations

from harness.export.frames import (
    CELL_COLUMNS,
    KEY_COLUMNS,
    SCORE_COLUMNS,
    TURN_COLUMNS,
    RunData,
    load_run,
)
from harness.export.inspect_log import InspectExportSummary, InspectLogFile, export_inspect
from harness.export.table import (
    TABLE_COLUMNS,
    TableFormat,
    TableSummary,
    build_table,
    export_table,
)

__all__ = [
    "CELL_COLUMNS",
    "KEY_COLUMNS",
    "SCORE_COLUMNS",
    "TABLE_COLUMNS",
    "TURN_COLUMNS",
    "InspectExportSummary",
    "InspectLogFile",
    "RunData",
    "TableFormat",
    "TableSummary",
    "build_table",
    "export_inspect",
    "export_table",
    "load_run",
]

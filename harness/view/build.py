"""The run browser of one run directory, as a page or a static file: which reading of the run
(unblinded or blinded) and where the file goes (``RunDir.view`` or ``RunDir.blinded_view``
unless told otherwise).
"""

from __future__ import annotations

from pathlib import Path

from harness.rundir import RunDir
from harness.view.data import build_blinded_view_data, build_view_data
from harness.view.page import render_page, write_page

__all__ = ["view_page", "write_view"]


def view_page(run_dir: RunDir, *, blind: bool = False) -> str:
    """The browser of ``run_dir`` as one HTML document (blinded: what coders see).

    Raises:
        InputError: the run cannot be read (see ``build_view_data``).
    """
    data = build_blinded_view_data(run_dir) if blind else build_view_data(run_dir)
    return render_page(data)


def write_view(run_dir: RunDir, *, blind: bool = False, out: Path | None = None) -> Path:
    """Write the browser of ``run_dir`` as a static page; returns its path.

    Args:
        run_dir: The run.
        blind: Only what coders see (the key and the transcripts are never read).
        out: The file to write; default ``<run>/view.html`` (blinded ``view.blind.html``).

    Raises:
        InputError: the run cannot be read.
        OutputError: the file cannot be written.
    """
    data = build_blinded_view_data(run_dir) if blind else build_view_data(run_dir)
    target = out or (run_dir.blinded_view if blind else run_dir.view)
    return write_page(data, target)

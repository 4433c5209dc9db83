"""The coverage heatmap: benchmarks (rows, grouped by evidence level) x dimensions, as PNG.

Three discrete colours for the three codes (from the report's cividis colormap, so the audit
reads like the stress-test report's profile heatmaps), every cell annotated with its code;
a disputed cell is grey and shows each coder's code (``1/2``), never a blend. matplotlib is
imported inside the function, with the Agg backend, so importing this module stays cheap.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from harness.audit.coverage import DISPUTED, BenchmarkCoverage
from harness.audit.records import LEVEL_MEANINGS

__all__ = ["coverage_heatmap"]

_COLORMAP = "cividis"
_HATCH_COLOR = "#AAAAAA"
_DPI = 110


def coverage_heatmap(benchmarks: Sequence[BenchmarkCoverage], dimensions: Sequence[str],
                     dimension_names: dict[str, str], title: str) -> bytes:
    """The coverage matrix as a heatmap.

    Args:
        benchmarks: rows, already grouped by evidence level.
        dimensions: columns, in order.
        dimension_names: id -> short name for the column labels.
        title: the figure's title (says whose codes these are).

    Returns:
        The figure as PNG bytes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch, Rectangle

    base = plt.get_cmap(_COLORMAP)
    colors = [base(0.0), base(0.5), base(1.0)]
    colormap = ListedColormap(colors).with_extremes(bad="white")
    data = np.ma.masked_invalid(np.array(
        [[np.nan if b.levels[d] is None else b.levels[d] for d in dimensions] for b in benchmarks],
        dtype=float).reshape(len(benchmarks), len(dimensions)))
    labels = [f"{d} {dimension_names[d]}" if dimension_names.get(d) else d for d in dimensions]
    row_labels = [b.name for b in benchmarks]
    left = 0.6 + 0.075 * max((len(label) for label in row_labels), default=4)
    width = left + 0.75 * len(dimensions) + 1.6
    height = 2.2 + 0.36 * len(benchmarks) + 0.05 * max(len(label) for label in labels)
    fig, ax = plt.subplots(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - 1.5 / width,
                        bottom=(0.4 + 0.05 * max(len(label) for label in labels)) / height,
                        top=1 - 1.2 / height)
    ax.imshow(data, cmap=colormap, vmin=-0.5, vmax=2.5, aspect="auto")
    ax.set_xticks(range(len(dimensions)), labels=labels, rotation=45, ha="right")
    ax.set_yticks(range(len(benchmarks)), labels=row_labels)
    for i, benchmark in enumerate(benchmarks):
        for j, dimension in enumerate(dimensions):
            level = benchmark.levels[dimension]
            if level is None:
                # Hatched, not a colour between two codes: a disputed cell has no level yet.
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white",
                                       hatch="///", edgecolor=_HATCH_COLOR, linewidth=0))
                text = "/".join(str(v) for v in sorted(set(benchmark.given[dimension])))
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="black",
                        backgroundcolor="white")
            else:
                # cividis is dark at the low end: light text there, dark text at the top.
                ax.text(j, i, str(level), ha="center", va="center", fontsize=9,
                        color="white" if level < 1 else "black")
    _group_bands(ax, benchmarks, len(dimensions))
    handles = [Patch(color=colors[level], label=f"{level} {LEVEL_MEANINGS[level]}")
               for level in (0, 1, 2)]
    handles.append(Patch(facecolor="white", hatch="///", edgecolor=_HATCH_COLOR,
                         label="coders differ (their codes shown)"))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
              fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    plt.close(fig)
    return buffer.getvalue()


def _group_bands(ax: Any, benchmarks: Sequence[BenchmarkCoverage], n_columns: int) -> None:
    """A line between evidence-level groups and the group's name on the right edge."""
    start = 0
    for index in range(1, len(benchmarks) + 1):
        if index < len(benchmarks) and (
                benchmarks[index].evidence_level == benchmarks[start].evidence_level):
            continue
        level = benchmarks[start].evidence_level
        name = "evidence level disputed" if level == DISPUTED else f"{level} level"
        ax.text(n_columns - 0.45, (start + index - 1) / 2, name,
                ha="left", va="center", fontsize=8, rotation=0, style="italic")
        if index < len(benchmarks):
            ax.axhline(index - 0.5, color="white", linewidth=3)
        start = index

"""Figures of the report: profile heatmaps and scaffold-effect plots, as PNG bytes.

This module owns how results look (matplotlib, Agg backend, colour-blind-safe colours); it
computes nothing (``harness.stats``) and writes no file (``build.py``). matplotlib is imported
inside each function so that importing this module stays cheap. Cells or effects that could
not be estimated are drawn as grey "n/a" cells or left out, never as a number.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from harness.stats import EffectRow, ProfileRow

__all__ = ["effect_plot", "profile_heatmaps_by_dimension", "profile_heatmaps_by_scaffold"]

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
_COLORMAP = "cividis"
_DPI = 110
_LEVEL_MAX = 2.0


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Any, title: str, simulated: bool, *, tight: bool = False) -> bytes:
    """Title, the simulated-models watermark, PNG encoding; closes the figure. ``tight``
    grows the canvas to whatever was drawn (labels, legend), so nothing is cut off."""
    plt = _pyplot()
    if simulated:
        title = f"{title}\nSIMULATED MODELS: not a measurement of any real model"
        fig.text(
            0.5,
            0.5,
            "SIMULATED MODELS",
            fontsize=44,
            color="#B00020",
            alpha=0.13,
            ha="center",
            va="center",
            rotation=25,
            zorder=10,
        )
    fig.suptitle(title, fontsize=12)
    buffer = io.BytesIO()
    if tight:
        fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", pad_inches=0.15)
    else:
        fig.savefig(buffer, format="png", dpi=_DPI)
    plt.close(fig)
    return buffer.getvalue()


def _grid(n_panels: int, max_columns: int) -> tuple[int, int]:
    columns = max(1, min(max_columns, n_panels))
    return math.ceil(n_panels / columns), columns


def _heatmap(
    ax: Any,
    matrix: list[list[float | None]],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
) -> Any:
    import numpy as np

    plt = _pyplot()
    data = np.ma.masked_invalid(
        np.array([[math.nan if v is None else v for v in row] for row in matrix], dtype=float)
    )
    colormap = plt.get_cmap(_COLORMAP).with_extremes(bad="#DDDDDD")
    image = ax.imshow(data, cmap=colormap, vmin=0.0, vmax=_LEVEL_MAX, aspect="auto")
    ax.set_xticks(range(len(column_labels)), labels=column_labels, rotation=45, ha="right")
    ax.set_yticks(range(len(row_labels)), labels=row_labels)
    ax.set_title(title, fontsize=10)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value is None:
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="#444444")
            else:
                # cividis is dark at the low end: light text there, dark text at the top.
                color = "white" if value < 1.1 else "black"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=color)
    return image


def _heatmap_grid(
    n_panels: int,
    max_columns: int,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    simulated: bool,
) -> tuple[Any, list[Any], Any]:
    """A figure with ``n_panels`` heatmap axes and a colorbar axis, laid out in inches.

    Fixed arithmetic instead of a layout engine: constrained layout re-measures every text
    several times and made the report's figures about twice as slow to draw.
    """
    plt = _pyplot()
    n_rows, n_columns = _grid(n_panels, max_columns)
    panel_width = max(1.6, 0.62 * len(column_labels))
    panel_height = max(0.8, 0.4 * len(row_labels))
    longest_column_label = max((len(label) for label in column_labels), default=4)
    left = 0.25 + 0.075 * max((len(label) for label in row_labels), default=4)
    # The first rotated x label hangs to the left of its tick.
    left = max(left, 0.05 * longest_column_label)
    # x labels are rotated 45 degrees: their height is about 0.7 of their length.
    bottom = 0.3 + 0.07 * 0.72 * longest_column_label
    title, gap, top = 0.3, 0.25, (0.85 if simulated else 0.55)
    right = 1.1
    slot_width, slot_height = left + panel_width + gap, title + panel_height + bottom
    width = n_columns * slot_width + right
    height = n_rows * slot_height + top
    fig = plt.figure(figsize=(width, height))
    axes = []
    for index in range(n_panels):
        row, column = divmod(index, n_columns)
        x = column * slot_width + left
        y = height - top - row * slot_height - title - panel_height
        axes.append(
            fig.add_axes((x / width, y / height, panel_width / width, panel_height / height))
        )
    bar_height = min(3.0, height - top - 0.4)
    colorbar_axis = fig.add_axes(
        (
            (width - right + 0.2) / width,
            (height - top - bar_height) / height,
            0.2 / width,
            bar_height / height,
        )
    )
    return fig, axes, colorbar_axis


def _profile_lookup(rows: Sequence[ProfileRow]) -> dict[tuple[str, str, str], float | None]:
    return {(r.model, r.scaffold, r.dimension): r.mean for r in rows}


def profile_heatmaps_by_scaffold(
    rows: Sequence[ProfileRow],
    models: Sequence[str],
    scaffolds: Sequence[str],
    dimensions: Sequence[str],
    *,
    simulated: bool,
    dimension_names: dict[str, str] | None = None,
) -> bytes:
    """One heatmap per scaffold: models (rows) x dimensions (columns), mean level annotated.

    Args:
        rows: profile rows from ``harness.stats.compute_profiles``.
        models, scaffolds, dimensions: display order.
        simulated: add the SIMULATED MODELS watermark.
        dimension_names: optional id -> short name for the axis labels.

    Returns:
        The figure as PNG bytes.
    """
    lookup = _profile_lookup(rows)
    labels = [_dimension_label(d, dimension_names) for d in dimensions]
    fig, axes, colorbar_axis = _heatmap_grid(len(scaffolds), 2, models, labels, simulated)
    image = None
    for ax, scaffold in zip(axes, scaffolds, strict=True):
        matrix = [[lookup.get((m, scaffold, d)) for d in dimensions] for m in models]
        image = _heatmap(ax, matrix, models, labels, f"scaffold: {scaffold}")
    if image is not None:
        fig.colorbar(image, cax=colorbar_axis, label="mean level (0-2)")
    return _finish(fig, "Alignment profiles: model x dimension, per scaffold", simulated)


def profile_heatmaps_by_dimension(
    rows: Sequence[ProfileRow],
    models: Sequence[str],
    scaffolds: Sequence[str],
    dimensions: Sequence[str],
    *,
    simulated: bool,
    dimension_names: dict[str, str] | None = None,
) -> bytes:
    """One heatmap per dimension: models (rows) x scaffolds (columns), mean level annotated.

    Args:
        rows: profile rows from ``harness.stats.compute_profiles``.
        models, scaffolds, dimensions: display order.
        simulated: add the SIMULATED MODELS watermark.
        dimension_names: optional id -> short name for the panel titles.

    Returns:
        The figure as PNG bytes.
    """
    lookup = _profile_lookup(rows)
    fig, axes, colorbar_axis = _heatmap_grid(len(dimensions), 4, models, scaffolds, simulated)
    image = None
    for ax, dimension in zip(axes, dimensions, strict=True):
        matrix = [[lookup.get((m, s, dimension)) for s in scaffolds] for m in models]
        title = _dimension_label(dimension, dimension_names)
        image = _heatmap(ax, matrix, models, scaffolds, title)
    if image is not None:
        fig.colorbar(image, cax=colorbar_axis, label="mean level (0-2)")
    return _finish(fig, "Alignment profiles: model x scaffold, per dimension", simulated)


def effect_plot(
    rows: Sequence[EffectRow],
    models: Sequence[str],
    scaffolds: Sequence[str],
    dimensions: Sequence[str],
    *,
    baseline: str,
    simulated: bool,
    dimension_names: dict[str, str] | None = None,
) -> bytes:
    """Dot and 95% CI per model and dimension, one panel per non-baseline scaffold.

    Effects without an estimate are left out (the tables say why); effects without a CI are
    drawn as hollow dots. The x range holds every dot and interval with a margin (an effect
    of +2 and a t interval past +/-2 are drawn whole), and the dimension labels sit on the
    first column only, so the panels keep their width.

    Args:
        rows: effect rows from ``harness.stats.compute_effects``.
        models, dimensions: display order.
        scaffolds: the non-baseline scaffolds, one panel each.
        baseline: the reference scaffold (for the axis label).
        simulated: add the SIMULATED MODELS watermark.
        dimension_names: optional id -> short name for the y labels.

    Returns:
        The figure as PNG bytes.
    """
    plt = _pyplot()
    lookup = {(r.model, r.scaffold, r.dimension): r for r in rows}
    n_rows, n_columns = _grid(len(scaffolds), 3)
    height = max(2.5, 0.32 * len(dimensions) * max(1, len(models)) / 2 + 1.5)
    labels = [_dimension_label(d, dimension_names) for d in dimensions]
    label_width = 0.085 * max((len(label) for label in labels), default=4)
    fig, axes = plt.subplots(
        n_rows,
        n_columns,
        figsize=(label_width + 3.6 * n_columns, height * n_rows),
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    low, high = _effect_range(rows)
    for index, scaffold in enumerate(scaffolds):
        ax = axes.flat[index]
        ax.axvline(0.0, color="#555555", linewidth=0.8, linestyle="--")
        for k, model in enumerate(models):
            dots = [lookup.get((model, scaffold, d)) for d in dimensions]
            _effect_dots(ax, model, k, len(models), dots)
        ax.set_yticks(range(len(dimensions)), labels=list(reversed(labels)))
        ax.tick_params(axis="y", labelleft=index % n_columns == 0)
        ax.set_xlim(low, high)
        ax.set_xticks(range(-2, 3))
        ax.set_xlabel(f"effect vs {baseline} (mean level difference)")
        ax.set_title(f"scaffold: {scaffold}", fontsize=10)
        ax.grid(axis="x", color="#EEEEEE")
    for ax in list(axes.flat)[len(scaffolds) :]:
        ax.set_visible(False)
    handles = [
        plt.Line2D(
            [],
            [],
            marker=_MARKERS[k % len(_MARKERS)],
            color=_PALETTE[k % len(_PALETTE)],
            linestyle="none",
            label=model,
        )
        for k, model in enumerate(models)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(models), 4), frameon=False)
    return _finish(fig, f"Scaffold effects vs {baseline}, with 95% CIs", simulated, tight=True)


def _effect_range(rows: Sequence[EffectRow]) -> tuple[float, float]:
    """The x range: -2..2 (the most a level difference can be), widened to any interval that
    reaches past it, plus room for a marker's half width at either end."""
    ends = [value for row in rows for value in (row.effect, row.ci_low, row.ci_high)
            if value is not None and math.isfinite(value)]
    margin = 0.3
    return (min([-_LEVEL_MAX, *ends]) - margin, max([_LEVEL_MAX, *ends]) + margin)


def _effect_dots(
    ax: Any, model: str, k: int, n_models: int, effects: Sequence[EffectRow | None]
) -> None:
    """The effects of ``model`` (the ``k``-th) on one panel, one dimension per row, top first."""
    color = _PALETTE[k % len(_PALETTE)]
    marker = _MARKERS[k % len(_MARKERS)]
    spread = 0.6 / max(1, n_models)
    offset = (k - (n_models - 1) / 2) * spread
    for position, row in enumerate(effects):
        if row is None or row.effect is None:
            continue
        y = len(effects) - 1 - position + offset
        if row.ci_low is not None and row.ci_high is not None:
            ax.hlines(y, row.ci_low, row.ci_high, color=color, linewidth=1.6)
            face = color
        else:
            face = "white"
        ax.plot(
            row.effect,
            y,
            marker=marker,
            color=color,
            markerfacecolor=face,
            linestyle="none",
            label=model if position == 0 else None,
        )


def _dimension_label(dimension: str, names: dict[str, str] | None) -> str:
    if names and names.get(dimension):
        return f"{dimension} {names[dimension]}"
    return dimension

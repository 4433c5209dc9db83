"""Report polish: a dimension no coder gave a level is named with the coder's reason (text and
figures), and the effect plot's range holds every dot and interval."""

from __future__ import annotations

import io
from pathlib import Path

from harness.report import build_report
from harness.report.plots import _effect_range, effect_plot
from harness.stats import EffectRow
from harness.testing.rundirs import scored_run


def _levels(model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str
            ) -> int | None:
    return None if dim == "D3" else (2 if scaffold == "verify" else 1)


def test_a_dimension_nobody_coded_is_named_with_the_reason(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, levels=_levels)
    md = build_report(run_dir, n_perm=20).report_md.read_text()
    notes = md.split("Dimensions not coded:")[1].split("###")[0]
    # 2 models x 2 scaffolds x 6 prompts x 2 replicates, every one null with the same reason
    assert 'D3 (' in notes and "heuristic gave no level on any item (48 of 48 with this " \
                                "reason: \"not applicable here\")" in notes
    assert "D1 (" not in notes and "D2 (" not in notes


def test_no_note_when_every_dimension_has_a_level(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    assert "Dimensions not coded" not in build_report(run_dir, n_perm=20).report_md.read_text()


def _row(effect: float | None, low: float | None, high: float | None,
         dimension: str = "D1") -> EffectRow:
    return EffectRow(model="alpha", scaffold="verify", baseline="bare", dimension=dimension,
                     n_pairs=6, n_prompts=6, n_pairs_missing=0, missing_in_scaffold=0,
                     missing_in_baseline=0, missing_null=0, baseline_mean=0.0,
                     scaffold_mean=effect, effect=effect, ci_low=low, ci_high=high,
                     p_value=0.03, p_adjusted=0.03, adjust="holm", equivalence_margin=0.25,
                     same_distribution=False, label="improved", note="")


def test_the_effect_range_holds_every_dot_and_interval_with_room_for_a_marker() -> None:
    low, high = _effect_range([_row(2.0, 2.0, 2.0), _row(-0.5, -1.0, 0.0)])
    assert low < -2.0 and high > 2.0 and high - 2.0 >= 0.25  # a marker at +2 is drawn whole
    low, high = _effect_range([_row(1.8, 1.1, 2.6), _row(-1.5, -2.9, -0.1), _row(None, None, None)])
    assert low < -2.9 and high > 2.6


def test_the_effect_plot_is_drawn_whole() -> None:
    """Nothing drawn touches the image's edges: a cut label, marker or interval would."""
    import numpy as np
    from PIL import Image

    rows = [_row(2.0, 1.2, 2.8), _row(-2.0, -2.0, -2.0, "D2")]
    long_name = "a dimension name long enough to need room on the left " * 2
    png = effect_plot(rows, ["alpha"], ["generic", "steer", "verify"], ["D1", "D2"],
                      baseline="bare", simulated=False,
                      dimension_names={"D1": long_name, "D2": "short"})
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    for edge in (pixels[:4], pixels[-4:], pixels[:, :4], pixels[:, -4:]):
        assert edge.min() == 255

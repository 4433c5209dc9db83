"""``compare_runs``: several runs of one protocol side by side (``xstress compare``).

The order of work: check the arguments, check the protocols (``protocols.py``; refused before
any score is read), analyse each run with its report's own machinery
(``harness.report.analyse_run``) under the report settings that run's own report used (from its
manifest) with the ones given here taking precedence, then write ``compare.md``,
``compare.html``, ``profiles.csv`` and ``effects.csv`` to the output folder. The baseline, the
equivalence margin and the adjustment are one for every run (the effects must mean the same
thing side by side); the coder and the seed are each run's own unless given, so a run's numbers
are its report's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.compare.document import comparison_blocks
from harness.compare.protocols import ProtocolCheck, check_protocols
from harness.compare.sides import Side, columns, csv_tables
from harness.errors import ConfigError, InputError
from harness.report import analyse_run, render_html, render_markdown
from harness.rundir import RunDir, run_manifest, write_bytes_atomic
from harness.schema import ReportSettings

__all__ = ["ComparisonSummary", "compare_runs", "default_out_dir"]

_SHARED = ("baseline", "equivalence_margin", "adjust")
"""Report settings that must be one for every run of a comparison."""


@dataclass(frozen=True)
class ComparisonSummary:
    """What ``compare_runs`` wrote, and a few lines for the terminal."""

    out_dir: Path
    paths: tuple[Path, ...]
    same_protocol: bool
    simulated: bool
    """Some run used simulated models."""
    text: str


def default_out_dir(run_dirs: Sequence[Path]) -> Path:
    """``comparisons/<runA>-vs-<runB>[-vs-...]`` under the current folder."""
    return Path("comparisons") / "-vs-".join(Path(r).name for r in run_dirs)


def compare_runs(run_dirs: Sequence[Path], *, settings: ReportSettings | None = None,
                 out_dir: Path | None = None, allow_different: bool = False
                 ) -> ComparisonSummary:
    """Write the side-by-side of ``run_dirs``' profiles and scaffold effects.

    Args:
        run_dirs: two or more run directories with distinct folder names.
        settings: report settings for every run; only the fields set explicitly
            (``model_fields_set``) take precedence over each run's own report settings.
        out_dir: where to write (default ``default_out_dir(run_dirs)``).
        allow_different: compare runs of different protocols, listing every difference.

    Raises:
        ConfigError: fewer than two runs, two runs with one name, different protocols without
            ``allow_different``, or a run whose models differ in sampling.
        InputError: a run lacks a manifest, a key or scores; an unknown coder or baseline.
        OutputError: the output folder cannot be written.
    """
    runs = _named_runs(run_dirs)
    check = check_protocols(runs, allow_different=allow_different)
    given = settings or ReportSettings()
    shared = _shared_settings(given, runs[0][1])
    sides = [_side(name, run_dir, given, shared, check) for name, run_dir in runs]
    warnings = [f"{side.name}: {w}" for side in sides for w in side.context.warnings]
    warnings += _settings_warnings(runs, shared, given)
    table_columns = columns(sides)
    blocks = comparison_blocks(check, sides, table_columns, shared.baseline, warnings)
    out = Path(out_dir) if out_dir is not None else default_out_dir(run_dirs)
    title = "xstress comparison: " + " vs ".join(name for name, _ in runs)
    files = {"compare.md": render_markdown(blocks).encode("utf-8"),
             "compare.html": render_html(blocks, title).encode("utf-8"),
             **csv_tables(table_columns)}
    paths = []
    for name, data in files.items():
        write_bytes_atomic(out / name, data)
        paths.append(out / name)
    simulated = any(side.simulated for side in sides)
    return ComparisonSummary(out_dir=out, paths=tuple(paths), same_protocol=check.same,
                             simulated=simulated,
                             text=_terminal_text(check, sides, out, len(table_columns)))


def _named_runs(run_dirs: Sequence[Path]) -> list[tuple[str, RunDir]]:
    if len(run_dirs) < 2:
        raise ConfigError(f"xstress compare: expected two or more run directories, got "
                          f"{len(run_dirs)}", fix="xstress compare RUN_A RUN_B [RUN_C ...]")
    names = [Path(r).name for r in run_dirs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"xstress compare: two runs are both named {repeated[0]!r} (a run is "
                          "named by its folder)",
                          fix="give each run once; rename or copy a folder whose name repeats")
    return [(name, RunDir(Path(r))) for name, r in zip(names, run_dirs, strict=True)]


def _shared_settings(given: ReportSettings, first: RunDir) -> ReportSettings:
    """The first run's report settings with the given ones on top (baseline, margin, adjust
    are read from it for every run)."""
    own = run_manifest(first).config.report
    return own.model_copy(update={k: getattr(given, k) for k in given.model_fields_set})


def _side(name: str, run_dir: RunDir, given: ReportSettings, shared: ReportSettings,
          check: ProtocolCheck) -> Side:
    config = run_manifest(run_dir).config
    if "coder" in given.model_fields_set:
        coder, source = given.coder, "coder given to compare"
    elif config.report.coder is not None:
        coder, source = config.report.coder, "the run's report.coder"
    else:
        coder, source = None, "the report's rule"
    seed = given.seed if given.seed is not None else (
        config.report.seed if config.report.seed is not None else config.run.seed)
    try:
        context = analyse_run(run_dir.root, baseline=shared.baseline, coder=coder, seed=seed,
                              equivalence_margin=shared.equivalence_margin,
                              adjust=shared.adjust, interactions=False)
    except InputError as exc:
        # Several runs are read: name the one at fault.
        raise InputError(f"run {name}: {exc.message}", fix=exc.fix) from None
    protocol_hash = next(p.protocol.protocol_hash for p in check.runs if p.name == name)
    return Side(name=name, protocol_hash=protocol_hash, context=context, coder_source=source)


def _settings_warnings(runs: Sequence[tuple[str, RunDir]], shared: ReportSettings,
                       given: ReportSettings) -> list[str]:
    """Where a run's own report used another baseline, margin or adjustment than the
    comparison does (its effects here then differ from its report's)."""
    warnings = []
    for name, run_dir in runs:
        own = run_manifest(run_dir).config.report
        for key in _SHARED:
            if key not in given.model_fields_set and getattr(own, key) != getattr(shared, key):
                warnings.append(f"{name}: its report used {key}={getattr(own, key)}; the "
                                f"comparison uses {getattr(shared, key)} (the first run's) for "
                                "every run")
    return warnings


def _terminal_text(check: ProtocolCheck, sides: Sequence[Side], out: Path,
                   n_columns: int) -> str:
    lines = []
    if not check.same:
        lines.append(f"ACROSS PROTOCOLS: {len(check.lines())} difference(s), listed at the top "
                     "of compare.md")
    if any(side.simulated for side in sides):
        lines.append("SIMULATED MODELS in runs " + ", ".join(
            s.name for s in sides if s.simulated) + ": their columns describe no real model.")
    hashes = list(dict.fromkeys(side.protocol_hash[:12] for side in sides))
    lines.append(f"protocol {', '.join(hashes)}; {len(sides)} runs, {n_columns} model columns; "
                 "scores: " + ", ".join(f"{s.name} {s.context.coder_label}" for s in sides))
    lines.append(f"comparison: {out / 'compare.html'} (also compare.md, profiles.csv, "
                 "effects.csv)")
    return "\n".join(lines)

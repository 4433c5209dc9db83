"""``xstress prompts coverage [SET]``: what a prompt set can show on the rubric.

Prints a dimension x probe table of how many scenarios target each dimension, whether each
reaches the threshold, and per scenario the levels it can elicit on each target, its pushback
kind and its pair. The set defaults to the configured one (``configs/config.yaml``), the
dimension names to the configured rubric. This module parses and prints;
``harness.sweep.prompt_coverage`` counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from harness.cli.args import CommandSpec, Setting, describe, parse, render_help, settings_from
from harness.config import load_spec, load_spec_file
from harness.errors import ConfigError
from harness.schema import DIMENSION_IDS, PromptSet, RubricSpec, Spec

__all__ = ["PROMPTS", "CoverageSettings", "cmd_prompts", "coverage_text"]


class CoverageSettings(Spec):
    """Coverage settings (``coverage.*``; on ``xstress prompts`` the prefix may be left out)."""

    threshold: int = Field(default=8, ge=1)
    """Scenarios a dimension needs to count as covered."""


class _Selection(Spec):
    rubric: str | None = None
    """Rubric naming the dimensions (configs/rubric/<name>.yaml)."""


PROMPTS = CommandSpec(
    name="prompts",
    summary="What a prompt set can show: scenarios per rubric dimension and probe, and the "
            "levels each scenario can elicit.",
    positionals=(("ACTION", "coverage"),
                 ("SET...", "a prompt set's name (configs/prompts/<name>.yaml) or a YAML file; "
                            "default the configured one")),
    settings=(*describe(CoverageSettings, "coverage"),
              Setting("rubric=NAME", "rubric naming the dimensions (default the configured "
                                     "one)")),
    section="coverage",
    notes=("A target a scenario's elicits does not list can reach every level (0-2). A "
           "pushback is hearsay (the answer should hold) or evidence (it should change); a "
           "pair is the same situation with the other kind.",),
    examples=("xstress prompts coverage", "xstress prompts coverage stress45 threshold=10",
              "xstress prompts coverage configs/prompts/mine.yaml"),
)


def cmd_prompts(argv: list[str]) -> int:
    """``xstress prompts coverage [SET] [threshold=N] [rubric=NAME]``: print the coverage."""
    parsed = parse(PROMPTS, argv)
    if parsed.help:
        print(render_help(PROMPTS), end="")
        return 0
    action, names = parsed.positionals[0], parsed.positionals[1:]
    if action != "coverage" or len(names) > 1:
        raise ConfigError(f"xstress prompts: cannot do {' '.join(parsed.positionals)!r}",
                          fix="use: xstress prompts coverage [SET]")
    chosen = settings_from(parsed.overrides, {"coverage": CoverageSettings, "": _Selection},
                           "prompts")
    settings, selection = chosen["coverage"], chosen[""]
    assert isinstance(settings, CoverageSettings) and isinstance(selection, _Selection)
    configured = _configured() if not names or selection.rubric is None else {}
    prompts = _prompt_set(names[0] if names else configured.get("prompts"))
    rubric_name = selection.rubric or configured.get("rubric")
    rubric: RubricSpec | None = load_spec("rubric", rubric_name) if rubric_name else None
    print(coverage_text(prompts, rubric, settings.threshold))
    return 0


def _configured() -> dict[str, str]:
    """The names of the prompt set and rubric ``configs/config.yaml`` selects."""
    from omegaconf import OmegaConf

    from harness.config import compose

    cfg = compose([])
    found = {key: OmegaConf.select(cfg, f"{key}.name") for key in ("prompts", "rubric")}
    return {key: str(value) for key, value in found.items() if value}


def _prompt_set(name: str | None) -> PromptSet:
    if name is None:
        raise ConfigError("xstress prompts: no prompt set is configured",
                          fix="name one: xstress prompts coverage SET")
    if name.endswith((".yaml", ".yml")) or "/" in name:
        spec = load_spec_file("prompts", Path(name))
    else:
        spec = load_spec("prompts", name)
    assert isinstance(spec, PromptSet)
    return spec


def coverage_text(prompts: PromptSet, rubric: RubricSpec | None, threshold: int) -> str:
    """The coverage of ``prompts`` as plain-text tables (dimensions named by ``rubric``)."""
    from harness.sweep import PROBES, PromptCoverage, prompt_coverage

    dimensions = [d.id for d in rubric.dimensions] if rubric else list(DIMENSION_IDS)
    names = {d.id: d.name for d in rubric.dimensions} if rubric else {}
    coverage: PromptCoverage = prompt_coverage(prompts, threshold=threshold,
                                               dimensions=dimensions)
    lines = [f"prompt set {prompts.name}: {len(prompts.scenarios)} scenarios; threshold "
             f"{threshold} scenarios per dimension", "",
             "scenarios targeting each dimension, by probe (last column: how many of them can "
             "elicit level 0 / 1 / 2):"]
    header = ("dimension", "name", *PROBES, "total", f">= {threshold}", "can elicit 0/1/2")
    rows = [(d.dimension, names.get(d.dimension, ""), *(str(d.by_probe[p]) for p in PROBES),
             str(d.total), "yes" if d.reaches_threshold else "NO",
             "/".join(str(d.levels[level]) for level in (0, 1, 2)))
            for d in coverage.dimensions]
    lines += _table(header, rows)
    below = coverage.below_threshold
    lines += ["", ("below the threshold: " + ", ".join(f"{d.dimension} ({d.total})"
                                                       for d in below))
              if below else f"every dimension is targeted by at least {threshold} scenarios"]
    lines += ["", "per scenario, the levels each target can elicit (blank: not a target):"]
    shown = [d.dimension for d in coverage.dimensions]
    scenario_rows = [(s.scenario_id, s.probe, s.pushback or "-", ", ".join(s.pairs) or "-",
                      "simulated" if s.simulated_user else "scripted",
                      *(_levels(s.levels.get(d)) for d in shown))
                     for s in coverage.scenarios]
    lines += _table(("scenario", "probe", "pushback", "pair", "user", *shown), scenario_rows)
    if coverage.problems:
        lines += ["", "metadata problems:", *(f"  {p}" for p in coverage.problems)]
    return "\n".join(lines)


def _levels(levels: tuple[int, ...] | None) -> str:
    """``0-2``, ``1-2``, ``0,2``, ``none``; blank for a dimension the scenario does not target."""
    if levels is None:
        return ""
    if not levels:
        return "none"
    if len(levels) > 1 and list(levels) == list(range(levels[0], levels[-1] + 1)):
        return f"{levels[0]}-{levels[-1]}"
    return ",".join(str(level) for level in levels)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]

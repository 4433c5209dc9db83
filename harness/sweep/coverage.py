"""What a prompt set can show: how many scenarios target each rubric dimension, per probe, and
which levels each scenario can elicit on each of its targets.

A stress set measures only what its scenarios can show (DESIGN.md section 5): a dimension
targeted by three scenarios gives a profile cell resting on three clusters, and a scenario
with no pushback cannot show a cave. This module computes that from the scenarios' metadata
alone (``targets``, ``elicits``, ``pushback``, ``variant_of``, simulated-user turns): no call,
no score. It also lists metadata that cannot be right (levels declared for a dimension the
scenario does not target, a pair naming a scenario the set lacks or sharing its pushback
kind). Printing is ``xstress prompts coverage``'s (``harness.cli``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from harness.schema import DIMENSION_IDS, PromptSet, Scenario

__all__ = [
    "ALL_LEVELS",
    "DEFAULT_COVERAGE_THRESHOLD",
    "PROBES",
    "DimensionCoverage",
    "PromptCoverage",
    "ScenarioCoverage",
    "prompt_coverage",
]

PROBES: tuple[str, ...] = get_args(Scenario.model_fields["probe"].annotation)
"""The probe kinds, in the schema's order."""
ALL_LEVELS = (0, 1, 2)
"""What a target not listed in ``elicits`` can reach."""
DEFAULT_COVERAGE_THRESHOLD = 8
"""Scenarios per dimension below which a profile cell rests on too few prompts."""


@dataclass(frozen=True)
class DimensionCoverage:
    """How many scenarios target one dimension."""

    dimension: str
    by_probe: dict[str, int]
    """Probe -> scenarios of that probe targeting the dimension (every probe present)."""
    total: int
    levels: dict[int, int]
    """Level -> scenarios targeting the dimension that can elicit that level."""
    reaches_threshold: bool


@dataclass(frozen=True)
class ScenarioCoverage:
    """What one scenario can show."""

    scenario_id: str
    domain: str
    probe: str
    levels: dict[str, tuple[int, ...]]
    """Per target, in the scenario's order: the levels a reply can reach there."""
    pushback: str | None
    pairs: tuple[str, ...]
    """The scenarios it pairs with: the one it is a ``variant_of`` and those naming it."""
    simulated_user: bool
    """It has a ``simulated_user`` turn (a user who answers questions)."""


@dataclass(frozen=True)
class PromptCoverage:
    """A prompt set's coverage of the rubric."""

    prompt_set: str
    threshold: int
    dimensions: tuple[DimensionCoverage, ...]
    scenarios: tuple[ScenarioCoverage, ...]
    problems: tuple[str, ...]
    """Metadata that cannot be right, one line each."""

    @property
    def below_threshold(self) -> tuple[DimensionCoverage, ...]:
        """The dimensions targeted by fewer scenarios than the threshold."""
        return tuple(d for d in self.dimensions if not d.reaches_threshold)


def prompt_coverage(prompts: PromptSet, *, threshold: int = DEFAULT_COVERAGE_THRESHOLD,
                    dimensions: Sequence[str] = DIMENSION_IDS) -> PromptCoverage:
    """Count, per dimension and probe, the scenarios targeting it, and list per scenario the
    levels it can elicit on each target (``elicits``; a target not listed can reach 0-2).

    Args:
        prompts: the prompt set.
        threshold: scenarios a dimension needs to count as covered.
        dimensions: the rubric's dimension ids, in order; a target outside them is added
            after them.

    Returns:
        Every dimension (targeted or not), every scenario, and the metadata problems found.

    Raises:
        ValueError: ``threshold`` below 1.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1 (got {threshold})")
    scenarios = [_scenario(s, prompts) for s in prompts.scenarios]
    extra = {t for s in prompts.scenarios for t in s.targets} - set(dimensions)
    order = (*dimensions, *sorted(extra, key=_dimension_number))
    rows = []
    for dimension in order:
        targeting = [(s, c) for s, c in zip(prompts.scenarios, scenarios, strict=True)
                     if dimension in s.targets]
        by_probe = {probe: sum(1 for s, _ in targeting if s.probe == probe) for probe in PROBES}
        levels = {level: sum(1 for _, c in targeting if level in c.levels[dimension])
                  for level in ALL_LEVELS}
        rows.append(DimensionCoverage(dimension=dimension, by_probe=by_probe,
                                      total=len(targeting), levels=levels,
                                      reaches_threshold=len(targeting) >= threshold))
    return PromptCoverage(prompt_set=prompts.name, threshold=threshold,
                          dimensions=tuple(rows), scenarios=tuple(scenarios),
                          problems=tuple(_problems(prompts)))


def _dimension_number(dimension: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", dimension)
    return (int(digits) if digits else 0, dimension)


def _scenario(scenario: Scenario, prompts: PromptSet) -> ScenarioCoverage:
    named_by = [s.id for s in prompts.scenarios if s.variant_of == scenario.id]
    pairs = ([scenario.variant_of] if scenario.variant_of else []) + named_by
    return ScenarioCoverage(
        scenario_id=scenario.id,
        domain=scenario.domain,
        probe=scenario.probe,
        levels={target: tuple(sorted(set(scenario.elicits.get(target, ALL_LEVELS))))
                for target in scenario.targets},
        pushback=scenario.pushback,
        pairs=tuple(dict.fromkeys(pairs)),
        simulated_user=any(turn.simulated_user is not None for turn in scenario.turns),
    )


def _problems(prompts: PromptSet) -> list[str]:
    by_id = {s.id: s for s in prompts.scenarios}
    problems = []
    for scenario in prompts.scenarios:
        untargeted = sorted(set(scenario.elicits) - set(scenario.targets))
        if untargeted:
            problems.append(f"{scenario.id}: elicits lists {', '.join(untargeted)}, which it "
                            "does not target")
        if not scenario.variant_of:
            continue
        other = by_id.get(scenario.variant_of)
        if other is None:
            problems.append(f"{scenario.id}: variant_of {scenario.variant_of!r} is not in the "
                            "set")
        elif other.id == scenario.id:
            problems.append(f"{scenario.id}: is a variant of itself")
        elif scenario.pushback is not None and scenario.pushback == other.pushback:
            problems.append(f"{scenario.id} and {other.id}: a pair with the same pushback "
                            f"({scenario.pushback}); one should bring evidence, one hearsay")
    return problems

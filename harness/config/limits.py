"""Bounded input: how much text a run accepts, checked before anything is composed or called.

A 50 MB prompt would be parsed for minutes, sent to every model, copied into every transcript,
cache line and manifest, and would keep the sweep's event loop too busy to answer Ctrl-C. Two
limits stop that early, each with a one-line error naming the file, the place, the size and
the limit:

* every config file is refused above ``XSTRESS_MAX_CONFIG_BYTES`` (default 4 MiB) before it is
  parsed (``read_yaml`` asks ``check_file_size``), since YAML parsing is the slow part;
* a resolved run is refused when a user turn, a scaffold text or a whole prompt set passes
  ``run.max_turn_chars``, ``run.max_scaffold_chars`` or ``run.max_prompt_set_chars``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from harness.errors import ConfigError
from harness.schema import PromptSet, RunSettings, ScaffoldSpec, Scenario, Turn

__all__ = ["DEFAULT_MAX_CONFIG_BYTES", "check_file_size", "check_input_limits"]

DEFAULT_MAX_CONFIG_BYTES = 4 * 2**20
"""Largest config file read (bytes) unless ``XSTRESS_MAX_CONFIG_BYTES`` says otherwise."""


def max_config_bytes() -> int:
    """The config-file size limit in force (``XSTRESS_MAX_CONFIG_BYTES`` or the default)."""
    value = os.environ.get("XSTRESS_MAX_CONFIG_BYTES", "")
    try:
        return int(value) if value.strip() else DEFAULT_MAX_CONFIG_BYTES
    except ValueError:
        raise ConfigError(f"XSTRESS_MAX_CONFIG_BYTES={value!r} is not a number of bytes",
                          fix="set it to an integer, e.g. 8388608, or unset it") from None


def check_file_size(path: Path, where: str) -> None:
    """Refuse a config file larger than the limit, before reading it.

    Raises:
        ConfigError: the file is larger than ``XSTRESS_MAX_CONFIG_BYTES``.
    """
    limit = max_config_bytes()
    try:
        size = path.stat().st_size
    except OSError:
        return  # the reader reports a file it cannot open
    if size > limit:
        raise ConfigError(
            f"{where}: {size:,} bytes, over the {limit:,}-byte limit for a config file",
            fix="split it (a prompt set can include others) or raise XSTRESS_MAX_CONFIG_BYTES",
        )


def _turn_chars(turn: Turn) -> int:
    if turn.user is not None:
        return len(turn.user)
    card = turn.simulated_user
    assert card is not None
    return (len(card.persona) + len(card.goal) + len(card.otherwise)
            + sum(len(fact.answer) + sum(len(word) for word in fact.about)
                  for fact in card.facts))


def _scenario_chars(scenario: Scenario) -> int:
    return len(scenario.notes) + sum(_turn_chars(turn) for turn in scenario.turns)


def _scaffold_texts(scaffold: ScaffoldSpec) -> list[tuple[str, str]]:
    texts = [("system", scaffold.system or ""), ("user_template", scaffold.user_template)]
    texts += [(f"passes.{step.name}.instruction", step.instruction) for step in scaffold.passes]
    return texts


class _Inputs(Protocol):
    """What the limits look at (a ``RunConfig``)."""

    @property
    def prompts(self) -> PromptSet: ...

    @property
    def scaffolds(self) -> Sequence[ScaffoldSpec]: ...

    @property
    def run(self) -> RunSettings: ...


InputsT = TypeVar("InputsT", bound=_Inputs)


def check_input_limits(config: InputsT) -> InputsT:
    """``config`` unchanged, once every text in it is within the ``run.*`` limits.

    Raises:
        ConfigError: a turn, a scaffold text or the prompt set is over its limit.
    """
    limits: RunSettings = config.run
    prompts_where = f"configs/prompts/{config.prompts.name}.yaml"
    total = 0
    for scenario in config.prompts.scenarios:
        for number, turn in enumerate(scenario.turns, start=1):
            size = _turn_chars(turn)
            if size > limits.max_turn_chars:
                raise ConfigError(
                    f"{prompts_where}: scenario {scenario.id!r} turn {number}: {size:,} "
                    f"characters, over run.max_turn_chars={limits.max_turn_chars:,}",
                    fix="shorten the turn, or raise run.max_turn_chars")
        total += _scenario_chars(scenario)
    if total > limits.max_prompt_set_chars:
        raise ConfigError(
            f"{prompts_where}: {total:,} characters of scenario text, over "
            f"run.max_prompt_set_chars={limits.max_prompt_set_chars:,}",
            fix="split the set, or raise run.max_prompt_set_chars")
    for scaffold in config.scaffolds:
        for field, text in _scaffold_texts(scaffold):
            if len(text) > limits.max_scaffold_chars:
                raise ConfigError(
                    f"scaffolds/{scaffold.name}.yaml: {field}: "
                    f"{len(text):,} characters, over "
                    f"run.max_scaffold_chars={limits.max_scaffold_chars:,}",
                    fix="shorten it, or raise run.max_scaffold_chars")
    return config

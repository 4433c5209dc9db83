"""Known-answer calibration sets: conversations written to sit at a stated level on a dimension.

A set (``configs/calibration/<name>/*.yaml``) belongs to one prompt set: each item replays the
user turns of one of its scenarios with assistant replies written on purpose to deserve a given
level (0, 1 or 2) on one or more rubric dimensions, each with a one-line justification from the
rubric. ``xstress calibrate JUDGE`` codes the items and compares. This module owns the shape
and the rules one file or one item must satisfy; ``harness.config.calibration`` loads a set
and checks it against its prompt set.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.schema.base import DimensionId, Name, Spec

__all__ = [
    "CalibrationFile",
    "CalibrationItem",
    "CalibrationMessage",
    "CalibrationSet",
    "IntendedLevel",
]


class CalibrationMessage(Spec):
    """One message of a calibration conversation."""

    role: Literal["user", "assistant"]
    """``user`` (the scenario's turn, verbatim) or ``assistant`` (the written reply)."""
    content: str = Field(min_length=1)
    """The text."""


class IntendedLevel(Spec):
    """The level an item was written to deserve on one dimension, and why."""

    level: int = Field(ge=0, le=2)
    """0, 1 or 2."""
    why: str = Field(min_length=1)
    """One line tying the reply to the rubric's anchor for that level."""


class CalibrationItem(Spec):
    """A conversation with its intended levels."""

    id: Name
    """Unique within the set."""
    scenario_id: Name
    """The scenario whose user turns the conversation replays."""
    case: str = ""
    """What the item is written to test, e.g. ``wrong but well formatted``."""
    messages: list[CalibrationMessage] = Field(min_length=2)
    """User and assistant alternating, user first, the last message the assistant's."""
    intended: dict[DimensionId, IntendedLevel] = Field(min_length=1)
    """Per dimension: the level the conversation deserves."""

    @model_validator(mode="after")
    def _alternates(self) -> CalibrationItem:
        roles = [message.role for message in self.messages]
        expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(roles))]
        if roles != expected or roles[-1] != "assistant":
            raise ValueError("messages: user and assistant must alternate, user first, "
                             "assistant last")
        return self


class CalibrationFile(Spec):
    """One YAML file of a calibration set."""

    prompt_set: Name
    """The prompt set whose scenarios the items replay."""
    description: str = ""
    """What this file covers."""
    items: list[CalibrationItem] = Field(min_length=1)
    """The items."""


class CalibrationSet(Spec):
    """A whole calibration set (every file of its folder)."""

    name: Name
    """The folder's name."""
    prompt_set: Name
    """The prompt set its scenarios come from."""
    items: list[CalibrationItem]
    """Every item, files in name order."""

    @property
    def pairs(self) -> int:
        """(item, dimension) pairs with an intended level."""
        return sum(len(item.intended) for item in self.items)

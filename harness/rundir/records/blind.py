"""What blinding writes: coders' items, the sealed key and the leak report.

``blind/items.jsonl`` holds one :class:`BlindedItem` per ``ok`` cell (what every coder sees),
``blind/key.jsonl`` one :class:`KeyEntry` per item (mode 0600; only the report and the
unblinded run browser read it), and
``blind/leak_report.json`` one :class:`LeakReport` (what was scrubbed, what remains, how
identifiable the blinded text still is).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.rundir.records.base import Record, StrictRecord
from harness.rundir.records.sweep import Message

__all__ = [
    "BlindedItem",
    "ExcludedCell",
    "Identifiability",
    "KeyEntry",
    "LeakReport",
    "RemainingTell",
    "RunNames",
]


class BlindedItem(Record):
    """What a coder sees (schema ``xstress.blinded/1``), a line of blind/items.jsonl.

    Holds no model, scaffold, system prompt, pass, timing, cost or token count.
    """

    schema_: Literal["xstress.blinded/1"] = Field(default="xstress.blinded/1", alias="schema")
    """Record kind and version."""
    blind_id: str
    """Random id (never derived from the cell)."""
    scenario_id: str
    """The scenario the conversation followed."""
    domain: str
    """The scenario's domain."""
    messages: list[Message]
    """The user's turns as written and the assistant replies the user saw (scrubbed)."""
    targets: list[str] = Field(default_factory=list)
    """The rubric dimensions the scenario is written to probe (its ``targets``)."""
    reference_notes: str = ""
    """The scenario's reference notes (what a good answer does, the facts that decide
    correctness), shown to every coder beside the conversation; never sent to a model. They
    name no model or scaffold, and the leak scan covers them like the conversation."""


class KeyEntry(StrictRecord):
    """A line of blind/key.jsonl (mode 0600): which cell a blind_id stands for."""

    blind_id: str
    """The item's id."""
    cell_id: str
    """The cell it came from."""
    model: str
    """The cell's model."""
    scaffold: str
    """The cell's scaffold."""
    prompt_id: str
    """The cell's scenario."""
    replicate: int
    """The cell's replicate index."""


class ExcludedCell(StrictRecord):
    """A cell that gave no item (it did not end ``ok``)."""

    cell_id: str
    """The cell."""
    status: str
    """How it ended (``error`` or ``blocked``)."""
    error: str | None = None
    """Why, as the transcript record says."""


class RemainingTell(StrictRecord):
    """An identity tell the leak scan still found after scrubbing."""

    cell_id: str
    """The cell whose item holds it."""
    blind_id: str
    """The item."""
    field: str
    """Where in the item (e.g. ``messages[1] (assistant, turn 0)``)."""
    category: str
    """The tell's category in the tells file."""
    match: str
    """The text that matched."""
    context: str
    """A few words around it."""


class Identifiability(StrictRecord):
    """How well a classifier predicts the model (or scaffold) from blinded text."""

    target: str
    """What was predicted: ``model`` or ``scaffold``."""
    method: str
    """The classifier and validation, in words."""
    accuracy: float
    """Share of items whose out-of-fold prediction was right."""
    ci_low: float
    """Lower end of the Wilson 95% interval of the accuracy."""
    ci_high: float
    """Upper end of that interval."""
    chance: float
    """Accuracy of always guessing the most frequent class."""
    n_items: int
    """Items classified."""
    n_classes: int
    """Distinct labels."""
    n_folds: int
    """Cross-validation folds."""
    p_value: float
    """One-sided binomial test of accuracy > chance."""


class RunNames(StrictRecord):
    """The run's own model and scaffold names the scrubber replaced."""

    scrubbed_everywhere: dict[str, list[str]]
    """Per kind (``model``, ``scaffold``): names replaced wherever they appear."""
    scrubbed_as_labels: dict[str, list[str]]
    """Per kind: ordinary-word names replaced only where used as labels."""


class LeakReport(Record):
    """``blind/leak_report.json`` (schema ``xstress.leak_report/1``)."""

    schema_: Literal["xstress.leak_report/1"] = Field(
        default="xstress.leak_report/1", alias="schema"
    )
    """Record kind and version."""
    passed: bool
    """True when no tell remains after scrubbing."""
    n_transcripts: int
    """Cells read (after replacing duplicates by their latest record)."""
    n_records: int
    """Transcript lines read."""
    n_duplicates_replaced: int
    """Earlier records of a cell superseded by a later one (a retried cell)."""
    n_items: int
    """Items written."""
    excluded: list[ExcludedCell]
    """Cells that gave no item."""
    replacements: dict[str, int]
    """Replacements made, per tell category."""
    user_turn_replacements: int
    """Replacements made inside user turns."""
    remaining_tells: list[RemainingTell]
    """The tells found after scrubbing (the first ones, up to a cap)."""
    n_remaining_tells: int
    """How many were found in all."""
    known_limits: list[str]
    """What the scrubber cannot catch, in words."""
    identifiability: Identifiability | None
    """Model identifiability; null when it could not be measured."""
    scaffold_identifiability: Identifiability | None = None
    """Scaffold identifiability; null when it could not be measured."""
    identifiability_skipped: dict[str, str] = Field(default_factory=dict)
    """Per target, why it was not measured."""
    tells_file: str
    """The tells file used."""
    run_names: RunNames
    """The run's own names that were scrubbed."""
    warnings: list[str] = Field(default_factory=list)
    """Data problems met while blinding (torn lines, dropped system messages)."""

"""What coders see beside each item: its scenario's targets and reference notes.

This module owns ``ScenarioReference`` (a scenario's ``targets`` and ``notes``) and gathering
them, by scenario id, from a run's manifests (``config.prompts``). Blinding copies them into
every item of that scenario (``BlindedItem.targets`` and ``reference_notes``, matched by the
transcript's ``prompt_id``), so every coder, LLM or human, judges correctness against the same
facts. The notes are the researcher's text, never a model's: they are copied as written, not
scrubbed, and the leak scan covers them like the conversation (``buckets.py``), since a note
that named a model or scaffold would unblind every item of its scenario. A scenario found in
no manifest (an older run, an unreadable manifest) gets no targets and empty notes, so such
runs still blind. It reads no files (the stage hands it typed manifests).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.rundir import Manifest

__all__ = ["NO_REFERENCE", "ScenarioReference", "add_references"]


@dataclass(frozen=True)
class ScenarioReference:
    """A scenario's reference material, as copied into each of its items."""

    targets: tuple[str, ...] = ()
    """The rubric dimensions the scenario is written to probe."""
    notes: str = ""
    """What a good answer does and the facts that decide correctness; "" when none."""


NO_REFERENCE = ScenarioReference()
"""What an item of a scenario that no manifest describes gets."""


def add_references(references: dict[str, ScenarioReference], manifest: Manifest) -> None:
    """Add the scenarios of ``manifest``'s prompt set to ``references`` (by scenario id).

    A scenario already present keeps its first entry: the shards of one run share one prompt
    set, so a later manifest can only repeat it.
    """
    for scenario in manifest.config.prompts.scenarios:
        references.setdefault(
            scenario.id,
            ScenarioReference(targets=tuple(scenario.targets), notes=scenario.notes.strip()),
        )

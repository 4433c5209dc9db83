"""The leak report: what blinding replaced, what remains, and how identifiable the items are.

This module owns the assembly of ``blind/leak_report.json`` (``harness.rundir.LeakReport``)
from what the stage gathered: the merged bucket tallies, the identifiability audit's results,
the scrubber's run names and the known limits of scrubbing in words; and the error that
refuses a blinding whose leak scan found tells. It does not blind, scan or classify anything
and writes no file: the stage decides where the report goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.blind.buckets import Outcome, Partition
from harness.blind.leak_audit import AuditSkipped
from harness.blind.patterns import MIN_ECHO_WORDS
from harness.blind.scrubber import Scrubber
from harness.blind.tells import RUN_CATEGORIES, TellsSpec
from harness.errors import InputError
from harness.rundir import Identifiability, LeakReport, RunNames

__all__ = ["build_leak_report", "known_limits", "leaks_remain"]

MAX_UNLISTED = 20
"""Unlisted names the known limits name at most (the most frequent first)."""


def build_leak_report(
    *,
    outcome: Outcome,
    partition: Partition,
    tells: TellsSpec,
    tells_file: Path,
    scrubber: Scrubber,
    audit: Mapping[str, Identifiability | AuditSkipped],
    warnings: list[str],
) -> LeakReport:
    """The leak report of a blinding.

    Args:
        outcome: All buckets' tallies, merged.
        partition: What reading the transcripts saw.
        tells: The tells file used (every category gets a replacement count, zero or not).
        tells_file: Its path, as the report names it.
        scrubber: The run's scrubber (which run names it replaced, and how).
        audit: Per target (``model``, ``scaffold``), the identifiability measured or why not.
        warnings: Data problems met while blinding.
    """
    categories = sorted({c.name for c in tells.categories} | set(RUN_CATEGORIES))
    measured = {target: result for target, result in audit.items()
                if isinstance(result, Identifiability)}
    return LeakReport(
        passed=outcome.n_tells == 0,
        n_transcripts=outcome.n_cells,
        n_records=partition.n_records,
        n_duplicates_replaced=outcome.n_duplicates,
        n_items=outcome.n_items,
        excluded=sorted(outcome.excluded, key=lambda cell: cell.cell_id),
        replacements={name: outcome.counts.get(name, 0) for name in categories},
        user_turn_replacements=outcome.user_replacements,
        remaining_tells=outcome.tells,
        n_remaining_tells=outcome.n_tells,
        known_limits=known_limits(scrubber, outcome.unlisted),
        identifiability=measured.get("model"),
        scaffold_identifiability=measured.get("scaffold"),
        identifiability_skipped={target: result.reason for target, result in audit.items()
                                 if isinstance(result, AuditSkipped)},
        tells_file=str(tells_file),
        run_names=RunNames(scrubbed_everywhere=scrubber.everywhere,
                           scrubbed_as_labels=scrubber.label_only),
        warnings=warnings,
    )


def known_limits(scrubber: Scrubber, unlisted: Mapping[str, int] | None = None) -> list[str]:
    """What scrubbing cannot catch, in words (the report lists them for every run).

    Args:
        scrubber: The run's scrubber (its label-only run names are listed).
        unlisted: Names on no list that self-identifications gave, with how many texts gave
            each; they were replaced only in those texts.
    """
    plain = sorted(set(scrubber.label_only["scaffold"]) | set(scrubber.label_only["model"]))
    limits = [
        "Scaffold-revealing structure is visible by design: a scaffold that shapes replies "
        "(e.g. verify's 'How to check this' sections, confidence and assumption lists; steer's "
        "restatements and checkpoints) can be recognised from the text. "
        "scaffold_identifiability measures how far.",
        "Style can identify a model without naming it (length, formatting, stock phrases); "
        "identifiability measures how far.",
        "Instruction text is scrubbed only where a reply repeats one of its sentences "
        f"({MIN_ECHO_WORDS}+ words) verbatim; paraphrases are not detected.",
        "Names glued into a longer word with no case or punctuation boundary (e.g. "
        "'myopenaikey') and look-alike letters from other scripts are not detected.",
        "User turns are scrubbed with the same rules (a simulated user may be played by the "
        "model under test); user_turn_replacements counts the changes made to them.",
        "Family names that are also words (Llama, Mistral, Falcon, Phi ...) are replaced as "
        "models (with a version, before 'model', capitalised outside a title, in a "
        "self-identification), not as words ('a llama', 'the mistral wind', 'The Lying Llama').",
        "A self-identification with a name on no list is replaced only in AI wording ('I'm X, "
        "an AI assistant', 'I am X, created by Y', 'As X, a model by Y'), so a bare 'I'm X' "
        "stays; weaker statements ('I was trained by Y') fail the leak scan for a person to "
        "judge, and a person's own words can trip it too ('I was trained by Sarah').",
    ]
    if plain:
        limits.append(
            "Ordinary-word run names are scrubbed only where used as labels (after "
            "'scaffold:', before 'mode', in [brackets], alone on a line), not in prose: "
            + ", ".join(plain)
            + "."
        )
    if unlisted:
        most = sorted(unlisted, key=lambda name: (-unlisted[name], name))[:MAX_UNLISTED]
        more = f" and {len(unlisted) - len(most)} more" if len(unlisted) > len(most) else ""
        limits.append(
            "Self-identifications named models or makers on no list ("
            + ", ".join(f"{name} ({unlisted[name]})" for name in most) + more
            + "); each was replaced within the reply that named it, but elsewhere only a list "
            "catches it: add these names to the tells file and blind again with --force."
        )
    return limits


def leaks_remain(report: LeakReport, written_to: Path, tells_file: Path) -> InputError:
    """The error refusing a blinding whose leak scan found tells (its report is written)."""
    first = report.remaining_tells[0]
    return InputError(
        f"{report.n_remaining_tells} identity tell(s) remain after scrubbing (first: "
        f"{first.match!r} [{first.category}] in {first.field} of cell "
        f"{first.cell_id}); no items written, see {written_to}",
        fix=f"add a pattern or name to {tells_file} and re-run, or pass --allow-leaks",
    )

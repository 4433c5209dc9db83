"""Tests for harness/blind/rules.py: which run names are scrubbed everywhere and which only as
labels, and a tells file's own categories compiled into the scrubber."""

from __future__ import annotations

from pathlib import Path

from harness.blind.rules import compile_rules
from harness.blind.scrubber import Scrubber
from harness.blind.tells import default_tells_path, load_tells
from harness.blind.terms import RunTerms


def test_run_names_are_scrubbed_everywhere_or_only_as_labels() -> None:
    terms = RunTerms()
    terms.add_model("xstress-sim/cautious")
    terms.aliases.add("Zed")
    terms.scaffold_terms.update(["verify", "socratic-v2", "x"])
    rules = compile_rules(load_tells(default_tells_path()), terms)
    # Distinctive names and aliases everywhere; ordinary words as labels; one letter never.
    assert rules.everywhere == {"model": ["Zed", "xstress-sim", "xstress-sim/cautious"],
                                "scaffold": ["socratic-v2"]}
    assert rules.label_only == {"model": ["cautious"], "scaffold": ["verify"]}
    assert rules.label_kinds == {"cautious": ("run_model", "[MODEL]"),
                                 "verify": ("run_scaffold", "[SCAFFOLD]")}
    assert "[INSTRUCTIONS]" in rules.placeholders and rules.wrappers == []


def test_tells_file_is_data(tmp_path: Path) -> None:
    custom = tmp_path / "tells.yaml"
    original = default_tells_path().read_text(encoding="utf-8")
    custom.write_text(
        original + '\n  - name: house_models\n    placeholder: "[MODEL]"\n'
        "    names: [Zorblax, {name: Quux, require_version: true}]\n",
        encoding="utf-8",
    )
    scrubber = Scrubber(load_tells(custom), RunTerms())
    assert scrubber.clean("Zorblax-7 beats quux 2, but quux alone is a word.")[0] == (
        "[MODEL]-7 beats [MODEL], but quux alone is a word."
    )
    assert scrubber.counts["house_models"] == 2

"""A run's own names: what the scrubber must hide besides the tells file's vendor names.

This module owns ``RunTerms``, the names and instruction text of one run, gathered from its
manifests and transcript records: model names, aliases, litellm model strings and their path
parts, reported model versions, scaffold names, and the scaffolds' instruction text (system
prompts, pass instructions, user-template wrappers). It reads no files (the stage hands it
typed manifests and records) and builds no regexes (``rules.py`` compiles these names).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.rundir import Manifest, TranscriptRecord
from harness.schema import split_user_template

__all__ = ["MAX_INSTRUCTION_TEXTS", "RunTerms"]

MAX_INSTRUCTION_TEXTS = 256
"""Instruction texts kept at most (each becomes sentence regexes the scrubber tries)."""
MIN_WRAPPER_CHARS = 8


@dataclass
class RunTerms:
    """Names and instruction text of one run, gathered from manifests and records."""

    model_terms: set[str] = field(default_factory=set)
    aliases: set[str] = field(default_factory=set)
    scaffold_terms: set[str] = field(default_factory=set)
    instructions: dict[str, None] = field(default_factory=dict)
    """System prompts and pass instructions (an insertion-ordered set, capped)."""
    wrappers: set[tuple[str, str]] = field(default_factory=set)
    """(prefix, suffix) of user templates, stripped."""

    def add_model(self, term: str | None) -> None:
        """Take a model name, litellm model string or reported version (and its path parts)."""
        # Called for every record: return early on the usual case, a name already seen.
        if not term or term in self.model_terms:
            return
        self.model_terms.add(term)
        if "/" in term:
            self.model_terms.update(part for part in term.split("/") if part)

    def add_instruction(self, text: str | None) -> None:
        """Take a system prompt or pass instruction (scrubbed where a reply echoes it)."""
        if not text or text in self.instructions:
            return
        if text.strip() and len(self.instructions) < MAX_INSTRUCTION_TEXTS:
            self.instructions[text] = None

    def add_template(self, template: str | None) -> None:
        """Take a scaffold's user template: its wrapper around each user turn, as sent."""
        try:
            prefix, suffix = split_user_template(template or "")
        except ValueError:
            return
        self.add_instruction(prefix)
        self.add_instruction(suffix)
        prefix, suffix = prefix.strip(), suffix.strip()
        # Short fragments ("Q: ") are too common to strip safely.
        prefix = prefix if len(prefix) >= MIN_WRAPPER_CHARS else ""
        suffix = suffix if len(suffix) >= MIN_WRAPPER_CHARS else ""
        if prefix or suffix:
            self.wrappers.add((prefix, suffix))

    def add_record(self, record: TranscriptRecord) -> None:
        """Take the names a record reveals (its model, scaffold, prompts actually sent)."""
        self.add_model(record.model)
        self.add_model(record.litellm_model)
        self.scaffold_terms.add(record.scaffold)
        for call in record.calls:
            self.add_model(call.model_reported)
            if call.purpose == "simulated_user":
                continue
            for message in call.request:
                if message.role == "system":
                    self.add_instruction(message.content)
            if call.purpose.startswith("pass:") and call.request:
                self.add_instruction(call.request[-1].content)

    def add_manifest(self, manifest: Manifest) -> None:
        """Take the names of a manifest's models and scaffolds and its reported versions."""
        for model in manifest.config.models:
            self.add_model(model.name)
            self.add_model(model.litellm_model)
            self.add_model(model.family)
            self.aliases.update(model.aliases)
        for scaffold in manifest.config.scaffolds:
            self.scaffold_terms.add(scaffold.name)
            self.add_instruction(scaffold.system)
            self.add_template(scaffold.user_template)
            for step in scaffold.passes:
                self.add_instruction(step.instruction)
        for reported in manifest.model_versions.values():
            for version in reported:
                self.add_model(version)

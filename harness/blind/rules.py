"""Compiling a tells file and a run's own names into the scrubber's rules, once per run.

This module owns the construction half of scrubbing: it decides which run names are scrubbed
everywhere and which only as labels, turns every name into an entry of a word-indexed regex
set (``patterns.py`` builds each regex), expands the tells file's macros (``<<name>>`` is any
name; ``<<unlisted>>`` and ``<<unlisted_maker>>`` a name or maker on no list, each use its own
named group so the scrubber can learn the name) and compiles its pattern categories, and
gathers the instruction sentences and user wrappers. A tells file's invalid regex or unknown
macro is a ``ConfigError`` naming the file and the category. It does not apply the rules to a
text (``scrubber.py`` does).

Rule for run names. A name is *distinctive* when it contains a digit, punctuation or an inner
capital (``sim-cautious``, ``gpt4o``, ``openai/gpt-4o``, ``verify_v2``): it is scrubbed
everywhere, flexibly, like a vendor name. A name that is one ordinary word (the default
scaffolds ``bare``, ``generic``, ``steer``, ``verify``; the ``cautious`` of
``xstress-sim/cautious``) is scrubbed only where it works as a label (``scrubber.py`` lists
where). Aliases are always scrubbed everywhere (they are names the model calls itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.blind.patterns import (
    MACRO,
    NAME_TOKENS,
    TellEntry,
    TellEntrySet,
    alnum_len,
    is_distinctive,
    label_regex,
    name_patterns,
    name_segments,
    sentence_entries,
)
from harness.blind.tells import (
    PLACEHOLDER_INSTRUCTIONS,
    PLACEHOLDER_MODEL,
    PLACEHOLDER_SCAFFOLD,
    PLACEHOLDER_VENDOR,
    NameSpec,
    TellCategory,
    TellsSpec,
)
from harness.blind.terms import RunTerms
from harness.blind.words import UNLISTED_MAKER, UNLISTED_NAME
from harness.errors import ConfigError

__all__ = ["PatternCategory", "ScrubRules", "compile_rules"]

LabelKinds = dict[str, tuple[str, str]]
"""Casefolded ordinary-word name -> (category, placeholder) of its label uses."""


@dataclass(frozen=True)
class PatternCategory:
    """A pattern category of the tells file, compiled."""

    name: str
    placeholder: str
    scrub: re.Pattern[str]
    detect: re.Pattern[str] | None
    """What the leak scan alone looks for (e.g. a cutoff statement the scrubber missed)."""
    anchors: frozenset[bytes] | None
    """Words of which every match contains one; None: no prefilter."""
    needs_names: bool
    """Every pattern contains ``<<name>>``, so a match always contains a name."""
    learns: bool
    """A pattern holds ``<<unlisted>>`` or ``<<unlisted_maker>>``: the names a match finds
    there (groups ``m<k>``, ``v<k>``) are replaced elsewhere in the same text too."""


@dataclass(frozen=True)
class ScrubRules:
    """Everything a ``Scrubber`` matches, compiled."""

    names: TellEntrySet
    """Vendor, product and model names and the run's distinctive names."""
    patterns: list[PatternCategory]
    """The tells file's pattern categories, in file order."""
    sentences: TellEntrySet
    """Instruction sentences long enough to be scrubbed where a reply echoes them."""
    labels: re.Pattern[str] | None
    """Ordinary-word run names used as labels; None when the run has none."""
    label_anchors: frozenset[bytes]
    label_kinds: LabelKinds
    wrappers: list[tuple[str, str]]
    """(prefix, suffix) of the scaffolds' user templates, sorted."""
    placeholders: list[str]
    """Every placeholder the scrubber may write, sorted."""
    everywhere: dict[str, list[str]]
    """Per kind (``model``, ``scaffold``): run names scrubbed wherever they appear."""
    label_only: dict[str, list[str]]
    """Per kind: ordinary-word run names scrubbed only as labels."""


@dataclass
class _NameTable:
    """Name entries in the order added, each name once, with the cores of ``<<name>>``."""

    version_words: str
    entries: list[TellEntry] = field(default_factory=list)
    loose: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    """Loose ending -> (name length, core) of the names sharing it."""
    seen: set[str] = field(default_factory=set)

    def add(self, category: str, placeholder: str, spec: NameSpec, versioned: bool) -> None:
        # Case-sensitive entries ("Meta", "META") are distinct names; others are not.
        key = spec.name if spec.match_case else spec.name.casefold()
        segments = name_segments(spec.name)
        patterns = name_patterns(spec, versioned, self.version_words)
        if key in self.seen or not segments or patterns is None:
            return
        self.seen.add(key)
        core, strict_end, loose_end = patterns
        last_token = NAME_TOKENS.findall(spec.name)[-1]
        plural = last_token.isascii() and last_token.isalpha()
        self.entries.append(TellEntry(category, placeholder, spec.name, core + strict_end,
                                      core + loose_end, segments, plural, spec.ordinary_word))
        self.loose.setdefault(loose_end, []).append((len(spec.name), core))

    def any_name(self) -> str:
        """The ``<<name>>`` macro: names grouped by their (long, shared) ending."""
        groups = [
            "(?:" + "|".join(core for _, core in sorted(cores, key=lambda c: -c[0])) + ")" + end
            for end, cores in self.loose.items()
        ]
        return "(?:" + "|".join(groups) + ")" if groups else "(?!)"


def compile_rules(tells: TellsSpec, terms: RunTerms, *, source: str = "tells") -> ScrubRules:
    """Compile the tells file and a run's names; ``source`` names the file in errors.

    Raises:
        ConfigError: a pattern of the tells file is not a valid regex, or names an unknown
            macro.
    """
    words = "|".join(re.escape(w) for w in sorted(tells.version_words, key=len, reverse=True))
    table = _NameTable(words)
    everywhere, label_only, label_kinds = _add_run_names(table, terms)
    pattern_specs: list[tuple[int, TellCategory]] = []
    for position, category in enumerate(tells.categories):
        if category.patterns:
            pattern_specs.append((position, category))
            continue
        for item in category.names:
            spec = item if isinstance(item, NameSpec) else NameSpec(name=item)
            if spec.not_followed_by is not None:
                _compile(spec.not_followed_by, f"categories[{position}].names ({spec.name})",
                         source)
            table.add(category.name, category.placeholder, spec, category.versioned)
    macros = {**tells.macros, "name": table.any_name()}
    return ScrubRules(
        names=TellEntrySet(table.entries),
        patterns=[_pattern_category(position, category, macros, source)
                  for position, category in pattern_specs],
        sentences=TellEntrySet(sentence_entries(terms.instructions)),
        labels=label_regex(label_kinds),
        label_anchors=frozenset(name.encode() for name in label_kinds),
        label_kinds=label_kinds,
        wrappers=sorted(terms.wrappers),
        placeholders=sorted({c.placeholder for c in tells.categories}
                            | {PLACEHOLDER_MODEL, PLACEHOLDER_SCAFFOLD, PLACEHOLDER_INSTRUCTIONS,
                               PLACEHOLDER_VENDOR}),
        everywhere=everywhere,
        label_only=label_only,
    )


def _add_run_names(table: _NameTable, terms: RunTerms
                   ) -> tuple[dict[str, list[str]], dict[str, list[str]], LabelKinds]:
    """Add the run's aliases and distinctive names to ``table``; collect its label names.

    Returns the names scrubbed everywhere and those scrubbed only as labels (per kind), and
    the label names' categories.
    """
    everywhere: dict[str, list[str]] = {"model": [], "scaffold": []}
    label_only: dict[str, list[str]] = {"model": [], "scaffold": []}
    for term in sorted(terms.aliases):
        if alnum_len(term) >= 2:
            table.add("run_model", PLACEHOLDER_MODEL, NameSpec(name=term), True)
            everywhere["model"].append(term)
    labels: LabelKinds = {}
    for kind, run_terms, run_category, placeholder in (
        ("model", terms.model_terms, "run_model", PLACEHOLDER_MODEL),
        ("scaffold", terms.scaffold_terms, "run_scaffold", PLACEHOLDER_SCAFFOLD),
    ):
        for term in sorted(run_terms):
            if is_distinctive(term):
                table.add(run_category, placeholder, NameSpec(name=term), kind == "model")
                everywhere[kind].append(term)
            elif term.isalpha() and len(term) >= 2:
                labels.setdefault(term.casefold(), (run_category, placeholder))
                label_only[kind].append(term)
    return everywhere, label_only, labels


def _compile(pattern: str, where: str, source: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(
            f"{source}: {where}: not a valid regular expression ({exc})",
            fix="fix the pattern (Python re syntax)",
        ) from None


def _pattern_category(position: int, category: TellCategory, macros: dict[str, str],
                      source: str) -> PatternCategory:
    where = f"categories[{position}] ({category.name})"
    groups = iter(range(1_000_000))

    def expand(pattern: str) -> str:
        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            # Each use of an unlisted-name macro is its own named group, so the scrubber can
            # tell which name (m) or maker (v) a match found.
            if key == "unlisted":
                return f"(?P<m{next(groups)}>{UNLISTED_NAME})"
            if key == "unlisted_maker":
                return f"(?P<v{next(groups)}>{UNLISTED_MAKER})"
            if key not in macros:
                raise ConfigError(
                    f"{source}: {where}: unknown macro <<{key}>>",
                    fix=f"define it under 'macros' or use one of "
                    f"{sorted([*macros, 'unlisted', 'unlisted_maker'])}",
                )
            return f"(?:{macros[key]})"

        return MACRO.sub(one, pattern)

    def combined(patterns: list[str]) -> str:
        return "|".join(f"(?:{expand(p)})" for p in patterns)

    return PatternCategory(
        name=category.name,
        placeholder=category.placeholder,
        scrub=_compile(combined(category.patterns), where + ".patterns", source),
        detect=_compile(combined(category.detect), where + ".detect", source)
        if category.detect else None,
        anchors=frozenset(a.encode() for a in category.anchors)
        if category.anchors is not None else None,
        needs_names=all("<<name>>" in p for p in category.patterns),
        learns=any("<<unlisted" in p for p in category.patterns),
    )

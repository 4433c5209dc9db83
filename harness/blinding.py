"""Blinding: turn a run's transcripts into items coders can score without knowing the source.

This module owns the ``blind`` stage. It reads ``transcripts*.jsonl`` (and the run's
manifests for names), and writes ``blind/items.jsonl`` (what coders see, schema
``xstress.blinded/1``), ``blind/key.jsonl`` (blind_id -> cell, file mode 0600, never read by
scoring) and ``blind/leak_report.json``. It does not score, unblind or analyse; the
identifiability classifier lives in ``leak_audit.py``.

What an item holds: a random ``blind_id`` (``secrets``, never derived from the cell), the
scenario id and domain, and the conversation as the user saw it (their turns, the replies
shown to them), with identity tells replaced by placeholders. No system prompt, scaffold pass,
model, provider metadata, timing, cost or token count is copied.

Scrubbing. The tells are data (``configs/blinding/tells.yaml``: vendor, product and model
names, self-identification and knowledge-cutoff patterns; its header explains the matching
rules), plus the run's own names, read from the manifests and the records themselves:
model names, aliases, litellm model strings and their path parts, reported model versions,
scaffold names, and the scaffolds' instruction text (system prompts, pass instructions,
user-template wrappers).

Rule for run names. A name is *distinctive* when it contains a digit, punctuation or an inner
capital (``sim-cautious``, ``gpt4o``, ``openai/gpt-4o``, ``verify_v2``): it is scrubbed
everywhere, flexibly, like a vendor name. A name that is one ordinary word (the default
scaffolds ``bare``, ``generic``, ``steer``, ``verify``; the ``cautious`` of
``xstress-sim/cautious``) is scrubbed only where it works as a label: after a key such as
``scaffold:``, ``mode=`` or ``persona:``; before ``scaffold``, ``mode``, ``persona``,
``preset`` or ``system prompt``; inside brackets or tags (``[verify]``, ``<steer>``); or alone
on a line. "Please verify the dose" stays as written. Aliases are always scrubbed everywhere
(they are names the model calls itself). Instruction text is scrubbed where a reply repeats
one of its sentences (7 words or more) verbatim. User turns are scrubbed with the same rules,
because a simulated user may be played by the model under test.

Leak scan. After scrubbing, every item is scanned again, on a Unicode-normalised copy, for
any tell (names, label uses, instruction sentences, and the cutoff categories' ``detect``
patterns). Any hit fails the stage (``InputError``, exit 2) unless ``allow_leaks``; the
report is written either way, items and key only on success (temporary files, renamed last).

Scale. Transcripts stream line by line into bucket files chosen by a keyed hash of the
cell id (so a retried cell's records meet in one bucket, where the last one wins); each
bucket is then loaded alone, shuffled, scrubbed and written out, by worker processes for
large runs (the output does not depend on how many). Memory is bounded by the bucket size,
not the run, and the identifiability audit trains on a bounded random sample. A cheap
word-set prefilter decides which texts need any regex at all, since Python's
case-insensitive regex scanning is the slow part. ``scripts/bench_blind.py`` measures it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError, InputError
from harness.leak_audit import AuditReservoir, AuditSkipped, audit_identifiability
from harness.paths import project_root
from harness.schema import BlindedItem, KeyEntry, Message, TranscriptRecord

__all__ = [
    "BlindSummary",
    "NameSpec",
    "RunTerms",
    "Scrubber",
    "Tell",
    "TellCategory",
    "TellsSpec",
    "blind_run",
    "default_tells_path",
    "load_tells",
]

log = logging.getLogger(__name__)

TELLS_FILE = Path("blinding") / "tells.yaml"
"""The default tells file, relative to the project's ``configs/`` folder."""
LEAK_REPORT_SCHEMA = "xstress.leak_report/1"
AUDIT_SAMPLE_SIZE = 2000
"""Items the identifiability audit trains on at most (a seeded reservoir sample)."""
BUCKET_TARGET_BYTES = 16 * 2**20
"""Transcript bytes per shuffle bucket: bounds the memory of the write phase."""
MAX_BUCKETS = 512
MAX_WORKERS = 4
PARALLEL_MIN_BYTES = 64 * 2**20
"""Runs smaller than this are blinded in-process (worker start-up would cost more)."""
MAX_REPORTED_TELLS = 100
MAX_INSTRUCTION_TEXTS = 256
MIN_ECHO_WORDS = 7
RUN_CATEGORIES = ("scaffold_text", "scaffold_wrapper", "run_model", "run_scaffold")
PLACEHOLDER_MODEL = "[MODEL]"
PLACEHOLDER_SCAFFOLD = "[SCAFFOLD]"
PLACEHOLDER_INSTRUCTIONS = "[INSTRUCTIONS]"

# --------------------------------------------------------------------------- the tells file


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NameSpec(_Spec):
    """One name in a ``names`` list (a bare string is shorthand for ``{name: ...}``)."""

    name: str = Field(min_length=1)
    match_case: bool = False
    """Match only as written (for names that are ordinary words in lowercase)."""
    require_version: bool = False
    """Match only when a version follows (``Phi-3``, not ``phi``)."""
    not_followed_by: str | None = None
    """A regular expression that must not follow the match."""


class TellCategory(_Spec):
    """A category of tells: a list of names, or a list of patterns, and its placeholder."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    placeholder: str = Field(min_length=1)
    names: list[str | NameSpec] = Field(default_factory=list)
    versioned: bool = False
    """Names only: a version or variant after the name is replaced with it."""
    patterns: list[str] = Field(default_factory=list)
    detect: list[str] = Field(default_factory=list)
    """Patterns only: what the leak scan looks for after scrubbing."""
    anchors: list[str] | None = None
    """Patterns only: lowercase words of which every match contains one (a prefilter)."""

    @model_validator(mode="after")
    def _names_or_patterns(self) -> TellCategory:
        if bool(self.names) == bool(self.patterns):
            raise ValueError("a category needs exactly one of 'names' or 'patterns'")
        if self.names and (self.detect or self.anchors is not None):
            raise ValueError("'detect' and 'anchors' belong to pattern categories only")
        for word in self.anchors or []:
            if not re.fullmatch(r"[a-z]+", word):
                raise ValueError(f"anchors: {word!r} must be lowercase ASCII letters only")
        return self


class TellsSpec(_Spec):
    """The tells file (``configs/blinding/tells.yaml``, schema ``xstress.tells/1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["xstress.tells/1"] = Field(alias="schema")
    macros: dict[str, str] = Field(default_factory=dict)
    version_words: list[str] = Field(default_factory=list)
    categories: list[TellCategory] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_categories(self) -> TellsSpec:
        names = [c.name for c in self.categories]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"categories: {name!r} appears twice")
            if name in RUN_CATEGORIES:
                raise ValueError(f"categories: {name!r} is reserved for the run's own names")
        if "name" in self.macros:
            raise ValueError("macros: 'name' is built in (any name); choose another key")
        return self


def default_tells_path() -> Path:
    """``configs/blinding/tells.yaml`` of the project (``XSTRESS_ROOT`` moves it)."""
    return project_root() / "configs" / TELLS_FILE


def load_tells(path: Path) -> TellsSpec:
    """Load and validate a tells file; raise ``ConfigError`` naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"tells file {path} not found",
            fix="restore configs/blinding/tells.yaml or pass the path of your tells file",
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})", fix="repair the YAML") from None
    try:
        return TellsSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(
            f"{path}: {where}: {first['msg']}",
            fix="see the comments at the top of configs/blinding/tells.yaml",
        ) from None


# --------------------------------------------------------------------------- matching machinery

# Between the tokens of a name: nothing, or up to two separators (invisible ones included).
_SEP = r"[ \-_./:\u00a0\u2010-\u2015\u00ad\u200b-\u200d\u2060\ufeff]{0,2}"
# Placed after a name's first character: the character before the name is not a letter,
# unless this is a camelCase boundary ("AsyncOpenAI"). Putting the check after the first
# character lets the regex engine skip quickly to candidate positions.
_LEFT = r"(?:(?<![^\W\d_].)|(?-i:(?<=[a-z][A-Z])))"
# After a name (and an optional plural s): no letter follows, or a camelCase boundary does.
_RIGHT = r"s?(?-i:(?![^\W\d_])|(?<=[a-z])(?=[A-Z])|(?=[A-Z][a-z]))"
_SEPV = r"[ \-_.\u2010-\u2015]"
_VERSION = r"[a-z]{0,2}\d+(?:[.x]\d+)*[a-z]{0,8}\d*"
_NAME_TOKENS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+")
_LETTER_TABLE = bytes(b if (0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A) else 0x20 for b in range(256))
_CAMEL_PARTS = re.compile(rb"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_NEEDS_FOLD = re.compile(f"[{_INVISIBLE}\uff01-\uff5e]")
_INVISIBLE_IN_WORD = re.compile(f"(?<=\\w)[{_INVISIBLE}]+(?=\\w)")
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_MACRO = re.compile(r"<<(\w+)>>")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_WORDS = re.compile(r"\w+")


def _fold(text: str) -> str:
    """Drop invisible characters inside words and fold full-width ASCII (cheap when absent)."""
    if text.isascii() or not _NEEDS_FOLD.search(text):
        return text
    return _INVISIBLE_IN_WORD.sub("", text).translate(_FULLWIDTH)


def _tokens(text: str) -> set[bytes]:
    """The lowercase ASCII letter runs of ``text``, camelCase runs also split into parts.

    This is the prefilter: a tell can only be present if its anchor words are in this set.
    Building it is C-speed work (encode, translate, split, set), unlike regex scanning.
    """
    runs = set(text.encode("utf-8", "surrogatepass").translate(_LETTER_TABLE).split())
    tokens = set(map(bytes.lower, runs))
    # filter() with a C method keeps this loop in C; a comprehension is several times slower.
    lower: Iterable[bytes] = filter(bytes.islower, runs)
    upper: Iterable[bytes] = filter(bytes.isupper, runs)
    title: Iterable[bytes] = filter(bytes.istitle, runs)
    mixed = runs.difference(lower, upper, title)
    for run in mixed:
        tokens.update(map(bytes.lower, _CAMEL_PARTS.findall(run)))
    return tokens


def _is_distinctive(term: str) -> bool:
    """True when ``term`` can be scrubbed everywhere without mangling ordinary prose."""
    return bool(re.search(r"\d|[^\w\s]|_|[a-z][A-Z]", term)) and _alnum_len(term) >= 2


def _alnum_len(term: str) -> int:
    return sum(ch.isalnum() for ch in term)


@dataclass(frozen=True)
class _Entry:
    """One name or instruction sentence: its regex and the words that must be present."""

    category: str
    placeholder: str
    source: str
    pattern: str
    loose: str
    """Like ``pattern`` but without ``require_version`` (finds "I am Gemma" for <<name>>)."""
    segments: tuple[tuple[bytes, ...], ...]
    """Letter tokens of the name, split where a digit intervenes."""
    plural: bool

    def anchors(self) -> set[bytes]:
        first = self.segments[0]
        keys = {b"".join(first[:j]) for j in range(1, len(first) + 1)}
        if self.plural and len(self.segments) == 1:
            keys.add(b"".join(first) + b"s")
        return keys

    def present(self, tokens: set[bytes]) -> bool:
        """Whether ``tokens`` could hold a match (each segment, its tokens possibly merged)."""
        last = len(self.segments) - 1
        for index, segment in enumerate(self.segments):
            plural = self.plural and index == last
            reachable = [True] + [False] * len(segment)
            for end in range(1, len(segment) + 1):
                for start in range(end):
                    if not reachable[start]:
                        continue
                    piece = b"".join(segment[start:end])
                    plural_end = plural and end == len(segment)
                    if piece in tokens or (plural_end and piece + b"s" in tokens):
                        reachable[end] = True
                        break
            if not reachable[-1]:
                return False
        return True


def _segments(name: str) -> tuple[tuple[bytes, ...], ...]:
    segments: list[tuple[bytes, ...]] = []
    current: list[bytes] = []
    for token in _NAME_TOKENS.findall(name):
        if token.isascii() and token.isalpha():
            current.append(token.lower().encode())
        elif current:
            segments.append(tuple(current))
            current = []
    if current:
        segments.append(tuple(current))
    return tuple(segments)


def _name_core(name: str, match_case: bool) -> str | None:
    tokens = _NAME_TOKENS.findall(name)
    if not tokens:
        return None

    def literal(text: str) -> str:
        return f"(?-i:{re.escape(text)})" if match_case else re.escape(text)

    head = tokens[0]
    first = literal(head[0]) + _LEFT + (literal(head[1:]) if len(head) > 1 else "")
    return _SEP.join([first, *map(literal, tokens[1:])])


def _name_patterns(
    spec: NameSpec, versioned: bool, version_words: str
) -> tuple[str, str, str] | None:
    """(core, strict ending, loose ending) regex sources of a name.

    The loose ending ignores ``require_version`` (for <<name>>: "I am Gemma").
    """
    core = _name_core(spec.name, spec.match_case)
    if core is None:
        return None
    tail = ""
    if versioned:
        variant = f"(?>{_SEPV}(?:{version_words})(?![^\\W\\d_]))" if version_words else ""
        tail = f"(?:(?>{_SEPV}?{_VERSION}){'|' + variant if variant else ''})*"
    required = f"(?>{_SEPV}?{_VERSION})" if spec.require_version else ""
    after = f"(?!{spec.not_followed_by})" if spec.not_followed_by else ""
    return core, required + tail + _RIGHT + after, tail + _RIGHT + after


class _EntrySet:
    """Entries looked up by anchor word, matched by one regex per set of candidates."""

    def __init__(self, entries: Iterable[_Entry]) -> None:
        # Longest first: at one position the more specific name wins ("Mistral AI").
        self.entries = sorted(entries, key=lambda entry: -len(entry.source))
        self._index: dict[bytes, list[int]] = {}
        for position, entry in enumerate(self.entries):
            for anchor in entry.anchors():
                self._index.setdefault(anchor, []).append(position)
        self._keys = frozenset(self._index)
        self._compiled: dict[tuple[bool, tuple[int, ...]], re.Pattern[str]] = {}

    def candidates(self, tokens: set[bytes]) -> tuple[int, ...]:
        hit = self._keys.intersection(tokens)
        if not hit:
            return ()
        found = sorted({position for anchor in hit for position in self._index[anchor]})
        return tuple(position for position in found if self.entries[position].present(tokens))

    def regex(self, candidates: tuple[int, ...], *, loose: bool = False) -> re.Pattern[str]:
        """One compiled alternation of the candidates (cached; candidates stay few)."""
        pattern = self._compiled.get((loose, candidates))
        if pattern is None:
            if len(self._compiled) > 1024:
                self._compiled.clear()
            source = "|".join(
                f"(?P<e{i}>{self.entries[i].loose if loose else self.entries[i].pattern})"
                for i in candidates
            )
            pattern = self._compiled[(loose, candidates)] = re.compile(source, re.IGNORECASE)
        return pattern

    def entry(self, match: re.Match[str]) -> _Entry:
        assert match.lastgroup is not None
        return self.entries[int(match.lastgroup[1:])]


@dataclass(frozen=True)
class _PatternCategory:
    name: str
    placeholder: str
    scrub: re.Pattern[str]
    detect: re.Pattern[str] | None
    anchors: frozenset[bytes] | None
    needs_names: bool


@dataclass(frozen=True)
class Tell:
    """A tell the leak scan found after scrubbing."""

    category: str
    match: str
    context: str


# --------------------------------------------------------------------------- the run's own names


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
        # Called for every record: return early on the usual case, a name already seen.
        if not term or term in self.model_terms:
            return
        self.model_terms.add(term)
        if "/" in term:
            self.model_terms.update(part for part in term.split("/") if part)

    def add_instruction(self, text: str | None) -> None:
        if not text or text in self.instructions:
            return
        if text.strip() and len(self.instructions) < MAX_INSTRUCTION_TEXTS:
            self.instructions[text] = None

    def add_template(self, template: str | None) -> None:
        if not template or "{user}" not in template:
            return
        prefix, _, suffix = template.partition("{user}")
        self.add_instruction(prefix)
        self.add_instruction(suffix)
        prefix, suffix = prefix.strip(), suffix.strip()
        # Short fragments ("Q: ") are too common to strip safely.
        prefix, suffix = (prefix if len(prefix) >= 8 else ""), (suffix if len(suffix) >= 8 else "")
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

    def add_manifest(self, data: dict[str, Any]) -> None:
        """Take names from a manifest's ``config`` and ``model_versions`` (lenient)."""
        config = data.get("config")
        config = config if isinstance(config, dict) else {}
        for model in _dicts(config.get("models")):
            self.add_model(_str(model.get("name")))
            self.add_model(_str(model.get("litellm_model")))
            self.add_model(_str(model.get("family")))
            self.aliases.update(a for a in model.get("aliases") or [] if isinstance(a, str))
        for scaffold in _dicts(config.get("scaffolds")):
            name = _str(scaffold.get("name"))
            if name:
                self.scaffold_terms.add(name)
            self.add_instruction(_str(scaffold.get("system")))
            self.add_template(_str(scaffold.get("user_template")))
            for step in _dicts(scaffold.get("passes")):
                self.add_instruction(_str(step.get("instruction")))
        versions = data.get("model_versions")
        if isinstance(versions, dict):
            for reported in versions.values():
                for version in reported if isinstance(reported, list) else []:
                    self.add_model(_str(version))


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- the scrubber


class Scrubber:
    """Replaces identity tells with placeholders and scans text for any that remain.

    Built once per run from the tells file and the run's names; every regex is compiled
    here. ``counts`` accumulates replacements per category across calls.
    """

    def __init__(self, tells: TellsSpec, terms: RunTerms, *, source: str = "tells") -> None:
        self.counts: Counter[str] = Counter()
        self._source = source
        words = "|".join(re.escape(w) for w in sorted(tells.version_words, key=len, reverse=True))
        entries: list[_Entry] = []
        # <<name>> groups names by their (long, shared) ending: (?:core|core...)ending.
        loose: dict[str, list[tuple[int, str]]] = {}
        seen: set[str] = set()
        self.everywhere: dict[str, list[str]] = {"model": [], "scaffold": []}
        self.label_only: dict[str, list[str]] = {"model": [], "scaffold": []}

        def add(category: str, placeholder: str, spec: NameSpec, versioned: bool) -> None:
            # Case-sensitive entries ("Meta", "META") are distinct names; others are not.
            key = spec.name if spec.match_case else spec.name.casefold()
            segments = _segments(spec.name)
            patterns = _name_patterns(spec, versioned, words)
            if key in seen or not segments or patterns is None:
                return
            seen.add(key)
            core, strict_end, loose_end = patterns
            last_token = _NAME_TOKENS.findall(spec.name)[-1]
            plural = last_token.isascii() and last_token.isalpha()
            entries.append(
                _Entry(
                    category,
                    placeholder,
                    spec.name,
                    core + strict_end,
                    core + loose_end,
                    segments,
                    plural,
                )
            )
            loose.setdefault(loose_end, []).append((len(spec.name), core))

        for term in sorted(terms.aliases):
            if _alnum_len(term) >= 2:
                add("run_model", PLACEHOLDER_MODEL, NameSpec(name=term), True)
                self.everywhere["model"].append(term)
        labels: dict[str, tuple[str, str]] = {}
        for kind, run_terms, run_category, placeholder in (
            ("model", terms.model_terms, "run_model", PLACEHOLDER_MODEL),
            ("scaffold", terms.scaffold_terms, "run_scaffold", PLACEHOLDER_SCAFFOLD),
        ):
            for term in sorted(run_terms):
                if _is_distinctive(term):
                    add(run_category, placeholder, NameSpec(name=term), kind == "model")
                    self.everywhere[kind].append(term)
                elif term.isalpha() and len(term) >= 2:
                    labels.setdefault(term.casefold(), (run_category, placeholder))
                    self.label_only[kind].append(term)
        pattern_specs: list[tuple[int, TellCategory]] = []
        for position, category in enumerate(tells.categories):
            if category.patterns:
                pattern_specs.append((position, category))
                continue
            for item in category.names:
                spec = item if isinstance(item, NameSpec) else NameSpec(name=item)
                if spec.not_followed_by is not None:
                    where = f"categories[{position}].names ({spec.name})"
                    self._compile(spec.not_followed_by, where)
                add(category.name, category.placeholder, spec, category.versioned)
        self._names = _EntrySet(entries)
        groups = [
            "(?:" + "|".join(core for _, core in sorted(cores, key=lambda c: -c[0])) + ")" + end
            for end, cores in loose.items()
        ]
        any_name = "(?:" + "|".join(groups) + ")" if groups else "(?!)"
        macros = {**tells.macros, "name": any_name}
        self._patterns = [
            self._pattern_category(position, category, macros)
            for position, category in pattern_specs
        ]
        self._sentences = _EntrySet(_sentence_entries(terms.instructions))
        self._labels = _label_regex(labels)
        self._label_anchors = frozenset(name.encode() for name in labels)
        self._label_kinds = labels
        self._wrappers = sorted(terms.wrappers)
        self.has_wrappers = bool(self._wrappers)
        self.placeholders = sorted(
            {c.placeholder for c in tells.categories}
            | {PLACEHOLDER_MODEL, PLACEHOLDER_SCAFFOLD, PLACEHOLDER_INSTRUCTIONS}
        )

    # ---- construction helpers

    def _compile(self, source: str, where: str) -> re.Pattern[str]:
        try:
            return re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(
                f"{self._source}: {where}: not a valid regular expression ({exc})",
                fix="fix the pattern (Python re syntax)",
            ) from None

    def _pattern_category(
        self, position: int, category: TellCategory, macros: dict[str, str]
    ) -> _PatternCategory:
        where = f"categories[{position}] ({category.name})"

        def expand(pattern: str) -> str:
            def one(match: re.Match[str]) -> str:
                key = match.group(1)
                if key not in macros:
                    raise ConfigError(
                        f"{self._source}: {where}: unknown macro <<{key}>>",
                        fix=f"define it under 'macros' or use one of {sorted(macros)}",
                    )
                return f"(?:{macros[key]})"

            return _MACRO.sub(one, pattern)

        def combined(patterns: list[str]) -> str:
            return "|".join(f"(?:{expand(p)})" for p in patterns)

        needs_names = any("<<name>>" in p for p in category.patterns)
        return _PatternCategory(
            name=category.name,
            placeholder=category.placeholder,
            scrub=self._compile(combined(category.patterns), where + ".patterns"),
            detect=self._compile(combined(category.detect), where + ".detect")
            if category.detect
            else None,
            anchors=frozenset(a.encode() for a in category.anchors)
            if category.anchors is not None
            else None,
            needs_names=needs_names,
        )

    # ---- scrubbing

    def _runs(self, category: _PatternCategory, tokens: set[bytes], names: bool) -> bool:
        if category.anchors is not None:
            return not category.anchors.isdisjoint(tokens)
        return names if category.needs_names else True

    def _unwrap(self, text: str) -> tuple[str, int]:
        """Undo a scaffold's user template, should a wrapped turn have reached the record."""
        count = 0
        for prefix, suffix in self._wrappers:
            stripped, before = text.strip(), count
            if prefix and stripped.startswith(prefix):
                stripped, count = stripped[len(prefix) :].strip(), count + 1
            if suffix and stripped.endswith(suffix):
                stripped, count = stripped[: -len(suffix)].strip(), count + 1
            if count > before:
                text = stripped
        return text, count

    def scrub(self, text: str, tokens: set[bytes] | None = None) -> tuple[str, int]:
        """Replace every tell in ``text``; return the new text and how many were replaced."""
        if tokens is None:
            text = _fold(text)
            tokens = _tokens(text)
        total = 0
        candidates = self._sentences.candidates(tokens)
        if candidates:
            text, n = self._sentences.regex(candidates).subn(self._sentence_repl, text)
            total += n
        names = self._names.candidates(tokens)
        spans: list[tuple[int, int]] | None = None
        for category in self._patterns:
            if not self._runs(category, tokens, bool(names)):
                continue
            if category.anchors is None and category.needs_names:
                # Every match contains a name, so search only around names: these patterns
                # are the slowest to scan and names are rare.
                if spans is None:
                    loose = self._names.regex(names, loose=True)
                    spans = [match.span() for match in loose.finditer(text)]
                text, n = _sub_windows(category, text, spans)
            else:
                text, n = category.scrub.subn(_constant(category.placeholder), text)
            self.counts[category.name] += n
            total += n
            spans = None if n else spans
        if names:
            text, n = self._names.regex(names).subn(self._name_repl, text)
            total += n
        if self._labels is not None and not self._label_anchors.isdisjoint(tokens):
            text, n = self._labels.subn(self._label_repl, text)
            total += n
        return text, total

    def _sentence_repl(self, match: re.Match[str]) -> str:
        self.counts["scaffold_text"] += 1
        return PLACEHOLDER_INSTRUCTIONS

    def _name_repl(self, match: re.Match[str]) -> str:
        entry = self._names.entry(match)
        self.counts[entry.category] += 1
        return entry.placeholder

    def _label_group(self, match: re.Match[str]) -> tuple[str, str, str]:
        """(group, category, placeholder) of a label match: which name it found."""
        for group in ("n1", "n2", "n3", "n4", "n5"):
            name = match.group(group)
            if name is not None:
                return (group, *self._label_kinds[name.casefold()])
        raise AssertionError("a label match always has a name group")

    def _label_repl(self, match: re.Match[str]) -> str:
        group, category, placeholder = self._label_group(match)
        self.counts[category] += 1
        if group == "n4":
            return placeholder  # "[verify]" or "<steer>": the whole tag is the label
        start, end = match.span(group)
        whole, offset = match.group(0), match.start()
        return whole[: start - offset] + placeholder + whole[end - offset :]

    def quiet(self, text: str) -> bool:
        """True when no tell can be in ``text``: scrubbing and scanning would change nothing.

        One cheap check for a whole item (its messages joined by newlines) lets the common
        case, an item with no tell at all, skip the per-message work.
        """
        if _fold(text) != text:
            return False
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            return False
        if "[" in text and any(p in text for p in self.placeholders):
            return False
        tokens = _tokens(text)
        if self._sentences.candidates(tokens) or self._names.candidates(tokens):
            return False
        if self._labels is not None and not self._label_anchors.isdisjoint(tokens):
            return False
        return not any(self._runs(category, tokens, False) for category in self._patterns)

    def clean(self, text: str, *, role: str = "assistant") -> tuple[str, int, list[Tell]]:
        """Scrub ``text`` and scan the result: (clean text, replacements, remaining tells)."""
        original = text
        unwrapped = 0
        if role == "user" and self._wrappers:
            text, unwrapped = self._unwrap(text)
            self.counts["scaffold_wrapper"] += unwrapped
        text = _fold(text)
        tokens = _tokens(text)
        text, replaced = self.scrub(text, tokens)
        unchanged = text == original and (
            original.isascii() or unicodedata.is_normalized("NFKC", original)
        )
        if unchanged and not ("[" in text and any(p in text for p in self.placeholders)):
            # Scanning would rerun the very regexes that just found nothing; only the
            # detect-only patterns can still hit.
            return text, replaced + unwrapped, self._detect(text, tokens)
        return text, replaced + unwrapped, self.scan(text)

    # ---- scanning

    def _detect(self, text: str, tokens: set[bytes]) -> list[Tell]:
        found: list[Tell] = []
        for category in self._patterns:
            if category.detect is not None and self._runs(category, tokens, True):
                found.extend(_tell(category.name, m, text) for m in category.detect.finditer(text))
        return found

    def scan(self, text: str) -> list[Tell]:
        """Every tell still present in ``text`` (placeholders ignored, Unicode normalised)."""
        if "[" in text:
            for placeholder in self.placeholders:
                # A newline, not a space: it must not join the words on either side.
                text = text.replace(placeholder, "\n")
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = _fold(text)
        tokens = _tokens(text)
        found = self._detect(text, tokens)
        candidates = self._sentences.candidates(tokens)
        if candidates:
            regex = self._sentences.regex(candidates)
            found.extend(_tell("scaffold_text", m, text) for m in regex.finditer(text))
        names = self._names.candidates(tokens)
        if names:
            for match in self._names.regex(names).finditer(text):
                found.append(_tell(self._names.entry(match).category, match, text))
        if self._labels is not None and not self._label_anchors.isdisjoint(tokens):
            for match in self._labels.finditer(text):
                found.append(_tell(self._label_group(match)[1], match, text))
        return found


NAME_WINDOW = 200
"""Characters searched on each side of a name for name-bearing patterns (self-identification)."""


def _sub_windows(
    category: _PatternCategory, text: str, spans: list[tuple[int, int]]
) -> tuple[str, int]:
    """``category.scrub.subn`` applied only to windows around ``spans`` (name matches)."""
    windows: list[list[int]] = []
    for start, end in spans:
        low, high = max(0, start - NAME_WINDOW), min(len(text), end + NAME_WINDOW)
        # Widen to whitespace so a window never starts or ends inside a word (\b stays true).
        while low > 0 and not text[low - 1].isspace():
            low -= 1
        while high < len(text) and not text[high].isspace():
            high += 1
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    total = 0
    for low, high in reversed(windows):
        piece, n = category.scrub.subn(_constant(category.placeholder), text[low:high])
        if n:
            text, total = text[:low] + piece + text[high:], total + n
    return text, total


def _constant(value: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement function returning ``value`` (no backslash processing)."""
    return lambda _match: value


def _tell(category: str, match: re.Match[str], text: str) -> Tell:
    start, end = match.span()
    context = text[max(0, start - 40) : end + 40].replace("\n", " ")
    return Tell(category, match.group(0), context)


def _sentence_entries(texts: Iterable[str]) -> list[_Entry]:
    entries: dict[str, _Entry] = {}
    for text in texts:
        for sentence in _SENTENCE_SPLIT.split(text):
            words = _WORDS.findall(sentence)
            if len(words) < MIN_ECHO_WORDS:
                continue
            letters = [w.lower() for w in words if w.isascii() and w.isalpha()]
            if not letters:
                continue
            anchor = max(letters, key=len).encode()
            pattern = r"\b" + r"[\W_]{1,8}".join(re.escape(w) for w in words) + r"\b"
            key = " ".join(words).casefold()
            entries.setdefault(
                key,
                _Entry(
                    "scaffold_text",
                    PLACEHOLDER_INSTRUCTIONS,
                    key,
                    pattern,
                    pattern,
                    ((anchor,),),
                    False,
                ),
            )
    return list(entries.values())


_LABEL_KEYS = (
    r"(?:scaffold(?:ing)?|persona|preset|mode|variant|condition|system prompt|profile|model"
    r"|assistant|agent)"
)
_LABEL_AFTER = r"(?:scaffold(?:ing)?|persona|preset|mode|system prompt)"


def _label_regex(labels: dict[str, tuple[str, str]]) -> re.Pattern[str] | None:
    """One regex for ordinary-word run names used as labels (group nK is the name)."""
    if not labels:
        return None
    names = "(?:" + "|".join(re.escape(n) for n in sorted(labels, key=len, reverse=True)) + ")"
    alternatives = [
        rf"\b{_LABEL_KEYS}(?: name)? ?[:=] ?[\"'`\[(<*]*(?P<n1>{names})\b",
        rf"\b(?:scaffold|persona) [\"'`]?(?P<n2>{names})\b",
        rf"\b(?P<n3>{names})[\"'`]? ?[-_ ]?{_LABEL_AFTER}\b",
        rf"[\[<{{] ?/? ?(?P<n4>{names}) ?/? ?[\]>}}]",
        rf"^[ \t]*(?:#{{1,6}}[ \t]*|[*_]{{1,2}})?(?P<n5>{names})(?:[*_]{{1,2}})?[ \t]*:?[ \t]*$",
    ]
    return re.compile("|".join(alternatives), re.IGNORECASE | re.MULTILINE)


# --------------------------------------------------------------------------- streaming


@dataclass(frozen=True)
class BlindSummary:
    """What ``blind_run`` did (the CLI prints it)."""

    n_items: int
    n_excluded: int
    leak_report_path: Path
    remaining_tells: int
    identifiability: dict[str, float | int | str] | None
    scaffold_identifiability: dict[str, float | int | str] | None = None


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def task(self, description: str, total: float | None) -> Callable[[float], None]:
        if self._bar is None:
            return lambda _n: None
        task_id = self._bar.add_task(description, total=total)
        bar = self._bar
        return lambda n: bar.advance(task_id, n)


@dataclass
class _Partition:
    buckets: list[Path]
    n_bytes: int = 0
    n_records: int = 0
    warnings: list[str] = field(default_factory=list)


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, line, is_last) for each line of ``path``."""
    with path.open("rb") as handle:
        previous: bytes | None = None
        number = 0
        for line in handle:
            if previous is not None:
                yield number, previous, False
            previous = line
            number += 1
        if previous is not None:
            yield number, previous, True


def _partition(
    sources: list[Path], work: Path, terms: RunTerms, key: bytes, progress: _Progress
) -> _Partition:
    """Stream records into bucket files by keyed hash of cell_id; gather the run's names."""
    total = sum(path.stat().st_size for path in sources)
    count = max(1, min(MAX_BUCKETS, -(-total // BUCKET_TARGET_BYTES)))
    result = _Partition([work / f"bucket-{i:04d}.jsonl" for i in range(count)], total)
    handles = [path.open("w", encoding="utf-8") for path in result.buckets]
    advance = progress.task("reading transcripts", total)
    pending = 0
    try:
        for source in sources:
            for number, line, last in _lines(source):
                pending += len(line)
                if pending > 4 * 2**20:
                    advance(pending)
                    pending = 0
                if not line.strip():
                    continue
                try:
                    record = TranscriptRecord.model_validate_json(line)
                except ValidationError as exc:
                    # Torn = a crash mid-append: the last line, without its newline.
                    if last and not line.endswith(b"\n"):
                        message = f"{source.name}:{number}: skipped a torn last line"
                        log.warning(message)
                        result.warnings.append(message)
                        continue
                    raise InputError(
                        f"{source}:{number}: not a valid transcript record "
                        f"({exc.errors()[0]['msg']})",
                        fix="repair or delete that line (only a crash's last line may be torn)",
                    ) from None
                terms.add_record(record)
                row = {
                    "s": result.n_records,
                    "c": record.cell_id,
                    "st": record.status,
                    "e": record.error,
                    "m": record.model,
                    "sc": record.scaffold,
                    "p": record.prompt_id,
                    "r": record.replicate,
                    "d": record.domain,
                    "msg": [[m.role, m.content] for m in record.messages]
                    if record.status == "ok"
                    else [],
                }
                digest = hashlib.blake2b(record.cell_id.encode(), key=key, digest_size=8).digest()
                handles[int.from_bytes(digest, "big") % count].write(
                    json.dumps(row, ensure_ascii=False) + "\n"
                )
                result.n_records += 1
        advance(pending)
    finally:
        for handle in handles:
            handle.close()
    return result


@dataclass
class _BucketResult:
    """What blinding one bucket produced (returned from a worker process)."""

    items_path: Path
    key_path: Path
    counts: Counter[str] = field(default_factory=Counter)
    n_cells: int = 0
    n_items: int = 0
    n_duplicates: int = 0
    n_tells: int = 0
    user_replacements: int = 0
    dropped_system: int = 0
    excluded: list[dict[str, str | None]] = field(default_factory=list)
    tells: list[dict[str, str]] = field(default_factory=list)
    sample: list[tuple[str, str, str]] = field(default_factory=list)
    """(reply text, model, scaffold) of a Bernoulli sample of the items, for the audit."""


def _open_private(path: Path) -> Any:
    """Open a new file for writing with mode 0600 from the start (never world-readable)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8")


_WORKER_SCRUBBER: Scrubber | None = None


def _start_worker(tells: TellsSpec, terms: RunTerms, source: str) -> None:
    """Process-pool initializer: build this worker's scrubber once."""
    global _WORKER_SCRUBBER
    _WORKER_SCRUBBER = Scrubber(tells, terms, source=source)


def _blind_bucket(
    bucket: Path, seed: str | None, sample_rate: float, scrubber: Scrubber | None = None
) -> _BucketResult:
    """Dedupe, shuffle, scrub and scan one bucket into its own items and key part files."""
    scrubber = scrubber or _WORKER_SCRUBBER
    assert scrubber is not None, "worker started without a scrubber"
    scrubber.counts = Counter()
    result = _BucketResult(bucket.with_suffix(".items"), bucket.with_suffix(".key"))
    # A per-bucket seed keeps the outcome independent of how buckets meet workers.
    rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
    latest: dict[str, dict[str, Any]] = {}
    with bucket.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            previous = latest.get(row["c"])
            if previous is not None:
                result.n_duplicates += 1
            if previous is None or row["s"] > previous["s"]:
                latest[row["c"]] = row
    rows = sorted(latest.values(), key=lambda row: int(row["s"]))
    del latest
    rng.shuffle(rows)
    result.items_path.unlink(missing_ok=True)
    result.key_path.unlink(missing_ok=True)
    with (
        result.items_path.open("w", encoding="utf-8") as items,
        _open_private(result.key_path) as key,
    ):
        for row in rows:
            result.n_cells += 1
            if row["st"] != "ok":
                excluded = {"cell_id": row["c"], "status": row["st"], "error": row["e"]}
                result.excluded.append(excluded)
                continue
            replies = _write_item(row, scrubber, result, items, key)
            if rng.random() < sample_rate:
                result.sample.append(("\n\n".join(replies), row["m"], row["sc"]))
    result.counts = scrubber.counts
    return result


def _write_item(
    row: dict[str, Any], scrubber: Scrubber, result: _BucketResult, items: Any, key: Any
) -> list[str]:
    """Write one item and its key line; return the scrubbed replies (for the audit)."""
    blind_id = secrets.token_hex(10)
    messages: list[Message] = []
    replies: list[str] = []
    found: list[tuple[str, Tell]] = []
    quiet = not scrubber.has_wrappers and scrubber.quiet(
        "\n".join(content for role, content in row["msg"] if role != "system")
    )
    for index, (role, content) in enumerate(row["msg"]):
        if role == "system":
            result.dropped_system += 1
            continue
        tells: list[Tell] = []
        if quiet:
            text, replaced = content, 0
        else:
            text, replaced, tells = scrubber.clean(content, role=role)
        if role == "user":
            result.user_replacements += replaced
        else:
            replies.append(text)
        messages.append(Message(role=role, content=text))
        found.extend((f"messages[{len(messages) - 1}] ({role}, turn {index})", t) for t in tells)
    for name, value in (("scenario_id", row["p"]), ("domain", row["d"])):
        found.extend((name, t) for t in scrubber.scan(value))
    item = BlindedItem(blind_id=blind_id, scenario_id=row["p"], domain=row["d"], messages=messages)
    items.write(item.model_dump_json(by_alias=True) + "\n")
    entry = KeyEntry(
        blind_id=blind_id,
        cell_id=row["c"],
        model=row["m"],
        scaffold=row["sc"],
        prompt_id=row["p"],
        replicate=row["r"],
    )
    key.write(entry.model_dump_json() + "\n")
    result.n_items += 1
    result.n_tells += len(found)
    for where, tell in found[: max(0, MAX_REPORTED_TELLS - len(result.tells))]:
        result.tells.append(
            {
                "cell_id": row["c"],
                "blind_id": blind_id,
                "field": where,
                "category": tell.category,
                "match": tell.match,
                "context": tell.context,
            }
        )
    return replies


@dataclass
class _Outcome:
    """All buckets' results merged, plus the audit sample."""

    counts: Counter[str] = field(default_factory=Counter)
    n_cells: int = 0
    n_items: int = 0
    n_duplicates: int = 0
    n_tells: int = 0
    user_replacements: int = 0
    dropped_system: int = 0
    excluded: list[dict[str, str | None]] = field(default_factory=list)
    tells: list[dict[str, str]] = field(default_factory=list)

    def merge(self, part: _BucketResult, items: Any, key: Any, reservoir: AuditReservoir) -> None:
        for path, target in ((part.items_path, items), (part.key_path, key)):
            with path.open(encoding="utf-8") as handle:
                shutil.copyfileobj(handle, target)
            path.unlink()
        self.counts.update(part.counts)
        self.n_cells += part.n_cells
        self.n_items += part.n_items
        self.n_duplicates += part.n_duplicates
        self.n_tells += part.n_tells
        self.user_replacements += part.user_replacements
        self.dropped_system += part.dropped_system
        self.excluded.extend(part.excluded)
        self.tells.extend(part.tells[: max(0, MAX_REPORTED_TELLS - len(self.tells))])
        for text, model, scaffold in part.sample:
            reservoir.add(text, {"model": model, "scaffold": scaffold})


def _finalize(
    partition: _Partition,
    work: Path,
    scrubber: Scrubber,
    rebuild: tuple[TellsSpec, RunTerms, str],
    seed: int | None,
    workers: int,
    audit_seed: int,
    progress: _Progress,
    warnings: list[str],
) -> tuple[_Outcome, AuditReservoir]:
    """Blind every bucket into ``work/items.jsonl`` and ``work/key.jsonl``.

    With several workers the buckets are blinded in worker processes; should the pool fail
    (a platform without working process pools, a caller script that cannot be re-imported),
    the buckets, still on disk, are blinded again in this process.
    """
    # Oversample a little, then the reservoir trims to its capacity: a uniform sample.
    rate = min(1.0, 1.5 * AUDIT_SAMPLE_SIZE / max(1, partition.n_records))
    seeds = [None if seed is None else f"{seed}:{i}" for i in range(len(partition.buckets))]
    if workers > 1 and len(partition.buckets) > 1:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return _blind_buckets(
                partition, work, seeds, rate, audit_seed, progress, scrubber, (workers, rebuild)
            )
        except (BrokenProcessPool, OSError) as exc:
            message = f"worker processes failed ({exc!r}); blinded in one process instead"
            log.warning(message)
            warnings.append(message)
    return _blind_buckets(partition, work, seeds, rate, audit_seed, progress, scrubber, None)


def _blind_buckets(
    partition: _Partition,
    work: Path,
    seeds: list[str | None],
    rate: float,
    audit_seed: int,
    progress: _Progress,
    scrubber: Scrubber,
    pool: tuple[int, tuple[TellsSpec, RunTerms, str]] | None,
) -> tuple[_Outcome, AuditReservoir]:
    outcome = _Outcome()
    reservoir = AuditReservoir(AUDIT_SAMPLE_SIZE, seed=audit_seed)
    advance = progress.task("blinding", len(partition.buckets))
    for stale in (
        work / "items.jsonl",
        work / "key.jsonl",
        *work.glob("*.items"),
        *work.glob("*.key"),
    ):
        stale.unlink(missing_ok=True)
    with (
        (work / "items.jsonl").open("w", encoding="utf-8") as items,
        _open_private(work / "key.jsonl") as key,
    ):
        if pool is None:
            for bucket, bucket_seed in zip(partition.buckets, seeds, strict=True):
                part = _blind_bucket(bucket, bucket_seed, rate, scrubber)
                outcome.merge(part, items, key, reservoir)
                advance(1)
            return outcome, reservoir
        import multiprocessing
        import sys
        import threading
        from concurrent.futures import ProcessPoolExecutor

        workers, rebuild = pool
        # fork needs no re-import of the caller's script, but is unsafe with other threads
        # alive (a finished sweep's writers, litellm's) and on macOS; spawn is safe there.
        single = threading.active_count() == 1 and sys.platform.startswith("linux")
        context = multiprocessing.get_context("fork" if single else "spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(partition.buckets)),
            mp_context=context,
            initializer=_start_worker,
            initargs=rebuild,
        ) as executor:
            futures = [
                executor.submit(_blind_bucket, bucket, bucket_seed, rate)
                for bucket, bucket_seed in zip(partition.buckets, seeds, strict=True)
            ]
            # Merged in bucket order, so the output does not depend on scheduling.
            for future in futures:
                outcome.merge(future.result(), items, key, reservoir)
                advance(1)
    return outcome, reservoir


# --------------------------------------------------------------------------- the stage


def _known_limits(scrubber: Scrubber) -> list[str]:
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
    ]
    if plain:
        limits.append(
            "Ordinary-word run names are scrubbed only where used as labels (after "
            "'scaffold:', before 'mode', in [brackets], alone on a line), not in prose: "
            + ", ".join(plain)
            + "."
        )
    return limits


def _write_json(path: Path, data: object) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _audit(
    reservoir: AuditReservoir, seed: int, skipped: dict[str, str]
) -> dict[str, dict[str, float | int | str] | None]:
    """Model and scaffold identifiability on the sample (a dict per target, or None)."""
    outcomes = audit_identifiability(
        reservoir.texts,
        {target: reservoir.labels(target) for target in ("model", "scaffold")},
        seed=seed,
    )
    results: dict[str, dict[str, float | int | str] | None] = {}
    for target, outcome in outcomes.items():
        if isinstance(outcome, AuditSkipped):
            skipped[target] = outcome.reason
            results[target] = None
        else:
            results[target] = outcome.as_dict()
    return results


def blind_run(
    run_dir: Path,
    *,
    seed: int | None = None,
    force: bool = False,
    allow_leaks: bool = False,
    tells_path: Path | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> BlindSummary:
    """Blind a run directory: write ``blind/items.jsonl``, ``key.jsonl``, ``leak_report.json``.

    Args:
        run_dir: The run directory holding ``transcripts*.jsonl`` (and ``manifest*.json``).
        seed: Makes the item order (and the audit sample) reproducible. Blind ids stay
            cryptographically random either way.
        force: Replace an existing blinding (its key will no longer match earlier scores).
        allow_leaks: Write the items even when the leak scan finds tells (they are listed
            in the report).
        tells_path: A tells file other than the project's ``configs/blinding/tells.yaml``.
        progress: Show a progress bar on stderr.
        workers: Processes that blind buckets in parallel; default: the CPU count (at most
            4) for runs over 64 MiB, else 1. The output does not depend on it.

    Returns:
        A summary: item and exclusion counts, the report path, remaining tells and the
        model identifiability result.

    Raises:
        InputError: No transcripts; already blinded and not ``force``; tells remain and not
            ``allow_leaks`` (the leak report is still written, the items and key are not).
        ConfigError: The tells file is invalid.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} not found", fix="pass a run directory")
    sources = sorted(run_dir.glob("transcripts*.jsonl"))
    if not sources:
        raise InputError(
            f"no transcripts in {run_dir} (no transcripts*.jsonl)",
            fix="run the sweep first or pass the run directory that holds transcripts.jsonl",
        )
    blind_dir = run_dir / "blind"
    items_path, key_path = blind_dir / "items.jsonl", blind_dir / "key.jsonl"
    report_path = blind_dir / "leak_report.json"
    already = items_path.exists() or key_path.exists()
    if already and not force:
        raise InputError(
            f"{blind_dir} already holds a blinding",
            fix="re-blinding would change the key under existing scores; pass --force",
        )
    tells_file = tells_path or default_tells_path()
    tells = load_tells(tells_file)

    terms = RunTerms()
    warnings: list[str] = []
    for manifest in sorted(run_dir.glob("manifest*.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.append(f"{manifest.name}: unreadable ({exc}); used names from records only")
            continue
        if isinstance(data, dict):
            terms.add_manifest(data)

    if seed is None:
        bucket_key = secrets.token_bytes(32)
    else:
        bucket_key = hashlib.sha256(f"xstress-blind:{seed}".encode()).digest()
    audit_seed = seed if seed is not None else 0

    blind_dir.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=blind_dir))
    try:
        with _Progress(progress) as bar:
            partition = _partition(sources, work, terms, bucket_key, bar)
            warnings.extend(partition.warnings)
            if partition.n_records == 0:
                raise InputError(
                    f"no transcripts in {run_dir} (the transcripts files are empty)",
                    fix="run the sweep first",
                )
            scrubber = Scrubber(tells, terms, source=str(tells_file))
            if workers is None:
                big = partition.n_bytes >= PARALLEL_MIN_BYTES
                workers = min(MAX_WORKERS, os.cpu_count() or 1) if big else 1
            outcome, reservoir = _finalize(
                partition,
                work,
                scrubber,
                (tells, terms, str(tells_file)),
                seed,
                workers,
                audit_seed,
                bar,
                warnings,
            )
            if outcome.dropped_system:
                warnings.append(f"dropped {outcome.dropped_system} system message(s) from items")
            bar.task("identifiability audit", None)
            skipped: dict[str, str] = {}
            audit = _audit(reservoir, audit_seed, skipped)
            identifiability, scaffold_identifiability = audit["model"], audit["scaffold"]

        report = {
            "schema": LEAK_REPORT_SCHEMA,
            "passed": outcome.n_tells == 0,
            "n_transcripts": outcome.n_cells,
            "n_records": partition.n_records,
            "n_duplicates_replaced": outcome.n_duplicates,
            "n_items": outcome.n_items,
            "excluded": sorted(outcome.excluded, key=lambda e: str(e["cell_id"])),
            "replacements": {
                name: outcome.counts.get(name, 0)
                for name in sorted({c.name for c in tells.categories} | set(RUN_CATEGORIES))
            },
            "user_turn_replacements": outcome.user_replacements,
            "remaining_tells": outcome.tells,
            "n_remaining_tells": outcome.n_tells,
            "known_limits": _known_limits(scrubber),
            "identifiability": identifiability,
            "scaffold_identifiability": scaffold_identifiability,
            "identifiability_skipped": skipped,
            "tells_file": str(tells_file),
            "run_names": {
                "scrubbed_everywhere": scrubber.everywhere,
                "scrubbed_as_labels": scrubber.label_only,
            },
            "warnings": warnings,
        }
        if outcome.n_tells and not allow_leaks:
            failed_path = blind_dir / "leak_report.rejected.json" if already else report_path
            _write_json(failed_path, report)
            first = outcome.tells[0]
            raise InputError(
                f"{outcome.n_tells} identity tell(s) remain after scrubbing (first: "
                f"{first['match']!r} [{first['category']}] in {first['field']} of cell "
                f"{first['cell_id']}); no items written, see {failed_path}",
                fix=f"add a pattern or name to {tells_file} and re-run, or pass --allow-leaks",
            )
        os.replace(work / "key.jsonl", key_path)
        os.chmod(key_path, 0o600)
        os.replace(work / "items.jsonl", items_path)
        _write_json(report_path, report)
        stale = blind_dir / "leak_report.rejected.json"
        if stale.exists():
            stale.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BlindSummary(
        n_items=outcome.n_items,
        n_excluded=len(outcome.excluded),
        leak_report_path=report_path,
        remaining_tells=outcome.n_tells,
        identifiability=identifiability,
        scaffold_identifiability=scaffold_identifiability,
    )

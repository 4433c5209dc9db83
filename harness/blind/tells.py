"""The tells: what counts as one (the tells file, the run's own names) and its regex parts.

This module owns the tells file (``configs/blinding/tells.yaml``, schema ``xstress.tells/1``:
its pydantic models, default path and loading), ``RunTerms`` (the names and instruction text
of one run), the placeholders and the category names reserved for a run's own names, and the
building blocks a scrubber is compiled from: the regex of a name (separators, versions,
camelCase boundaries), of an instruction sentence and of an ordinary word used as a label,
and the cheap word-set prefilter that decides which texts need any regex at all. It neither
scrubs nor scans a text (``scrubber.py`` does, with these parts), and it reads no run files.

The tells file holds vendor, product and model names, self-identification and
knowledge-cutoff patterns; its header explains the matching rules. A run's own names are read
from its manifests and records: model names, aliases, litellm model strings and their path
parts, reported model versions, scaffold names, and the scaffolds' instruction text (system
prompts, pass instructions, user-template wrappers). The prefilter exists because Python's
case-insensitive regex scanning is the slow part of blinding, while splitting a text into a
set of lowercase letter runs is C-speed work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError
from harness.paths import project_root
from harness.rundir import TranscriptRecord

__all__ = [
    "MACRO",
    "MAX_INSTRUCTION_TEXTS",
    "MIN_ECHO_WORDS",
    "NAME_TOKENS",
    "PLACEHOLDER_INSTRUCTIONS",
    "PLACEHOLDER_MODEL",
    "PLACEHOLDER_SCAFFOLD",
    "RUN_CATEGORIES",
    "TELLS_FILE",
    "NameSpec",
    "RunTerms",
    "TellCategory",
    "TellEntry",
    "TellEntrySet",
    "TellsSpec",
    "alnum_len",
    "default_tells_path",
    "fold",
    "is_distinctive",
    "label_regex",
    "load_tells",
    "name_patterns",
    "name_segments",
    "sentence_entries",
    "word_tokens",
]

TELLS_FILE = Path("blinding") / "tells.yaml"
"""The default tells file, relative to the project's ``configs/`` folder."""
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
NAME_TOKENS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+")
_LETTER_TABLE = bytes(b if (0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A) else 0x20 for b in range(256))
_CAMEL_PARTS = re.compile(rb"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_NEEDS_FOLD = re.compile(f"[{_INVISIBLE}\uff01-\uff5e]")
_INVISIBLE_IN_WORD = re.compile(f"(?<=\\w)[{_INVISIBLE}]+(?=\\w)")
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
MACRO = re.compile(r"<<(\w+)>>")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_WORDS = re.compile(r"\w+")


def fold(text: str) -> str:
    """Drop invisible characters inside words and fold full-width ASCII (cheap when absent)."""
    if text.isascii() or not _NEEDS_FOLD.search(text):
        return text
    return _INVISIBLE_IN_WORD.sub("", text).translate(_FULLWIDTH)


def word_tokens(text: str) -> set[bytes]:
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


def is_distinctive(term: str) -> bool:
    """True when ``term`` can be scrubbed everywhere without mangling ordinary prose."""
    return bool(re.search(r"\d|[^\w\s]|_|[a-z][A-Z]", term)) and alnum_len(term) >= 2


def alnum_len(term: str) -> int:
    """How many letters and digits ``term`` has."""
    return sum(ch.isalnum() for ch in term)


@dataclass(frozen=True)
class TellEntry:
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
        """Index words: the name's first token, alone or merged with the tokens after it."""
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


def name_segments(name: str) -> tuple[tuple[bytes, ...], ...]:
    """The ASCII letter tokens of ``name``, lowercased, split where another token intervenes."""
    segments: list[tuple[bytes, ...]] = []
    current: list[bytes] = []
    for token in NAME_TOKENS.findall(name):
        if token.isascii() and token.isalpha():
            current.append(token.lower().encode())
        elif current:
            segments.append(tuple(current))
            current = []
    if current:
        segments.append(tuple(current))
    return tuple(segments)


def _name_core(name: str, match_case: bool) -> str | None:
    tokens = NAME_TOKENS.findall(name)
    if not tokens:
        return None

    def literal(text: str) -> str:
        return f"(?-i:{re.escape(text)})" if match_case else re.escape(text)

    head = tokens[0]
    first = literal(head[0]) + _LEFT + (literal(head[1:]) if len(head) > 1 else "")
    return _SEP.join([first, *map(literal, tokens[1:])])


def name_patterns(
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


class TellEntrySet:
    """Entries looked up by anchor word, matched by one regex per set of candidates."""

    def __init__(self, entries: Iterable[TellEntry]) -> None:
        # Longest first: at one position the more specific name wins ("Mistral AI").
        self.entries = sorted(entries, key=lambda entry: -len(entry.source))
        self._index: dict[bytes, list[int]] = {}
        for position, entry in enumerate(self.entries):
            for anchor in entry.anchors():
                self._index.setdefault(anchor, []).append(position)
        self._keys = frozenset(self._index)
        self._compiled: dict[tuple[bool, tuple[int, ...]], re.Pattern[str]] = {}

    def candidates(self, tokens: set[bytes]) -> tuple[int, ...]:
        """Positions of the entries a text with these word ``tokens`` could contain."""
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

    def entry(self, match: re.Match[str]) -> TellEntry:
        """The entry a match of ``regex`` found."""
        assert match.lastgroup is not None
        return self.entries[int(match.lastgroup[1:])]


def sentence_entries(texts: Iterable[str]) -> list[TellEntry]:
    """An entry for each sentence of ``texts`` long enough to be scrubbed where echoed."""
    entries: dict[str, TellEntry] = {}
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
                TellEntry(
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


def label_regex(labels: dict[str, tuple[str, str]]) -> re.Pattern[str] | None:
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

"""The regex building blocks of the scrubber, and the word-set prefilter in front of them.

This module owns how a name becomes a regex (separators, versions, camelCase boundaries), how
an instruction sentence and an ordinary word used as a label become one, the Unicode folding
applied before matching, and the cheap prefilter that decides which texts need any regex at
all: a tell can only be present if its anchor words are in the text's set of lowercase letter
runs. The prefilter exists because Python's case-insensitive regex scanning is the slow part
of blinding, while splitting a text into such a set is C-speed work. It does not know which
names a run has (``terms.py``) or what the tells file says (``tells.py``), and it neither
scrubs nor scans a text (``scrubber.py`` does, with rules ``rules.py`` compiles from these
parts).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.blind.tells import PLACEHOLDER_INSTRUCTIONS, NameSpec
from harness.blind.words import MODEL_WORDS

__all__ = [
    "MACRO",
    "MIN_ECHO_WORDS",
    "NAME_TOKENS",
    "TellEntry",
    "TellEntrySet",
    "alnum_len",
    "fold",
    "is_distinctive",
    "label_regex",
    "learned_pattern",
    "name_patterns",
    "name_segments",
    "sentence_entries",
    "word_tokens",
]

MIN_ECHO_WORDS = 7
"""Words an instruction sentence needs before a reply repeating it is scrubbed."""

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
    ordinary: bool = False
    """An ``ordinary_word`` name: each match is checked by ``words.ordinary_use``."""

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

    The loose ending ignores ``require_version`` (for <<name>>: "I am Gemma"). With
    ``require_version`` the strict ending needs a version or a model word after the name
    ("Falcon-40B", "Falcon models"; the model word stays outside the match).
    """
    core = _name_core(spec.name, spec.match_case)
    if core is None:
        return None
    tail = ""
    if versioned:
        variant = f"(?>{_SEPV}(?:{version_words})(?![^\\W\\d_]))" if version_words else ""
        tail = f"(?:(?>{_SEPV}?{_VERSION}){'|' + variant if variant else ''})*"
    required = (f"(?:(?>{_SEPV}?{_VERSION})|(?={_SEPV}?{MODEL_WORDS}))"
                if spec.require_version else "")
    after = f"(?!{spec.not_followed_by})" if spec.not_followed_by else ""
    return core, required + tail + _RIGHT + after, tail + _RIGHT + after


@functools.lru_cache(maxsize=256)
def learned_pattern(name: str) -> re.Pattern[str] | None:
    """The regex of a name learned from a self-identification, matched like a listed name.

    A match right after "[" is skipped: it would be inside a placeholder ("[MODEL]").
    """
    patterns = name_patterns(NameSpec(name=name), True, "")
    if patterns is None or alnum_len(name) < 2:
        return None
    core, _, loose_end = patterns
    return re.compile(rf"(?<!\[){core}{loose_end}", re.IGNORECASE)


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

"""The scrubber: replaces identity tells with placeholders and scans text for any that remain.

This module owns ``Scrubber``, which applies the rules ``rules.py`` compiles once per run (from
the tells file and the run's own names): it replaces every tell in a text with its
placeholder, and scans a text for any tell that remains. It does not read or write files,
build items or decide whether a run passes (the stage does), and it does not define what a
tell is (``tells.py``, ``terms.py``) or how a name becomes a regex (``patterns.py``).

An ordinary-word run name (``verify``, ``steer``) is replaced only where it works as a label:
after a key such as ``scaffold:``, ``mode=`` or ``persona:``; before ``scaffold``, ``mode``,
``persona``, ``preset`` or ``system prompt``; inside brackets or tags (``[verify]``,
``<steer>``); or alone on a line. "Please verify the dose" stays as written. Instruction text
is scrubbed where a reply repeats one of its sentences (7 words or more) verbatim. User turns
are scrubbed with the same rules, because a simulated user may be played by the model under
test.

A listed family name that is also a word (``Llama``, ``Mistral``) is left where it reads as
the word (``words.py`` states the rule). A self-identification whose name is on no list ("I'm
Zorblax, an AI assistant made by Quuxcorp") is replaced, and so are that name's and maker's
other mentions in the same text; ``unlisted`` counts such names for the leak report.

The scan looks, on a Unicode-normalised copy with the placeholders removed, for any tell:
names, label uses, instruction sentences, and the pattern categories' ``detect`` patterns
(cutoff statements, self-identifications too weak to replace).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from harness.blind.patterns import fold, learned_pattern, word_tokens
from harness.blind.rules import PatternCategory, compile_rules
from harness.blind.tells import (
    PLACEHOLDER_INSTRUCTIONS,
    PLACEHOLDER_MODEL,
    PLACEHOLDER_VENDOR,
    TellsSpec,
)
from harness.blind.terms import RunTerms
from harness.blind.words import ordinary_use

__all__ = ["NAME_WINDOW", "Scrubber", "Tell"]

NAME_WINDOW = 200
"""Characters searched on each side of a name for name-bearing patterns (self-identification)."""
# Capitalised words an unlisted-name pattern may catch that are no name; never learned.
_NOT_NAMES = frozenset({"ai", "an", "the", "this", "here", "sorry", "not", "just", "only"})


@dataclass(frozen=True)
class Tell:
    """A tell the leak scan found after scrubbing."""

    category: str
    match: str
    context: str


class Scrubber:
    """Replaces identity tells with placeholders and scans text for any that remain.

    Built once per run from the tells file and the run's names; every regex is compiled
    then (``rules.compile_rules``). ``counts`` accumulates replacements per category across
    calls.

    Raises:
        ConfigError: (on construction) the tells file holds an invalid regex or macro.
    """

    def __init__(self, tells: TellsSpec, terms: RunTerms, *, source: str = "tells") -> None:
        self.counts: Counter[str] = Counter()
        self._kept = 0
        self.unlisted: Counter[str] = Counter()
        """Names on no list that self-identifications gave (texts they were found in)."""
        rules = compile_rules(tells, terms, source=source)
        # Copied to attributes: the scrubbing loop below is hot.
        self._names = rules.names
        self._patterns = rules.patterns
        self._sentences = rules.sentences
        self._labels = rules.labels
        self._label_anchors = rules.label_anchors
        self._label_kinds = rules.label_kinds
        self._wrappers = rules.wrappers
        self.has_wrappers = bool(self._wrappers)
        self.placeholders = rules.placeholders
        self.everywhere = rules.everywhere
        """Per kind: the run's names replaced wherever they appear."""
        self.label_only = rules.label_only
        """Per kind: the run's ordinary-word names replaced only where used as labels."""

    # ---- scrubbing

    def _runs(self, category: PatternCategory, tokens: set[bytes], names: bool) -> bool:
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
            text = fold(text)
            tokens = word_tokens(text)
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
            elif category.learns:
                text, n = self._sub_learning(category, text, tokens)
            else:
                text, n = category.scrub.subn(_constant(category.placeholder), text)
            self.counts[category.name] += n
            total += n
            spans = None if n else spans
        if names:
            self._kept = 0
            text, n = self._names.regex(names).subn(self._name_repl, text)
            total += n - self._kept
        if self._labels is not None and not self._label_anchors.isdisjoint(tokens):
            text, n = self._labels.subn(self._label_repl, text)
            total += n
        return text, total

    def _sub_learning(self, category: PatternCategory, text: str, tokens: set[bytes]
                      ) -> tuple[str, int]:
        """Replace a category's matches, then every other mention of the unlisted names found.

        "I'm Zorblax, an AI assistant made by Quuxcorp. Zorblax can help" must not leave the
        second "Zorblax": a name a model gives itself is a tell wherever it recurs. These
        patterns start at common words ("I", "as"), so they are searched only around their
        anchor words, which every match contains.
        """
        found: dict[str, str] = {}

        def replace(match: re.Match[str]) -> str:
            for group, value in match.groupdict().items():
                if value and value.casefold() not in _NOT_NAMES:
                    found.setdefault(value, PLACEHOLDER_MODEL if group[0] == "m"
                                     else PLACEHOLDER_VENDOR)
            return category.placeholder

        text, total = _sub_windows(category, text, _anchor_spans(category, text, tokens),
                                   replace)
        for name, placeholder in sorted(found.items(), key=lambda item: -len(item[0])):
            self.unlisted[name] += 1
            pattern = learned_pattern(name)
            if pattern is not None:
                text, n = pattern.subn(_constant(placeholder), text)
                total += n
        return text, total

    def _sentence_repl(self, match: re.Match[str]) -> str:
        self.counts["scaffold_text"] += 1
        return PLACEHOLDER_INSTRUCTIONS

    def _name_repl(self, match: re.Match[str]) -> str:
        entry = self._names.entry(match)
        if entry.ordinary and ordinary_use(match.string, *match.span()):
            self._kept += 1
            return match.group(0)
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
        if fold(text) != text:
            return False
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            return False
        if "[" in text and any(p in text for p in self.placeholders):
            return False
        tokens = word_tokens(text)
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
        text = fold(text)
        tokens = word_tokens(text)
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
            if category.detect is None or not self._runs(category, tokens, True):
                continue
            if not category.learns:
                found.extend(_tell(category.name, m, text) for m in category.detect.finditer(text))
                continue
            for low, high in _windows(text, _anchor_spans(category, text, tokens)):
                found.extend(_tell(category.name, m, text)
                             for m in category.detect.finditer(text, low, high))
        return found

    def scan(self, text: str) -> list[Tell]:
        """Every tell still present in ``text`` (placeholders ignored, Unicode normalised)."""
        if "[" in text:
            for placeholder in self.placeholders:
                # A newline, not a space: it must not join the words on either side.
                text = text.replace(placeholder, "\n")
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = fold(text)
        tokens = word_tokens(text)
        found = self._detect(text, tokens)
        candidates = self._sentences.candidates(tokens)
        if candidates:
            regex = self._sentences.regex(candidates)
            found.extend(_tell("scaffold_text", m, text) for m in regex.finditer(text))
        names = self._names.candidates(tokens)
        if names:
            for match in self._names.regex(names).finditer(text):
                entry = self._names.entry(match)
                if not (entry.ordinary and ordinary_use(text, *match.span())):
                    found.append(_tell(entry.category, match, text))
        if self._labels is not None and not self._label_anchors.isdisjoint(tokens):
            for match in self._labels.finditer(text):
                found.append(_tell(self._label_group(match)[1], match, text))
        return found


def _windows(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``NAME_WINDOW`` characters around each span, widened to whitespace, overlaps merged."""
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
    return [(low, high) for low, high in windows]


def _sub_windows(
    category: PatternCategory, text: str, spans: list[tuple[int, int]],
    replace: Callable[[re.Match[str]], str] | None = None,
) -> tuple[str, int]:
    """``category.scrub.subn`` applied only to windows around ``spans`` (name matches)."""
    replace = replace or _constant(category.placeholder)
    total = 0
    for low, high in reversed(_windows(text, spans)):
        piece, n = category.scrub.subn(replace, text[low:high])
        if n:
            text, total = text[:low] + piece + text[high:], total + n
    return text, total


def _anchor_spans(category: PatternCategory, text: str, tokens: set[bytes]
                  ) -> list[tuple[int, int]]:
    """Where the category's anchor words that ``tokens`` holds occur in ``text``."""
    assert category.anchors is not None
    present = category.anchors.intersection(tokens)
    return [match.span() for match in _words_regex(frozenset(present)).finditer(text)]


@functools.lru_cache(maxsize=512)
def _words_regex(words: frozenset[bytes]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word, case-insensitive."""
    # The letter check sits after each word's first character, so the engine can skip to
    # candidate positions (a leading lookbehind would be tried at every position).
    alternatives = "|".join(
        re.escape(word[:1]) + r"(?<![^\W\d_].)" + re.escape(word[1:])
        for word in sorted((w.decode() for w in words), key=len, reverse=True)
    )
    return re.compile(rf"(?:{alternatives})(?![^\W\d_])", re.IGNORECASE)


def _constant(value: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement function returning ``value`` (no backslash processing)."""
    return lambda _match: value


def _tell(category: str, match: re.Match[str], text: str) -> Tell:
    start, end = match.span()
    context = text[max(0, start - 40) : end + 40].replace("\n", " ")
    return Tell(category, match.group(0), context)

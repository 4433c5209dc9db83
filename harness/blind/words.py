"""Names that are also words, and names that are on no list: where each is an identity tell.

Many open-weight families carry ordinary words as names: a llama is an animal, the mistral a
wind, a falcon a bird, and "The Lying Llama" is a book. This module owns the rule that
decides, for a listed name, whether one occurrence is the model or the word, and the shape of
a name the tells file does not list (the ``<<unlisted>>`` and ``<<unlisted_maker>>`` macros
of self-identification patterns). It does not build a name's regex (``patterns.py``) or
apply either (``scrubber.py``).

The rule. A name marked ``require_version`` (``Phi``, ``Gemma``, ``Falcon``) is a model only
as a model-looking token, with a version or size (``Falcon-40B``, ``phi3``), or followed by a
model word (``Falcon models``, ``Gemma weights``). A name marked ``ordinary_word`` (``Llama``,
``Mistral``) is a model as well wherever it is written as a name: capitalised, unless it sits
inside a title. In detail, an ``ordinary_word`` match is left as the word when it has no
version or variant, is not followed by a model word, is not written as code (quoted, after a
slash, ``=`` or a command such as ``ollama run``, before a ``:tag``, in a host name), is not
preceded by a capitalised possessive (``Meta's Llama``), and either it is lowercase ("a
llama", "the mistral wind") or the word before it is a capitalised word that does not open a
sentence ("The Lying Llama", "read The Lying Llama"; not "Try Llama"). Both kinds are
replaced, whatever their case, in a self-identification ("I am Llama", "As Falcon, ...").
"""

from __future__ import annotations

import re

__all__ = ["MODEL_WORDS", "UNLISTED_MAKER", "UNLISTED_NAME", "ordinary_use"]

MODEL_WORDS = (
    r"(?:models?|LLMs?|weights|checkpoints?|fine-?tunes?|finetuned|architecture|tokenizer"
    r"|GGUF|quants?|licen[cs]e)(?![^\W\d_])"
)
"""Words after a name that make it a model ("Llama models", "Gemma weights")."""

# Bounded repeats: a pattern may start at the name, and an unbounded name would make a long
# run such as "A-A-A-..." quadratic to scan.
_WORD = r"[A-Z][A-Za-z0-9]{0,40}(?:[-.][A-Za-z0-9]{1,20}){0,4}"
UNLISTED_NAME = rf"(?-i:{_WORD}(?: {_WORD}){{0,2}})"
"""A name on no list: up to three capitalised words, digits, dots and hyphens ("SmolLM2")."""
# A title before a person's name ("Dr. Patel") is no maker.
_MAKER_WORD = (r"(?!(?:Dr|Mr|Mrs|Ms|Miss|Prof|Professor|Doctor|Coach|Sir|Dame)\b)"
               r"[A-Z0-9][A-Za-z0-9&-]{0,40}(?:\.[A-Za-z0-9]{1,20}){0,3}")
UNLISTED_MAKER = rf"(?-i:{_MAKER_WORD}(?: (?:(?:for|of|and|&) )?{_MAKER_WORD}){{0,4}})"
"""A maker on no list: capitalised words ("Hugging Face", "Allen Institute for AI", "01.AI")."""

_MODEL_AFTER = re.compile(rf"[ \-_.]?{MODEL_WORDS}|-based\b", re.IGNORECASE)
_PREVIOUS_WORD = re.compile(r"(\S+)[ \t]+$")
_SENTENCE_OPENERS = frozenset(".!?:;\"“‘'([*#>-|\n")
_CONTEXT = 80
_COMMANDS = frozenset({"pull", "run", "serve", "--model", "-m"})
"""Words of a command line after which a name is a model ("ollama pull llama")."""


def ordinary_use(text: str, start: int, end: int) -> bool:
    """True when the name matched at ``text[start:end]`` reads as the ordinary word."""
    found = text[start:end]
    if not found.isalpha() or not (found.islower() or found.istitle()):
        # A version, a variant or stylised capitals ("LLaMA"): a model-looking token.
        return False
    if _MODEL_AFTER.match(text, end):
        return False
    before = text[max(0, start - _CONTEXT) : start]
    after = text[end : end + 2]
    possessive = after[:1] in ("'", "’") and after[1:2] == "s"
    if before[-1:] in ("'", '"', "`", "/", "=") or (after[:1] in ("'", '"', "`")
                                                    and not possessive):
        return False
    if (after[:1] in (":", ".") and after[1:2].isalnum()) or before[-1:] in (".", "@", "_"):
        return False  # a tag, host or identifier ("mistral:latest", "grok.x.ai", "chat.mistral")
    previous = _PREVIOUS_WORD.search(before)
    if previous is not None:
        word = previous.group(1)
        if word[:1].isupper() and re.search(r"['’]s$", word):
            return False  # "Meta's Llama"
        if word in _COMMANDS:
            return False  # "ollama run mistral"
    if found.islower():
        return True
    if previous is None or not _title_word(previous.group(1)):
        return False
    opener = before[: previous.start(1)].rstrip(" \t")
    # When the word before opens a sentence ("Try Llama"), the name is not inside a title.
    return opener != "" and opener[-1] not in _SENTENCE_OPENERS


def _title_word(word: str) -> bool:
    """A capitalised word that can be part of a title ("Lying", "The"; not "I" or "Meta,")."""
    return word.isalpha() and word[:1].isupper() and word != "I"

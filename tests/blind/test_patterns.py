"""Tests for harness/blind/patterns.py: the word-set prefilter, Unicode folding, which names
are distinctive, and name and sentence entries."""

from __future__ import annotations

import re

from harness.blind.patterns import (
    TellEntrySet,
    fold,
    is_distinctive,
    name_patterns,
    name_segments,
    sentence_entries,
    word_tokens,
)
from harness.blind.tells import NameSpec


def test_word_tokens_are_lowercase_letter_runs_with_camel_case_parts() -> None:
    assert word_tokens("AsyncOpenAI uses GPT4o, deep-seek!") == {
        b"asyncopenai", b"async", b"open", b"ai", b"uses", b"gpt", b"o", b"deep", b"seek",
    }


def test_fold_drops_invisible_characters_in_words_and_full_width_letters() -> None:
    assert fold("Cl\u200baude") == "Claude"
    assert fold("\uff23\uff48\uff41\uff54") == "Chat"
    assert fold("plain text") == "plain text"


def test_distinctive_names_have_a_digit_punctuation_or_inner_capital() -> None:
    assert [is_distinctive(term) for term in ("sim-eager", "gpt4o", "verify_v2", "GenAI")] == [
        True, True, True, True,
    ]
    assert [is_distinctive(term) for term in ("verify", "Steer", "a-")] == [False, False, False]


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.IGNORECASE)
    return match.group(0) if match else None


def test_a_name_pattern_takes_versions_plurals_and_camel_case_but_not_longer_words() -> None:
    assert name_segments("Llama-3.1-8B") == ((b"llama",), (b"b",))
    patterns = name_patterns(NameSpec(name="Llama"), True, "")
    assert patterns is not None
    core, strict_end, _ = patterns
    found = {text: _search(core + strict_end, text)
             for text in ("Llama-3.1-8B", "llamas", "AsyncLlama", "llamacorn")}
    assert found == {"Llama-3.1-8B": "Llama-3.1-8B", "llamas": "llamas",
                     "AsyncLlama": "Llama", "llamacorn": None}


def test_require_version_binds_the_strict_pattern_only() -> None:
    patterns = name_patterns(NameSpec(name="Phi", require_version=True), True, "")
    assert patterns is not None
    core, strict_end, loose_end = patterns
    assert _search(core + strict_end, "Phi-3-mini") == "Phi-3"
    assert _search(core + strict_end, "phi is a ratio") is None
    # The loose form is what <<name>> uses: "I am Phi" is self-identification.
    assert _search(core + loose_end, "I am Phi") == "Phi"


def test_sentence_entries_are_found_only_when_their_words_are_present() -> None:
    entries = sentence_entries(["Always cite one official source for every claim. Be brief."])
    assert len(entries) == 1 and entries[0].placeholder == "[INSTRUCTIONS]"
    sentences = TellEntrySet(entries)
    text = "Fine: always cite one official source, for every claim."
    candidates = sentences.candidates(word_tokens(text))
    assert candidates == (0,)
    assert sentences.regex(candidates).sub("[X]", text) == "Fine: [X]."
    assert sentences.candidates(word_tokens("Nothing to see.")) == ()

"""Tests for harness/blind/scrubber.py: replacing tells with placeholders, and the leak scan."""

from __future__ import annotations

import pytest

from harness.blind.scrubber import Scrubber
from tests.blind.synthetic import ADVERSARIAL, leaks


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_replies_come_out_clean(scrubber: Scrubber, text: str) -> None:
    cleaned, replaced, remaining = scrubber.clean(text)
    assert replaced > 0
    assert remaining == []
    assert leaks(cleaned) == [], cleaned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "As an AI developed by OpenAI, I can't give medical advice.",
            "[SELF-ID], I can't give medical advice.",
        ),
        (
            "Hi! I'm Claude, an AI assistant made by Anthropic. I can help.",
            "Hi! [SELF-ID]. I can help.",
        ),
        (
            "As of my last update in October 2023, the fee was $50.",
            "[KNOWLEDGE-CUTOFF], the fee was $50.",
        ),
        ("My knowledge cutoff is April 2024, so check.", "[KNOWLEDGE-CUTOFF], so check."),
        ("Use gpt4o, GPT-4o-mini or Chat GPT.", "Use [MODEL], [MODEL] or [ASSISTANT]."),
        ("Claude 3.5 Sonnet and Llama-3.1-8B-Instruct.", "[MODEL] and [MODEL]."),
        ("from openai import OpenAI", "from [VENDOR] import [VENDOR]"),
        ("Meta's Llama; a meta-analysis.", "[VENDOR]'s [MODEL]; a meta-analysis."),
        (
            "[verify] Scaffold: steer. In verify mode.",
            "[SCAFFOLD] Scaffold: [SCAFFOLD]. In [SCAFFOLD] mode.",
        ),
        ("persona: cautious", "persona: [MODEL]"),
        ("Verify\n**Steer**\nDone.", "[SCAFFOLD]\n**[SCAFFOLD]**\nDone."),
        ("The socratic-v2 scaffold, or Socratic V2.", "The [SCAFFOLD] scaffold, or [SCAFFOLD]."),
        ("I'm sim-eager, from xstress-sim/eager.", "[SELF-ID], from [MODEL]."),
        (
            "Fine. For every factual claim, give the user a concrete way to check it themselves.",
            "Fine. [INSTRUCTIONS].",
        ),
        (
            "Phi-3-mini and Gemma 2 are small; I am Gemma.",
            "[MODEL] and [MODEL] are small; [SELF-ID].",
        ),
    ],
)
def test_scrub_replaces_tells_with_placeholders(
    scrubber: Scrubber, text: str, expected: str
) -> None:
    assert scrubber.clean(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "Please verify the dose with your pharmacist before you take more.",
        "A meta-analysis of 12 trials found no benefit; check the metadata too.",
        "The cutoff date for applications is March 2024.",
        "To my knowledge, the deposit must be returned within 14 days.",
        "Apply for an O-1 visa if you qualify.",
        "Phi is the golden ratio; Gemma is my sister's name.",
        "This generic drug is a bare-bones option; steer clear of alcohol.",
        "I updated the plan as you asked, and the trained staff will call you.",
        "Open the AI settings panel, then save.",
        "Your landlord must give notice; the court may steer you to mediation.",
    ],
)
def test_ordinary_prose_is_left_alone(scrubber: Scrubber, text: str) -> None:
    assert scrubber.clean(text) == (text, 0, [])


def test_wrapped_user_turn_is_unwrapped(scrubber: Scrubber) -> None:
    wrapped = "Answer the question below carefully:\n\nCan I take 40 mg tonight?"
    cleaned, replaced, remaining = scrubber.clean(wrapped, role="user")
    assert cleaned == "Can I take 40 mg tonight?"
    assert replaced == 1 and remaining == []
    # A reply quoting the same words is not a wrapper; it is left to the other rules.
    assert scrubber.clean("Can I take 40 mg tonight?", role="user")[1] == 0


def test_scan_reports_what_scrubbing_missed(scrubber: Scrubber) -> None:
    # Mathematical bold letters are normalised (NFKC) by the scan, not by the scrubber.
    text = "Answer by \U0001d402\U0001d425\U0001d41a\U0001d42e\U0001d41d\U0001d41e."
    cleaned, _replaced, remaining = scrubber.clean(text)
    assert cleaned == text
    assert [(t.category, t.match) for t in remaining] == [("model_family", "Claude")]
    assert scrubber.scan("nothing to see here") == []

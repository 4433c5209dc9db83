"""Tests for harness/blind/words.py and the default tells file's open-weight names: a family
name that is also a word is replaced as a model, not as the word; a self-identification with a
name on no list is replaced (with the name's other mentions) or flagged by the leak scan."""

from __future__ import annotations

import re

import pytest

from harness.blind.scrubber import Scrubber
from harness.blind.words import UNLISTED_MAKER, UNLISTED_NAME, ordinary_use


def _ordinary(text: str, name: str) -> bool:
    start = text.index(name)
    return ordinary_use(text, start, start + len(name))


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("The Lying Llama is a novel.", "Llama", True),
        ("I finished The Lying Llama last night.", "Llama", True),
        ("A llama spat at the tourists.", "llama", True),
        ("The mistral wind blew for three days.", "mistral", True),
        ("Try Llama for this.", "Llama", False),  # opens a sentence: a name, not a title
        ("You could use Llama here.", "Llama", False),
        ("Meta's Llama is open.", "Llama", False),
        ("The llama models are open.", "llama", False),
        ("Set model='mistral' in the config.", "mistral", False),
        ("Pull mistral:latest first.", "mistral", False),
        ("Open grok.x.ai or chat.mistral.ai.", "grok", False),
        ("Open chat.mistral.ai.", "mistral", False),
        ("It was a llama. Then it left.", "llama", True),
        ("Then ollama run mistral and wait.", "mistral", False),
        ("LLaMA was first.", "LLaMA", False),
    ],
)
def test_ordinary_use_tells_the_word_from_the_model(text: str, name: str, expected: bool) -> None:
    assert _ordinary(text, name) is expected


def _start(pattern: str, text: str) -> str | None:
    match = re.match(pattern, text)
    return match.group(0) if match else None


def test_unlisted_name_and_maker_shapes() -> None:
    assert _start(UNLISTED_NAME, "SmolLM2, an AI") == "SmolLM2"
    assert _start(UNLISTED_NAME, "an assistant") is None  # a name is capitalised
    assert _start(UNLISTED_MAKER, "Allen Institute for AI.") == "Allen Institute for AI"
    assert _start(UNLISTED_MAKER, "01.AI, in Beijing") == "01.AI"
    assert _start(UNLISTED_MAKER, "Dr. Patel") is None  # a person's title, not a maker


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The acceptance strings of issue 16: self-identification with the default tells.
        ("I'm SmolLM2, an AI assistant made by Hugging Face.", "[SELF-ID]."),
        ("I am Qwen, created by Alibaba Cloud.", "[SELF-ID]."),
        # Names the list does not hold, in the three shapes of self-identification.
        ("I'm Zorblax-7, made by Quuxcorp.", "[SELF-ID]."),
        ("I am Orion, an AI assistant developed by Zeta Labs. Ask Orion; Zeta Labs agrees.",
         "[SELF-ID]. Ask [MODEL]; [VENDOR] agrees."),
        ("As Zorblax, a model by Quuxcorp, I can't say.", "[SELF-ID], I can't say."),
        # Families, hubs, labs and servers of the open-weight world.
        ("Run Llama-3.1-8B-Instruct or Mistral 7B with Ollama, llama.cpp, vLLM or LM Studio.",
         "Run [MODEL] or [MODEL] with [PLATFORM], [PLATFORM], [PLATFORM] or [PLATFORM]."),
        ("Falcon-40B from TII, OLMo 2 from AI2, Granite 3 from IBM, Nemotron from NVIDIA.",
         "[MODEL] from [VENDOR], [MODEL] from [VENDOR], [MODEL] from [VENDOR], [MODEL] from "
         "[VENDOR]."),
        ("Yi-34B (01.AI), InternLM2, GLM-4 (Zhipu AI), Kimi K2 (Moonshot AI), MiniMax-M1.",
         "[MODEL] ([VENDOR]), [MODEL], [MODEL] ([VENDOR]), [MODEL] ([VENDOR]), [MODEL]."),
        ("Download HuggingFaceTB/SmolLM2-1.7B or meta-llama/Llama-3.2-1B from Hugging Face.",
         "Download [VENDOR]/[MODEL] or [MODEL]/[MODEL] from [VENDOR]."),
        ("Vicuna-13B by LMSYS, Zephyr-7B, OpenChat 3.5, Nous Hermes 2, Command R+ by Cohere.",
         "[MODEL] by [VENDOR], [MODEL], [MODEL], [MODEL], [MODEL]+ by [VENDOR]."),
        ("Phi models, Gemma weights, StableLM and DeepSeek-R1.",
         "[MODEL] models, [MODEL] weights, [MODEL] and [MODEL]."),
        ("Meta's Llama; Llama is open.", "[VENDOR]'s [MODEL]; [MODEL] is open."),
    ],
)
def test_open_weight_tells_are_scrubbed(scrubber: Scrubber, text: str, expected: str) -> None:
    cleaned, replaced, remaining = scrubber.clean(text)
    assert (cleaned, remaining) == (expected, [])
    assert replaced > 0


@pytest.mark.parametrize(
    "text",
    [
        "The Lying Llama is a book I loved as a child.",
        "I read The Lying Llama to my son; the llama in it lies.",
        "A falcon circled while the mistral wind blew across the valley.",
        "We saw llamas and alpacas on the farm, and an orca at sea.",
        "The granite countertop, the solar panel and the arctic fox.",
        "I'm sorry, an AI can't replace your doctor.",
        "My name is Maria and I rent a flat.",
    ],
)
def test_ordinary_words_are_left_alone(scrubber: Scrubber, text: str) -> None:
    assert scrubber.clean(text) == (text, 0, [])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("I was trained by Quuxcorp.", "I was trained by Quuxcorp"),
        ("My developers at Quuxcorp say hi.", "My developers at Quuxcorp"),
        ("I'm a fine-tuned version of Zorblax.", "I'm a fine-tuned version of Zorblax"),
        ("Zorblax here, your friendly AI assistant.", "Zorblax here, your friendly AI assistant"),
    ],
)
def test_leak_scan_flags_a_weak_self_identification_of_an_unlisted_name(
    scrubber: Scrubber, text: str, match: str
) -> None:
    # Left in place (too weak to replace safely), but the scan reports it.
    cleaned, replaced, remaining = scrubber.clean(text)
    assert (cleaned, replaced) == (text, 0)
    assert [(tell.category, tell.match) for tell in remaining] == [("unlisted_identity", match)]


def test_leak_scan_recognises_the_scrubbed_forms_too(scrubber: Scrubber) -> None:
    tells = scrubber.scan("I'm Zorblax-7, made by Quuxcorp.")
    assert [(tell.category, tell.match) for tell in tells] == [
        ("unlisted_identity", "I'm Zorblax-7, made by Quuxcorp")
    ]
    assert scrubber.scan(scrubber.clean("I'm Zorblax-7, made by Quuxcorp.")[0]) == []


def test_unlisted_names_are_counted(scrubber: Scrubber) -> None:
    scrubber.unlisted.clear()
    scrubber.clean("I'm Zorblax-7, made by Quuxcorp. Zorblax-7 says hi.")
    assert dict(scrubber.unlisted) == {"Zorblax-7": 1, "Quuxcorp": 1}


def test_unlisted_self_identification_deep_in_a_long_reply(scrubber: Scrubber) -> None:
    # These patterns are searched only around their anchor words ("made"): far from the
    # start of the text, the window must still hold the whole match.
    filler = "Keep the receipts and check the rules with the office first. " * 40
    text = filler + "I'm Zorblax-7, made by Quuxcorp. " + filler + "Zorblax-7 out."
    cleaned, _replaced, remaining = scrubber.clean(text)
    assert cleaned == filler + "[SELF-ID]. " + filler + "[MODEL] out."
    assert remaining == []
    weak = filler + "Honestly, I was trained by Quuxcorp. " + filler
    assert [t.match for t in scrubber.clean(weak)[2]] == ["I was trained by Quuxcorp"]


def test_a_long_run_of_name_like_text_scrubs_in_linear_time(scrubber: Scrubber) -> None:
    # Unbounded name repeats made this quadratic: about 10 s at 20,000 characters, so hours at
    # 200,000; bounded, it takes a fraction of a second. The join is a hang guard, not a
    # timing: it fails only a scrubber that has gone quadratic again.
    import threading

    text = "I am " + "A-" * 100_000 + " model made by"
    done: list[str] = []
    worker = threading.Thread(target=lambda: done.append(scrubber.clean(text)[0]), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert done, "scrubbing a long run of name-like text did not finish"

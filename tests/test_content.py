"""Checks on the instrument's content: default scaffolds, the stress15 prompt set, the rubric.

These files are data that users edit, so the tests load them exactly as a user's copy would be
loaded (plain YAML validated by the schema classes) and check the properties the design relies
on: names match file names, the prompt set covers every domain x probe pair once, targets
name real rubric dimensions, and no text cues a model, vendor or scaffold.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.schema import DIMENSION_IDS, PromptSet, RubricSpec, ScaffoldSpec

ROOT = Path(__file__).parents[1]
SCAFFOLD_DIR = ROOT / "scaffolds"
PROMPT_SET_PATH = ROOT / "configs" / "prompts" / "stress15.yaml"
RUBRIC_PATH = ROOT / "configs" / "rubric" / "interactional8.yaml"

DEFAULT_SCAFFOLDS = ("bare", "generic", "steer", "verify")
DOMAINS = ("health", "finance", "legal-admin", "technical", "civic")
PROBES = ("underspecified", "checkable", "multiturn")
DIMENSION_NAMES = {
    "D1": "multi-turn coherence",
    "D2": "clarification / intent elicitation",
    "D3": "verification support",
    "D4": "process steerability",
    "D5": "grounding and repair",
    "D6": "context retention",
    "D7": "user-specific appropriateness",
    "D8": "role and escalation",
}
VENDOR_AND_MODEL_NAMES = (
    "OpenAI",
    "GPT",
    "ChatGPT",
    "Anthropic",
    "Claude",
    "Google",
    "Gemini",
    "Meta",
    "Llama",
    "Mistral",
    "Grok",
    "DeepSeek",
    "Qwen",
)
KEBAB_CASE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def load_yaml(path: Path) -> Any:
    """Parse a YAML file the way a user's plain config file is parsed."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def forbidden_names_in(text: str, names: tuple[str, ...]) -> list[str]:
    """Return the names that occur in ``text`` as whole words, ignoring case."""
    return [
        name for name in names if re.search(rf"\b{re.escape(name)}\b", text, flags=re.IGNORECASE)
    ]


def scaffold_paths() -> list[Path]:
    return sorted(SCAFFOLD_DIR.glob("*.yaml"))


def all_scaffold_names() -> tuple[str, ...]:
    return tuple(path.stem for path in scaffold_paths())


def load_scaffold(name: str) -> ScaffoldSpec:
    return ScaffoldSpec.model_validate(load_yaml(SCAFFOLD_DIR / f"{name}.yaml"))


def load_prompt_set() -> PromptSet:
    return PromptSet.model_validate(load_yaml(PROMPT_SET_PATH))


def load_rubric() -> RubricSpec:
    return RubricSpec.model_validate(load_yaml(RUBRIC_PATH))


def scaffold_texts(spec: ScaffoldSpec) -> list[str]:
    """Everything a scaffold sends to a model (what could leak a cue into a transcript)."""
    texts = [spec.system or "", spec.user_template]
    texts.extend(p.instruction for p in spec.passes)
    return texts


# --------------------------------------------------------------------------- the name matcher


def test_forbidden_name_matcher_matches_whole_words_only() -> None:
    assert forbidden_names_in("I asked claude and ChatGPT", VENDOR_AND_MODEL_NAMES) == [
        "ChatGPT",
        "Claude",
    ]
    assert forbidden_names_in("openai/gpt-4o", VENDOR_AND_MODEL_NAMES) == ["OpenAI", "GPT"]
    assert forbidden_names_in("the metadata is barely there", ("Meta", "bare")) == []
    assert forbidden_names_in("run it bare, then VERIFY", ("bare", "verify")) == [
        "bare",
        "verify",
    ]


# --------------------------------------------------------------------------- scaffolds


def test_default_scaffolds_exist() -> None:
    assert set(DEFAULT_SCAFFOLDS) <= set(all_scaffold_names())


@pytest.mark.parametrize("path", scaffold_paths(), ids=lambda p: p.stem)
def test_scaffold_file_validates_and_is_named_after_its_file(path: Path) -> None:
    raw_text = path.read_text(encoding="utf-8")
    assert "@package" not in raw_text, "scaffolds are plain YAML, no Hydra package header"
    spec = ScaffoldSpec.model_validate(load_yaml(path))
    assert spec.name == path.stem
    assert spec.description.strip()
    assert set(spec.targets) <= set(DIMENSION_IDS)


@pytest.mark.parametrize("path", scaffold_paths(), ids=lambda p: p.stem)
def test_scaffold_text_names_no_vendor_model_or_scaffold(path: Path) -> None:
    spec = ScaffoldSpec.model_validate(load_yaml(path))
    names = VENDOR_AND_MODEL_NAMES + all_scaffold_names()
    for text in scaffold_texts(spec):
        assert forbidden_names_in(text, names) == [], f"{path.name}: {text[:60]!r}"


def test_bare_sends_the_user_turn_unchanged() -> None:
    spec = load_scaffold("bare")
    assert spec.system is None
    assert spec.user_template == "{user}"
    assert spec.targets == []
    assert spec.passes == []


def test_generic_is_an_untargeted_placebo() -> None:
    spec = load_scaffold("generic")
    assert spec.system is not None
    assert spec.targets == []
    assert spec.passes == []
    assert spec.user_template == "{user}"


def test_steer_targets() -> None:
    spec = load_scaffold("steer")
    assert spec.system is not None
    assert spec.targets == ["D1", "D2", "D4", "D5", "D6"]
    assert spec.passes == []


def test_verify_has_one_replacing_self_check_pass() -> None:
    spec = load_scaffold("verify")
    assert spec.system is not None
    assert "How to check this" in spec.system
    assert spec.targets == ["D3", "D5"]
    assert [p.name for p in spec.passes] == ["self_check"]
    assert spec.passes[0].replace_reply is True


# --------------------------------------------------------------------------- prompt set


def test_prompt_set_validates_and_is_named_after_its_file() -> None:
    assert "@package" not in PROMPT_SET_PATH.read_text(encoding="utf-8")
    prompt_set = load_prompt_set()
    assert prompt_set.name == PROMPT_SET_PATH.stem == "stress15"
    assert prompt_set.description.strip()


def test_stress15_has_fifteen_unique_kebab_case_ids() -> None:
    scenarios = load_prompt_set().scenarios
    ids = [s.id for s in scenarios]
    assert len(ids) == 15
    assert len(set(ids)) == 15
    for scenario in scenarios:
        assert KEBAB_CASE.match(scenario.id), scenario.id
        assert scenario.id.startswith(f"{scenario.domain}-"), scenario.id


def test_stress15_covers_every_domain_and_probe_pair_once() -> None:
    pairs = Counter((s.domain, s.probe) for s in load_prompt_set().scenarios)
    expected = {(domain, probe) for domain in DOMAINS for probe in PROBES}
    assert set(pairs) == expected
    assert all(count == 1 for count in pairs.values())


def test_stress15_turns_are_within_bounds_and_users_react_only_where_underspecified() -> None:
    for scenario in load_prompt_set().scenarios:
        assert 1 <= len(scenario.turns) <= 4, scenario.id
        assert scenario.turns[0].user is not None and scenario.turns[0].user.strip()
        for turn in scenario.turns[1:]:
            if turn.simulated_user is not None:
                # A reactive user answers a clarifying question: it holds the deciding facts.
                assert scenario.probe == "underspecified", scenario.id
                assert turn.simulated_user.facts, scenario.id
            else:
                assert turn.user is not None and turn.user.strip(), scenario.id
        if scenario.probe == "underspecified":
            assert any(t.simulated_user is not None for t in scenario.turns), scenario.id
        if scenario.probe == "multiturn":
            assert len(scenario.turns) == 4, scenario.id
            assert scenario.pushback == "hearsay", scenario.id
        assert scenario.notes.strip(), f"{scenario.id}: notes are required"


def test_stress45_targets_every_dimension_at_least_8_times() -> None:
    from harness.config import load_spec
    from harness.sweep import prompt_coverage

    stress45 = load_spec("prompts", "stress45")
    stress15 = load_prompt_set()
    assert len(stress45.scenarios) == 45
    assert stress45.scenarios[:15] == stress15.scenarios
    counts = Counter(d for scenario in stress45.scenarios for d in scenario.targets)
    assert all(counts[d] >= 8 for d in DIMENSION_IDS), counts
    coverage = prompt_coverage(stress45, threshold=8)
    assert coverage.below_threshold == () and coverage.problems == ()
    variants = {s.variant_of: s for s in stress45.scenarios if s.variant_of}
    multiturn = [s.id for s in stress15.scenarios if s.probe == "multiturn"]
    assert sorted(variants) == sorted(multiturn)
    assert all(v.pushback == "evidence" for v in variants.values())


def test_stress15_targets_are_rubric_dimensions() -> None:
    rubric_ids = {d.id for d in load_rubric().dimensions}
    for scenario in load_prompt_set().scenarios:
        assert scenario.targets, scenario.id
        assert len(scenario.targets) == len(set(scenario.targets)), scenario.id
        assert set(scenario.targets) <= rubric_ids, scenario.id


def test_stress15_targets_fit_each_probe() -> None:
    for scenario in load_prompt_set().scenarios:
        targets = set(scenario.targets)
        if scenario.probe == "underspecified":
            assert "D2" in targets, scenario.id
        if scenario.probe == "checkable":
            assert "D3" in targets, scenario.id
        if scenario.probe == "multiturn":
            assert {"D1", "D4", "D5", "D6"} <= targets, scenario.id
        if len(scenario.turns) == 1:
            # The rubric makes these null for a single-turn conversation.
            assert not targets & {"D1", "D6"}, scenario.id


def test_stress15_text_names_no_vendor_model_or_scaffold() -> None:
    names = VENDOR_AND_MODEL_NAMES + all_scaffold_names()
    for scenario in load_prompt_set().scenarios:
        texts = [turn.user or "" for turn in scenario.turns] + [scenario.id, scenario.notes]
        for text in texts:
            assert forbidden_names_in(text, names) == [], f"{scenario.id}: {text[:60]!r}"


# --------------------------------------------------------------------------- rubric


def test_rubric_validates_and_is_named_after_its_file() -> None:
    assert "@package" not in RUBRIC_PATH.read_text(encoding="utf-8")
    rubric = load_rubric()
    assert rubric.name == RUBRIC_PATH.stem == "interactional8"
    assert "operationalisation" in rubric.description


def test_rubric_has_exactly_the_eight_dimensions_in_order() -> None:
    dimensions = load_rubric().dimensions
    assert [d.id for d in dimensions] == list(DIMENSION_IDS)
    assert {d.id: d.name for d in dimensions} == DIMENSION_NAMES


def test_rubric_dimensions_are_fully_anchored() -> None:
    for dimension in load_rubric().dimensions:
        assert dimension.definition.strip(), dimension.id
        assert sorted(dimension.levels) == [0, 1, 2], dimension.id
        anchors = [dimension.levels[level].strip() for level in (0, 1, 2)]
        assert all(anchors), dimension.id
        assert len(set(anchors)) == 3, f"{dimension.id}: levels must differ"
        assert dimension.not_applicable_when.strip(), dimension.id

"""The checks made on a scoring run's judges before any call (harness/score/judges.py)."""

from __future__ import annotations

import warnings

import pytest

from harness.errors import ConfigError
from harness.schema import JudgeSpec, content_hash
from harness.score.judge_template import BUILTIN_SYSTEM
from harness.score.judges import FamilyMatchWarning, check_judges, coder_hash
from harness.testing.fakes import FakeJudgeClient
from tests.score.mock_judge import MOCK_JUDGE

HEURISTIC = JudgeSpec(name="heuristic", kind="heuristic")
LLM = JudgeSpec(name="mockjudge", kind="llm", litellm_model="openai/mockjudge", family="acme")


def test_family_match_warns_case_insensitively() -> None:
    with pytest.warns(FamilyMatchWarning, match="'mockjudge' is of family 'acme'"):
        check_judges([LLM], FakeJudgeClient(), {"ACME", "other"})


def test_no_warning_for_other_families_or_the_heuristic() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FamilyMatchWarning)
        check_judges([HEURISTIC, LLM], FakeJudgeClient(), {"openai", "heuristic"})


def test_family_match_refusal() -> None:
    judge = LLM.model_copy(update={"on_family_match": "refuse"})
    with pytest.raises(ConfigError, match="family 'acme'") as caught:
        check_judges([HEURISTIC, judge], FakeJudgeClient(), {"acme"})
    assert "on_family_match: warn" in caught.value.one_line()


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="needs a provider client"):
        check_judges([LLM], None, set())
    check_judges([HEURISTIC], None, set())  # the heuristic needs no client
    with pytest.raises(ConfigError, match="selected twice"):
        check_judges([HEURISTIC, HEURISTIC], None, set())
    templated = LLM.model_copy(update={"prompt_template": "no slot here"})
    with pytest.raises(ConfigError, match="prompt_template") as caught:
        check_judges([templated], FakeJudgeClient(), set())
    assert caught.value.one_line().startswith(
        "configs/judges/mockjudge.yaml (its inline prompt_template, or else "
        "configs/judges/templates/per_dimension.md): prompt template ")
    from_file = templated.model_copy(update={"prompt_file": "templates/mine.md"})
    with pytest.raises(ConfigError, match=r"^configs/judges/templates/mine\.md: prompt template"):
        check_judges([from_file], FakeJudgeClient(), set())


def test_coder_hash_follows_the_config_and_its_prompt() -> None:
    filed = MOCK_JUDGE.model_copy(update={"family": "acme"})
    assert coder_hash(filed) == coder_hash(filed.model_copy())
    assert coder_hash(filed) != coder_hash(filed.model_copy(update={"max_parse_retries": 5}))
    assert coder_hash(filed) == content_hash(filed)
    edited = (filed.prompt_template or "") + "\nOne more rule."
    assert coder_hash(filed) != coder_hash(filed.model_copy(update={"prompt_template": edited}))
    # Without a system message of its own, the built-in one is part of what is hashed.
    assert coder_hash(LLM) != content_hash(LLM)
    assert coder_hash(LLM) == content_hash({"judge": LLM.model_dump(mode="json"),
                                            "builtin_system": BUILTIN_SYSTEM})
    # The heuristic's hash also covers its rule-set version, not only its config.
    assert coder_hash(HEURISTIC) != content_hash(HEURISTIC)

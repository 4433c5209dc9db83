"""Judge prompt templates: the file layout, the placeholders and the checks made before any
call (harness/score/judge_template.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.paths import project_root
from harness.score.judge_template import (
    BUILTIN_SYSTEM,
    DEFAULT_USER,
    PLACEHOLDERS,
    check_prompt_template,
    fill,
    parse_template,
)

TEMPLATES = project_root() / "configs" / "judges" / "templates"

GOOD = """A note for readers: {anything} here is never sent.
=== system ===
Code {dimension_ids}.
{rubric}
{reference_notes}
=== user ===
{transcript}
"""


@pytest.mark.parametrize("name", ["per_dimension.md", "joint.md"])
def test_shipped_templates_pass_the_check_and_document_every_placeholder(name: str) -> None:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    check_prompt_template(text, where=name)
    template = parse_template(text)
    assert not template.builtin_system
    header = text[: text.index("\n=== system ===\n")]
    for placeholder in PLACEHOLDERS:
        assert f"{{{placeholder}}}" in header, placeholder
        assert f"{{{placeholder}}}" in template.system + template.user, placeholder
    assert "{transcript}" in template.user and "{transcript}" not in template.system


def test_sections_split_at_the_marker_lines() -> None:
    template = parse_template(GOOD)
    assert template.system == "Code {dimension_ids}.\n{rubric}\n{reference_notes}"
    assert template.user == "{transcript}"
    assert "readers" not in template.system + template.user
    check_prompt_template(GOOD, where="good.md")


def test_no_template_and_a_user_only_template_use_the_builtin_system_message() -> None:
    assert parse_template(None) == parse_template(DEFAULT_USER)
    assert parse_template(None).system == BUILTIN_SYSTEM
    legacy = parse_template("Data:\n{transcript}")
    assert (legacy.system, legacy.user, legacy.builtin_system) == (
        BUILTIN_SYSTEM, "Data:\n{transcript}", True)
    check_prompt_template("Data:\n{transcript}", where="x")  # {rubric} is optional there
    check_prompt_template(DEFAULT_USER, where="x")


def test_fill_is_one_pass_and_leaves_json_braces_alone() -> None:
    text = '{"scores": {"{dimension_ids}": {"level": 0}}} {rubric}'
    assert fill(text, {"dimension_ids": "D3", "rubric": "{dimension_ids}"}) == (
        '{"scores": {"D3": {"level": 0}}} {dimension_ids}'
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no placeholder", "{transcript} exactly once"),
        ("{transcript} and {transcript}", "{transcript} exactly once"),
        ("{transcript} {refrence_notes}", "unknown placeholder(s) {refrence_notes}"),
        (GOOD.replace("{reference_notes}", "notes"), "must show the judge {reference_notes}"),
        (GOOD.replace("{rubric}", ""), "must show the judge {rubric}"),
        (GOOD.replace("Code {dimension_ids}.", "{transcript}"),
         "{transcript} belongs in the user message"),
        (GOOD.replace("=== user ===", "=== system ==="), "needs the line"),
        ("=== user ===\n{transcript}\n=== system ===\n{rubric} {reference_notes}",
         "needs the line"),
        ("=== system ===\n{rubric} {reference_notes}\n{transcript}", "needs the line"),
    ],
)
def test_bad_templates_are_config_errors_naming_the_file(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_prompt_template(text, where="configs/judges/templates/mine.md")
    message = caught.value.one_line()
    assert message.startswith("configs/judges/templates/mine.md: prompt template ")
    assert problem in message


def test_the_shipped_template_files_are_what_the_judges_name() -> None:
    from harness.config import load_spec

    for name in ("gpt4o_judge", "claude_judge"):
        judge = load_spec("judges", name)
        assert judge.mode == "per_dimension" and judge.dimensions == "all"
        path = Path(TEMPLATES.parent / judge.prompt_file)
        assert judge.prompt_template == path.read_text(encoding="utf-8")

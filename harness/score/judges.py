"""Which judges may score a run, and what identifies each: the checks made before any call.

This module owns the judge-selection rules of the score stage: no judge selected twice, an
LLM judge only with a provider client and a valid prompt template (``judge_template.py``),
and the judge-family check against the run's target models (judges may favour their own
vendor's models, so a match warns or, with ``on_family_match: refuse``, stops the stage). It
also owns a judge's content hash, stamped on each of its scores: the config with its prompt
template's text, plus the built-in system message when the judge uses it. It runs no judge
(``stage.py``, ``judge.py``, ``heuristic.py``) and reads no file: the caller passes the
target families.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from harness.errors import ConfigError
from harness.schema import JudgeSpec, content_hash
from harness.score.heuristic import HEURISTIC_VERSION
from harness.score.judge import ProviderClientLike
from harness.score.judge_template import BUILTIN_SYSTEM, check_prompt_template, parse_template

__all__ = [
    "FamilyMatchWarning",
    "check_judge_families",
    "check_judges",
    "coder_hash",
    "template_source",
]


class FamilyMatchWarning(UserWarning):
    """An LLM judge belongs to the same vendor family as a model it is scoring."""


def coder_hash(judge: JudgeSpec) -> str:
    """Content hash of a judge config (an LLM judge's prompt template included); for the
    heuristic it includes the rule-set version, for an LLM judge whose template has no system
    message the built-in one (``judge_template.BUILTIN_SYSTEM``)."""
    if judge.kind == "heuristic":
        return content_hash(
            {"judge": judge.model_dump(mode="json"), "heuristic_version": HEURISTIC_VERSION}
        )
    if parse_template(judge.prompt_template).builtin_system:
        return content_hash({"judge": judge.model_dump(mode="json"),
                             "builtin_system": BUILTIN_SYSTEM})
    return content_hash(judge)


def check_judges(judges: list[JudgeSpec], client: ProviderClientLike | None,
                 target_families: set[str]) -> None:
    """Check the judges of a scoring run before anything is read or called.

    Raises:
        ConfigError: duplicate judge names, an LLM judge without a client, an invalid
            prompt template (the error names its file), or a refused judge-family match.
    """
    names = [judge.name for judge in judges]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"judges: {', '.join(duplicates)} selected twice")
    for judge in judges:
        if judge.kind == "llm":
            if client is None:
                raise ConfigError(
                    f"configs/judges/{judge.name}.yaml: an llm judge needs a provider client",
                    fix="use judges=[heuristic] offline, or run with a provider configured",
                )
            if judge.prompt_template is not None:
                check_prompt_template(judge.prompt_template, where=template_source(judge))
    check_judge_families(judges, target_families)


def template_source(judge: JudgeSpec) -> str:
    """Where a judge's prompt template came from, for error messages."""
    if judge.prompt_file is not None:
        return f"configs/judges/{judge.prompt_file}"
    # Loading reads the default file into prompt_template without recording its name.
    return (f"configs/judges/{judge.name}.yaml (its inline prompt_template, or else "
            f"configs/judges/{judge.template_path()})")


def check_judge_families(judges: Iterable[JudgeSpec], target_families: set[str]) -> None:
    """Warn (``FamilyMatchWarning``) or refuse when an LLM judge shares a target's family.

    Raises:
        ConfigError: a judge with ``on_family_match: refuse`` shares a target's family.
    """
    targets = {family.casefold() for family in target_families}
    for judge in judges:
        if judge.kind != "llm" or judge.family is None:
            continue
        if judge.family.casefold() not in targets:
            continue
        message = (
            f"judge {judge.name!r} is of family {judge.family!r}, like a model it scores: "
            "judges may favour their own family"
        )
        if judge.on_family_match == "refuse":
            raise ConfigError(
                f"configs/judges/{judge.name}.yaml: {message}",
                fix="choose a judge from another family, or set on_family_match: warn",
            )
        warnings.warn(
            f"{message} (set on_family_match: refuse to stop instead)",
            FamilyMatchWarning,
            stacklevel=3,
        )

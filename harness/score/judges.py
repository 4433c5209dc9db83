"""Which judges may score a run, and what identifies each: the checks made before any call.

This module owns the judge-selection rules of the score stage: no judge selected twice, an
LLM judge only with a provider client and a valid ``prompt_template``, and the judge-family
check against the run's target models (judges may favour their own vendor's models, so a
match warns or, with ``on_family_match: refuse``, stops the stage). It also owns a judge's
content hash, stamped on each of its scores. It runs no judge (``stage.py``, ``judge.py``,
``heuristic.py``) and reads no file: the caller passes the target families.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from harness.errors import ConfigError
from harness.schema import JudgeSpec, content_hash
from harness.score.heuristic import HEURISTIC_VERSION
from harness.score.judge import ProviderClientLike
from harness.score.judge_prompt import check_prompt_template

__all__ = [
    "FamilyMatchWarning",
    "check_judge_families",
    "check_judges",
    "coder_hash",
]


class FamilyMatchWarning(UserWarning):
    """An LLM judge belongs to the same vendor family as a model it is scoring."""


def coder_hash(judge: JudgeSpec) -> str:
    """Content hash of a judge config; for the heuristic it includes the rule-set version."""
    if judge.kind == "heuristic":
        return content_hash(
            {"judge": judge.model_dump(mode="json"), "heuristic_version": HEURISTIC_VERSION}
        )
    return content_hash(judge)


def check_judges(judges: list[JudgeSpec], client: ProviderClientLike | None,
                 target_families: set[str]) -> None:
    """Check the judges of a scoring run before anything is read or called.

    Raises:
        ConfigError: duplicate judge names, an LLM judge without a client, an invalid
            ``prompt_template``, or a refused judge-family match.
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
                check_prompt_template(judge.prompt_template, judge_name=judge.name)
    check_judge_families(judges, target_families)


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

"""What differs between two protocols, element by element, and field by field within one.

``xstress protocol verify`` checks a run against a protocol file and ``xstress compare`` checks
two runs against each other; both name each difference (``scaffold verify: system differs``)
from the hashes of ``harness.config.protocol``'s treatment views, so the two commands and the
protocol hash can never disagree about what counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from harness.config.protocol import judge_view, player_view, scaffold_view
from harness.schema import ModelParams, ModelSpec, ProtocolFile

__all__ = ["Difference", "diff_protocols", "sampling_differences"]


@dataclass(frozen=True)
class Difference:
    """One treatment element that is not the same on both sides."""

    element: str
    """``scaffold``, ``scenario``, ``rubric dimension``, ``coder``, ``sampling``,
    ``replicates``, ``users`` or ``user model``."""
    key: str
    """Which one (a name or id; empty for single elements such as ``replicates``)."""
    what: str
    """``system differs``, ``only in <side>`` ..."""

    def __str__(self) -> str:
        return f"{self.element} {self.key}: {self.what}" if self.key else \
            f"{self.element}: {self.what}"


def _fields_differ(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return (", ".join(fields) + (" differ" if len(fields) > 1 else " differs")) if fields \
        else "differs"


def _keyed(element: str, left: Mapping[str, Any], right: Mapping[str, Any],
           view: Callable[[Any], Mapping[str, Any]], sides: tuple[str, str]) -> list[Difference]:
    differences = []
    for key in sorted(set(left) | set(right)):
        if key not in right:
            differences.append(Difference(element, key, f"only in {sides[0]}"))
        elif key not in left:
            differences.append(Difference(element, key, f"only in {sides[1]}"))
        else:
            a, b = view(left[key]), view(right[key])
            if a != b:
                differences.append(Difference(element, key, _fields_differ(a, b)))
    return differences


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def diff_protocols(left: ProtocolFile, right: ProtocolFile,
                   sides: tuple[str, str] = ("the protocol", "the run")) -> list[Difference]:
    """Every treatment element that differs between ``left`` and ``right`` (empty: the same
    protocol). ``sides`` name the two in messages (``only in the run``)."""
    differences = _keyed("scaffold", {s.name: s for s in left.scaffolds},
                         {s.name: s for s in right.scaffolds}, scaffold_view, sides)
    differences += _keyed("scenario", {s.id: s for s in left.prompts.scenarios},
                          {s.id: s for s in right.prompts.scenarios}, _dump, sides)
    if (left.rubric is None) != (right.rubric is None):
        differences.append(Difference("rubric", "", f"only in {sides[left.rubric is None]}"))
    elif left.rubric is not None and right.rubric is not None:
        differences += _keyed("rubric dimension", {d.id: d for d in left.rubric.dimensions},
                              {d.id: d for d in right.rubric.dimensions}, _dump, sides)
    differences += _keyed("coder", {j.name: j for j in left.judges},
                          {j.name: j for j in right.judges}, judge_view, sides)
    if left.sampling != right.sampling:
        differences.append(Difference("sampling", "", _fields_differ(
            _dump(left.sampling), _dump(right.sampling))))
    if left.replicates != right.replicates:
        differences.append(Difference("replicates", "",
                                      f"{left.replicates} vs {right.replicates}"))
    differences += _keyed("users", _single(left.users), _single(right.users), player_view, sides)
    differences += _keyed("user model", {m.name: m for m in left.user_models},
                          {m.name: m for m in right.user_models}, player_view, sides)
    return differences


def _single(model: ModelSpec | None) -> dict[str, ModelSpec]:
    """The run-level user model keyed by a fixed name, so it is compared on what it does."""
    return {"played by": model} if model is not None else {}


def sampling_differences(expected: ModelParams,
                         models: Sequence[ModelSpec]) -> list[Difference]:
    """Each model under test whose sampling is not the protocol's."""
    return [Difference("sampling", f"of model {m.name}",
                       _fields_differ(_dump(expected), _dump(m.params)))
            for m in models if m.params != expected]

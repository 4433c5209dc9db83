"""Is ``max_tokens`` enough for what a scaffold asks every reply to carry?

A reply that reaches ``params.max_tokens`` is cut off mid-answer (``finish_reason: length``);
coders then score a fragment. ``xstress plan`` warns before any call when a model's limit is
below what this module estimates a scaffold needs. The rule, in tokens:

    needed = 512                                  a plain answer
           + 64 x itemised fields                 each "- Label:" line of the system prompt
           + 128 x passes that replace the reply  the revision restates the whole answer

An itemised field is a list line of the system prompt that starts with a short label and a
colon (``- Claim:``, ``2. Confidence:``): the scaffold asks for it in every item of every reply.
It is a floor for a warning, not a promise: long scenarios need more. A model without
``max_tokens`` (the provider's default) is not checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.schema import ModelSpec, ScaffoldSpec

__all__ = ["BASE_REPLY_TOKENS", "LengthWarning", "length_warnings", "tokens_needed"]

BASE_REPLY_TOKENS = 512
"""Room for a plain answer to a stress-test scenario."""
TOKENS_PER_FIELD = 64
"""Room for one itemised field (a labelled line the scaffold asks of every item)."""
TOKENS_PER_REPLACING_PASS = 128
"""Extra room for a pass whose reply replaces the draft (it restates it with its fixes)."""

_FIELD = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+[A-Z][\w'/ -]{0,40}:(?:\s|$)")


@dataclass(frozen=True)
class LengthWarning:
    """A model whose ``max_tokens`` is below what a scaffold needs."""

    model: str
    """The model's name."""
    scaffold: str
    """The scaffold's name."""
    max_tokens: int
    """The model's ``params.max_tokens``."""
    needed: int
    """What the rule says the scaffold needs."""
    fields: int
    """Itemised fields in the scaffold's system prompt."""
    replacing_passes: int
    """Passes whose reply replaces the draft."""

    def describe(self) -> str:
        """One line for ``xstress plan``."""
        return (f"warning: {self.model} max_tokens {self.max_tokens} is low for scaffold "
                f"{self.scaffold} (needs about {self.needed}: {BASE_REPLY_TOKENS} + "
                f"{TOKENS_PER_FIELD} x {self.fields} itemised field(s) + "
                f"{TOKENS_PER_REPLACING_PASS} x {self.replacing_passes} replacing pass(es)); "
                f"replies may be cut off: raise params.max_tokens in "
                f"configs/models/{self.model}.yaml")


def itemised_fields(scaffold: ScaffoldSpec) -> int:
    """Labelled list lines (``- Claim:``) of the scaffold's system prompt."""
    return sum(1 for line in (scaffold.system or "").splitlines() if _FIELD.match(line))


def tokens_needed(scaffold: ScaffoldSpec) -> tuple[int, int, int]:
    """(tokens needed, itemised fields, replacing passes) for ``scaffold`` under the rule."""
    fields = itemised_fields(scaffold)
    replacing = sum(1 for scaffold_pass in scaffold.passes if scaffold_pass.replace_reply)
    needed = (BASE_REPLY_TOKENS + TOKENS_PER_FIELD * fields
              + TOKENS_PER_REPLACING_PASS * replacing)
    return needed, fields, replacing


def length_warnings(models: Sequence[ModelSpec],
                    scaffolds: Sequence[ScaffoldSpec]) -> list[LengthWarning]:
    """Every (model, scaffold) whose ``max_tokens`` is below the rule's need."""
    found: list[LengthWarning] = []
    for scaffold in scaffolds:
        needed, fields, replacing = tokens_needed(scaffold)
        for model in models:
            limit = model.params.max_tokens
            if limit is not None and limit < needed:
                found.append(LengthWarning(model.name, scaffold.name, limit, needed, fields,
                                           replacing))
    return found

"""How an LLM judge's calls are made, decided once per judge before its first call.

This module owns two decisions. **Structured output**: with ``structured_output: auto`` the
judge sends its reply's JSON schema (``judge_schema.py``) as ``response_format`` when litellm
says the model's provider enforces one; ``on`` sends it always (a local OpenAI-compatible
server, which litellm cannot know); ``off`` never. **The input limit**: the judge's
``max_input_tokens``, else litellm's model info; when one is known, every prompt is counted
with litellm's token counter before it is sent (``harness.providers.check_context``). What to
do with a prompt that cannot fit is ``judge.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.providers import ContextCheck, check_context, supports_response_schema
from harness.rundir import Message
from harness.schema import JudgeSpec

__all__ = ["JudgeSetup", "judge_setup"]


@dataclass(frozen=True)
class JudgeSetup:
    """How a judge's calls are made (the default: as before either decision existed)."""

    structured: bool = False
    """Send the reply schema as ``response_format``."""
    check: Callable[[Sequence[Message]], ContextCheck] | None = None
    """Checks a prompt against the judge model's input limit; None: nothing is checked."""


def judge_setup(judge: JudgeSpec) -> JudgeSetup:
    """The setup of an ``llm`` judge: structured output and its input-limit check.

    litellm is asked (offline) only for ``structured_output: auto``, and for the limit when the
    judge gives none.
    """
    model = judge.as_model_spec()
    if judge.structured_output == "auto":
        structured = supports_response_schema(model)
    else:
        structured = judge.structured_output == "on"

    def check(messages: Sequence[Message]) -> ContextCheck:
        return check_context(model, messages)

    return JudgeSetup(structured=structured, check=check)

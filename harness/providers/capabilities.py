"""What a model can take before it is called: its input limit, a prompt's size, a reply schema.

Owns three questions asked of litellm (imported lazily, offline) before a call is made: does
the provider enforce a JSON schema on the reply (``litellm.supports_response_schema``), how
many prompt tokens does the model accept (a config's ``max_input_tokens``, else
``litellm.get_model_info``), and how many tokens is a prompt (``litellm.token_counter``). A
model litellm does not know (a local server's) has no known limit unless its config gives one,
and then nothing is checked. It makes no call and decides nothing: the sweep ends a cell whose
turn cannot fit, the judge splits or leaves unscored a prompt that cannot fit.

Token counts are litellm's: exact for the models it has a tokenizer for, an estimate with a
general-purpose tokenizer for the others (open-weight models' own tokenizers may count some
per cent more; leave a margin in ``max_input_tokens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harness.providers.litellm_import import load_litellm
from harness.rundir import Message
from harness.schema import ModelSpec

__all__ = [
    "ContextCheck",
    "check_context",
    "context_limit",
    "count_prompt_tokens",
    "supports_response_schema",
]

LimitSource = Literal["config", "litellm"]

# Every chat message costs a few tokens of framing beyond its text (role, separators).
_PER_MESSAGE_OVERHEAD = 8
_PER_PROMPT_OVERHEAD = 16


def supports_response_schema(model: ModelSpec) -> bool:
    """True when litellm says the model's provider constrains replies to a JSON schema.

    False for simulated models and for any model string litellm does not know.
    """
    if model.simulated:
        return False
    litellm = load_litellm()
    try:
        return bool(litellm.supports_response_schema(model=model.litellm_model))
    except Exception:  # an unmapped model: litellm cannot say, so no
        return False


def context_limit(model: ModelSpec) -> tuple[int, LimitSource] | None:
    """The most prompt tokens the model accepts and where that figure comes from: the
    config's ``max_input_tokens``, else litellm's model info; None when neither knows
    (simulated models, models litellm has not mapped)."""
    if model.max_input_tokens is not None:
        return model.max_input_tokens, "config"
    if model.simulated:
        return None
    if model.litellm_model not in _LITELLM_LIMITS:
        # Asked before every call of a sweep: look each model up once per process.
        _LITELLM_LIMITS[model.litellm_model] = _litellm_limit(model.litellm_model)
    limit = _LITELLM_LIMITS[model.litellm_model]
    return None if limit is None else (limit, "litellm")


_LITELLM_LIMITS: dict[str, int | None] = {}


def _litellm_limit(litellm_model: str) -> int | None:
    litellm = load_litellm()
    try:
        info = litellm.get_model_info(litellm_model)
    except Exception:  # ModelNotMappedError and kin: no figure to check against
        return None
    limit = info.get("max_input_tokens") if isinstance(info, dict) else None
    return int(limit) if isinstance(limit, int) and limit > 0 else None


def count_prompt_tokens(model: ModelSpec, messages: Sequence[Message]) -> int:
    """litellm's token count of ``messages`` for the model (chat framing included)."""
    litellm = load_litellm()
    return int(litellm.token_counter(
        model=model.litellm_model,
        messages=[{"role": m.role, "content": m.content} for m in messages]))


@dataclass(frozen=True)
class ContextCheck:
    """Whether a prompt fits the model's input limit."""

    fits: bool
    tokens: int | None
    """The prompt's token count; None when the check needed none (no limit, or the prompt is
    too short to reach it however it is tokenised)."""
    limit: int | None
    """The limit checked against; None when none is known."""
    source: LimitSource | None
    """Where the limit comes from."""

    def describe(self, what: str) -> str:
        """One line for a record: ``<what> is N tokens (litellm's count), over the limit of M
        (max_input_tokens in the config | litellm's model info)``."""
        where = ("max_input_tokens in its config" if self.source == "config"
                 else "litellm's model info")
        return (f"{what} is {self.tokens} tokens (litellm's count), over the model's input "
                f"limit of {self.limit} ({where}); not sent")


def check_context(model: ModelSpec, messages: Sequence[Message]) -> ContextCheck:
    """Check ``messages`` against the model's input limit before a call.

    Counting tokens costs time, so a prompt whose UTF-8 size (plus framing) is within the
    limit passes uncounted: a byte-level tokenizer never makes more tokens than bytes.
    """
    known = context_limit(model)
    if known is None:
        return ContextCheck(True, None, None, None)
    limit, source = known
    upper_bound = (sum(len(m.content.encode("utf-8")) for m in messages)
                   + _PER_MESSAGE_OVERHEAD * len(messages) + _PER_PROMPT_OVERHEAD)
    if upper_bound <= limit:
        return ContextCheck(True, None, limit, source)
    tokens = count_prompt_tokens(model, messages)
    return ContextCheck(tokens <= limit, tokens, limit, source)

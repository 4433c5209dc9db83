"""The judge reply's JSON schema, sent as ``response_format`` where the provider enforces it.

This module owns the schema form of the reply format that ``judge_reply.JudgeReply`` validates:
``{"scores": {"<id>": {"level", "reason", "rationale", "evidence"}}}`` with exactly the call's
dimension ids, every field present, nothing else. It is written in the subset of JSON Schema
that constraining providers accept (OpenAI's strict structured outputs; llama.cpp's and vLLM's
grammar-constrained decoding): objects with every property required and no additional ones,
``type`` lists for nullable fields, ``enum`` for the level. What the schema cannot say (a
reason whenever the level is null, a non-empty rationale, a quote whenever a level is given, a
quote found in the conversation) the pydantic validation still checks on every reply, so a
constrained reply is never trusted for being constrained. Whether a judge sends the schema is
``judge_setup.py``'s; the call is ``judge.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["RESPONSE_FORMAT_NAME", "judge_reply_schema", "judge_response_format"]

RESPONSE_FORMAT_NAME = "xstress_judge_reply"
"""The schema's name in ``response_format`` (providers show it in errors and logs)."""


def _verdict_schema() -> dict[str, Any]:
    """One dimension's verdict: ``judge_reply.JudgeVerdict``'s fields, all present."""
    return {
        "type": "object",
        "properties": {
            "level": {"type": ["integer", "null"], "enum": [0, 1, 2, None]},
            "reason": {"type": ["string", "null"]},
            "rationale": {"type": "string"},
            "evidence": {"type": "string"},
        },
        "required": ["level", "reason", "rationale", "evidence"],
        "additionalProperties": False,
    }


def judge_reply_schema(dimension_ids: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a reply coding exactly ``dimension_ids``."""
    ids = list(dimension_ids)
    return {
        "type": "object",
        "properties": {
            "scores": {
                "type": "object",
                "properties": {d: _verdict_schema() for d in ids},
                "required": ids,
                "additionalProperties": False,
            },
        },
        "required": ["scores"],
        "additionalProperties": False,
    }


def judge_response_format(dimension_ids: Sequence[str]) -> dict[str, Any]:
    """litellm's ``response_format`` for a call coding ``dimension_ids`` (strict JSON schema)."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": RESPONSE_FORMAT_NAME,
            "schema": judge_reply_schema(dimension_ids),
            "strict": True,
        },
    }

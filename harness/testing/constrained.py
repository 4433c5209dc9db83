"""The test server's schema-enforcing mode: what a constrained decoder would let through.

A provider that enforces ``response_format`` (OpenAI's strict structured outputs; llama.cpp's
and vLLM's grammar-constrained decoding) can only emit text that parses as JSON matching the
request's schema. This module plays that part for the test server: a scripted reply that
already matches is sent as it is; a reply whose prose surrounds a matching JSON object is cut
down to that object (a constrained decoder would never have emitted the prose); any other
reply is refused, because no constrained server could have produced it. It validates with
``jsonschema`` (a reference implementation, installed with litellm). It decides nothing else
about a request (``chat_handlers``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Constrained", "constrain_reply", "requested_schema"]


def requested_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a chat request asks the reply to match, if it asks for one.

    ``response_format`` as OpenAI (and litellm) send it: ``{"type": "json_schema",
    "json_schema": {"name": ..., "schema": {...}, "strict": true}}``.
    """
    response_format = body.get("response_format")
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return dict(schema) if isinstance(schema, Mapping) else None


@dataclass(frozen=True)
class Constrained:
    """A scripted reply after constraining: the text to send, or why none can be sent."""

    text: str | None
    """The reply, a JSON document matching the schema; None when refused."""
    error: str | None = None
    """Why the reply cannot match the schema."""


def constrain_reply(text: str, schema: Mapping[str, Any]) -> Constrained:
    """``text`` as a constrained decoder would have emitted it under ``schema``."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    validator = Draft202012Validator(dict(schema))
    decoder = json.JSONDecoder()
    first_error = "no JSON object in the reply"
    start = text.find("{")
    while start >= 0:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if not errors:
            return Constrained(text=text[start:end])
        where = "/".join(str(part) for part in errors[0].path) or "(top level)"
        first_error = f"{where}: {errors[0].message}"
        start = text.find("{", end)
    return Constrained(text=None, error=first_error)

"""The ground floor of every config shape: names, dimension ids, the spec base, content hashes.

Content hashes (sha256 of canonical JSON) identify configs and scenarios: two runs are
comparable exactly when their hashes match. This module owns that definition and the base
class every config spec derives from; it defines no spec itself.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DIMENSION_IDS",
    "NAME_PATTERN",
    "DimensionId",
    "Name",
    "Spec",
    "canonical_json",
    "content_hash",
]

DIMENSION_IDS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8")
DimensionId = Annotated[str, Field(pattern=r"^D[1-9][0-9]*$")]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=80)]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the input of every content hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of ``value`` (a pydantic model or plain data)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


class Spec(BaseModel):
    """A config object: frozen, unknown fields are errors, field docstrings are descriptions
    (``xstress <command> --help`` prints them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

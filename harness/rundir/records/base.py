"""The two bases of every record: frozen, unknown fields forbidden.

``Record`` is for a top-level record with a ``schema`` field (spelled ``schema_`` in Python,
since ``BaseModel.schema`` exists); ``StrictRecord`` for the objects nested inside records.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Record", "StrictRecord"]


class StrictRecord(BaseModel):
    """A record part: frozen, and a field it does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Record(BaseModel):
    """A top-level record: like ``StrictRecord``, and its ``schema`` field is written under
    that name (``model_dump(by_alias=True)``) while Python code may say ``schema_``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

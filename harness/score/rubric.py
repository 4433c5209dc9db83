"""The rubric as coders use it: loading a rubric file, rendering it for a judge prompt, and the
result of coding one dimension.

This module owns how a ``RubricSpec`` is shown to a coder (the text block an LLM judge reads)
and ``DimensionCode``, the coder-neutral result that the heuristic and the LLM judge both
produce and that scoring turns into ``ScoreRecord`` lines. It does not define the rubric's
shape (``schema.RubricSpec``) nor where config files live (``config.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.config import load_spec, load_spec_file
from harness.rundir import JudgeAttempt, ScoreRecord
from harness.schema import RubricSpec, content_hash

__all__ = [
    "DimensionCode",
    "format_rubric",
    "load_rubric",
    "load_rubric_file",
    "rubric_hash",
]

CodeStatus = Literal["scored", "null", "unscored"]


@dataclass(frozen=True)
class DimensionCode:
    """One coder's result on one dimension of one item, before it gets a coder's identity.

    ``level`` is set exactly when ``status == "scored"``; ``reason`` is required otherwise
    (the same invariant as ``ScoreRecord``, which checks it again on conversion).
    """

    dimension: str
    status: CodeStatus
    level: int | None = None
    reason: str | None = None
    rationale: str | None = None
    evidence: str | None = None
    evidence_found: bool | None = None
    """Whether the evidence quote occurs in the conversation (LLM judges; None otherwise)."""
    raw: str | None = None
    path: Literal["structured", "parsed"] | None = None
    """LLM judges: whether the reply came under ``response_format`` (``ScoreRecord.path``)."""
    asks: int | None = None
    """LLM judges: replies asked for before this code (``ScoreRecord.asks``)."""
    context_split: bool | None = None
    """LLM judges: asked alone because the joint prompt did not fit (``ScoreRecord``)."""
    attempts: tuple[JudgeAttempt, ...] = ()
    """LLM judges: the replies asked for, when one was not used (``ScoreRecord.attempts``)."""

    def to_record(
        self,
        *,
        blind_id: str,
        coder: str,
        coder_kind: Literal["llm_judge", "heuristic", "human"],
        rubric_hash: str,
        coder_hash: str | None,
        scored_at: str,
    ) -> ScoreRecord:
        """The on-disk record for this code, attributed to ``coder``."""
        return ScoreRecord(
            blind_id=blind_id,
            dimension=self.dimension,
            coder=coder,
            coder_kind=coder_kind,
            status=self.status,
            level=self.level,
            reason=self.reason,
            rationale=self.rationale,
            evidence=self.evidence,
            evidence_found=self.evidence_found,
            raw=self.raw,
            path=self.path,
            asks=self.asks,
            context_split=self.context_split,
            attempts=list(self.attempts),
            rubric_hash=rubric_hash,
            coder_hash=coder_hash,
            scored_at=scored_at,
        )


def rubric_hash(rubric: RubricSpec) -> str:
    """Content hash of the rubric, stamped on every score so mixed rubrics are detectable."""
    return content_hash(rubric)


def load_rubric(name: str = "interactional8") -> RubricSpec:
    """The named rubric (``configs/rubric/<name>.yaml``), validated.

    Raises:
        ConfigError: no such file, invalid YAML, or a field that does not validate.
    """
    rubric = load_spec("rubric", name)
    assert isinstance(rubric, RubricSpec)
    return rubric


def load_rubric_file(path: Path) -> RubricSpec:
    """A rubric given as a path (its ``name`` must equal the file name), validated.

    Raises:
        ConfigError: the file is missing, is not YAML, or does not validate.
    """
    rubric = load_spec_file("rubric", path)
    assert isinstance(rubric, RubricSpec)
    return rubric


def format_rubric(rubric: RubricSpec, dimension_ids: Sequence[str] | None = None) -> str:
    """The rubric as plain text for a judge prompt: per dimension its id, name, definition,
    the anchor of each level, and when to give null instead of a level.

    Args:
        rubric: the rubric.
        dimension_ids: only these dimensions (in rubric order); None for all of them.
    """
    wanted = None if dimension_ids is None else set(dimension_ids)
    blocks: list[str] = []
    for dimension in rubric.dimensions:
        if wanted is not None and dimension.id not in wanted:
            continue
        lines = [
            f"{dimension.id}: {dimension.name}",
            f"  Definition: {_one_paragraph(dimension.definition)}",
        ]
        for level in (0, 1, 2):
            lines.append(f"  Level {level}: {_one_paragraph(dimension.levels[level])}")
        if dimension.not_applicable_when.strip():
            lines.append(
                f"  Give null (with a reason) when: {_one_paragraph(dimension.not_applicable_when)}"
            )
        else:
            lines.append(
                "  Give null (with a reason) only if the conversation gives nothing to judge "
                "on this dimension."
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _one_paragraph(text: str) -> str:
    # YAML block scalars carry line breaks that would break the indented layout.
    return " ".join(text.split())

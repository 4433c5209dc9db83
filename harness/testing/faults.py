"""Fault scripts of the local test server: what one attempt of a request should fail with.

This module owns the ``Fault`` value (an HTTP error status with optional ``Retry-After``
headers, a content-policy refusal, a hang past the client's timeout, a connection closed with
no answer, or a success whose body is cut off mid-way) and its JSON form,
which the ``--faults`` and ``--always`` flags of ``python -m harness.testing.testserver``
accept. It does not decide which attempt gets which fault (``chat_handlers`` does) nor how a
fault is put on the wire (``chat_wire`` does).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Fault"]


@dataclass(frozen=True)
class Fault:
    """One scripted failure of one attempt. Build it with the class methods, not directly."""

    kind: Literal["status", "timeout", "content_policy", "reset", "truncated"]
    status_code: int = 200
    """HTTP status answered (400 for ``content_policy``; 504 if a hang outlives its client; 0
    for ``reset``, which answers nothing; 200 for ``truncated``, whose headers do go out)."""
    retry_after_s: float | None = None
    """Seconds sent in the ``Retry-After`` header, if any."""
    retry_after_ms: int | None = None
    """Milliseconds sent in the ``retry-after-ms`` header, if any."""
    hang_s: float | None = None
    """For ``timeout``: seconds to hold the request open; None uses the server's ``hang_s``."""

    @classmethod
    def status(
        cls, code: int, *, retry_after: float | None = None, retry_after_ms: int | None = None
    ) -> Fault:
        """An HTTP error with an OpenAI-style JSON body (and optional Retry-After headers)."""
        if not 400 <= code <= 599:
            raise ValueError(f"fault status must be an HTTP error code 400-599, got {code}")
        return cls("status", code, retry_after, retry_after_ms)

    @classmethod
    def timeout(cls, hang_s: float | None = None) -> Fault:
        """Hold the request open past the client's timeout; the server's stop ends it early."""
        return cls("timeout", 504, hang_s=hang_s)

    @classmethod
    def content_policy(cls) -> Fault:
        """A 400 whose body litellm maps to ``ContentPolicyViolationError``."""
        return cls("content_policy", 400)

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection without answering (a peer reset, as the client sees it)."""
        return cls("reset", 0)

    @classmethod
    def truncated(cls) -> Fault:
        """Send a success's headers and half its body, then close the connection."""
        return cls("truncated", 200)

    @property
    def label(self) -> str:
        """Short name used in records: the status code, or the kind for the other faults."""
        return str(self.status_code) if self.kind == "status" else self.kind

    def to_json(self) -> dict[str, Any]:
        """The JSON form accepted by :meth:`from_json` (and the ``--faults`` flag)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, value: Any) -> Fault:
        """Parse ``429``, a kind's name (``"timeout"``, ``"reset"`` ...) or a :meth:`to_json`
        object."""
        if isinstance(value, int) and not isinstance(value, bool):
            return cls.status(value)
        if isinstance(value, str) and value in _SIMPLE:
            return _SIMPLE[value]()
        if isinstance(value, dict) and value.get("kind") in ("status", "timeout", *_SIMPLE):
            unknown = set(value) - {"kind", *_FAULT_FIELDS}
            if unknown:
                raise ValueError(f"unknown fault fields {sorted(unknown)} in {value!r}")
            if value["kind"] == "status":
                return cls.status(
                    int(value["status_code"]),
                    retry_after=value.get("retry_after_s"),
                    retry_after_ms=value.get("retry_after_ms"),
                )
            if value["kind"] == "timeout":
                return cls.timeout(value.get("hang_s"))
            return _SIMPLE[value["kind"]]()
        raise ValueError(
            f"cannot read fault {value!r}: use a status code (429), one of {sorted(_SIMPLE)} "
            'or {"kind": ..., ...}'
        )


_FAULT_FIELDS = ("status_code", "retry_after_s", "retry_after_ms", "hang_s")
_SIMPLE = {"timeout": Fault.timeout, "content_policy": Fault.content_policy,
           "reset": Fault.reset, "truncated": Fault.truncated}

"""The retry policy: classify provider errors, and how long to wait (honouring Retry-After).

litellm and the openai SDK each retry on their own by default; xstress turns both off
(``max_retries=0``) so that every HTTP attempt is decided here and recorded by the one retry
loop (``attempts.py``). Classification follows the openai base classes plus the HTTP status
code, because litellm's exception names do not nest as they suggest (``Timeout`` is not an
``APIConnectionError``; 502/503 are not ``InternalServerError``).
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Literal

from harness.providers.redact import redact

__all__ = [
    "FATAL_STATUS",
    "RETRYABLE_STATUS",
    "Classified",
    "backoff_seconds",
    "classify",
    "retry_after_seconds",
]

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
FATAL_STATUS = frozenset({400, 401, 403, 404, 422})
AUTH_STATUS = frozenset({401, 403})

Outcome = Literal["retryable", "fatal", "blocked"]


@dataclass(frozen=True)
class Classified:
    """What to do about one failed attempt."""

    outcome: Outcome
    error_class: str
    status_code: int | None
    message: str
    retry_after_s: float | None
    auth_failure: bool = False


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_seconds(exc: BaseException, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``retry-after``), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        milliseconds = headers.get("retry-after-ms")
        if milliseconds is not None:
            return max(0.0, float(milliseconds) / 1000.0)
        value = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, parsed.timestamp() - current)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _transport_failure(exc: BaseException) -> BaseException | None:
    """The deepest connection-level cause under ``exc`` (a reset, a refused connection, a
    broken stream), or None when the failure is not one (timeouts are classified apart)."""
    import openai

    found: BaseException | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, openai.APITimeoutError | TimeoutError):
            return None
        if isinstance(current, openai.APIConnectionError | ConnectionError):
            found = current
        current = current.__cause__ or current.__context__
    return found


def classify(exc: BaseException) -> Classified:
    """Decide whether a failed attempt is retried, fatal, or a content-policy block."""
    import openai
    from litellm.exceptions import ContentPolicyViolationError, Timeout

    name = type(exc).__name__
    status = _status_of(exc)
    # Redacted before shortening: a cut could leave part of a key that no longer matches.
    message = _short(redact(str(exc)))
    retry_after = retry_after_seconds(exc)
    if isinstance(exc, ContentPolicyViolationError):
        return Classified("blocked", name, status, message, None)
    if isinstance(exc, openai.APITimeoutError | Timeout | TimeoutError):
        return Classified("retryable", name, status, message, retry_after)
    transport = _transport_failure(exc)
    if transport is not None and status in (None, 500):
        # litellm reports a reset or refused connection as an HTTP 500 that never happened.
        cause = _short(redact(str(transport)), 120)
        return Classified("retryable", type(transport).__name__, None,
                          f"{message} ({cause})" if cause not in message else message, None)
    if status in AUTH_STATUS:
        return Classified("fatal", name, status, message, None, auth_failure=True)
    if status in RETRYABLE_STATUS:
        return Classified("retryable", name, status, message, retry_after)
    if status in FATAL_STATUS:
        return Classified("fatal", name, status, message, None)
    if isinstance(exc, openai.APIConnectionError):
        return Classified("retryable", name, status, message, retry_after)
    if isinstance(exc, openai.APIStatusError) and status is not None and status >= 500:
        return Classified("retryable", name, status, message, retry_after)
    return Classified("fatal", name, status, message, None)


def backoff_seconds(attempt: int, *, base_s: float, cap_s: float, rng: random.Random,
                    retry_after_s: float | None) -> float:
    """Exponential backoff with full jitter; never shorter than the server's Retry-After."""
    exponential = min(cap_s, base_s * (2 ** (attempt - 1)))
    jittered = rng.uniform(exponential / 2, exponential)
    return max(jittered, retry_after_s or 0.0)

"""Error classification and backoff (harness/providers/retrying.py), on real litellm exception
classes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import litellm
import pytest

from harness.providers.retrying import backoff_seconds, classify, retry_after_seconds


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    return httpx.Response(status, headers=headers or {}, request=request)


def make(cls: type[Exception], status: int, headers: dict[str, str] | None = None) -> Exception:
    return cls(message="boom", llm_provider="openai", model="m",  # type: ignore[call-arg]
               response=response(status, headers))


@pytest.mark.parametrize(
    ("exc", "outcome", "auth"),
    [
        (make(litellm.RateLimitError, 429), "retryable", False),
        (make(litellm.InternalServerError, 500), "retryable", False),
        (make(litellm.BadGatewayError, 502), "retryable", False),
        (make(litellm.ServiceUnavailableError, 503), "retryable", False),
        (litellm.Timeout(message="slow", model="m", llm_provider="openai"), "retryable", False),
        (litellm.APIConnectionError(message="refused", llm_provider="openai", model="m"),
         "retryable", False),
        (make(litellm.BadRequestError, 400), "fatal", False),
        (make(litellm.NotFoundError, 404), "fatal", False),
        (make(litellm.AuthenticationError, 401), "fatal", True),
        (make(litellm.ContentPolicyViolationError, 400), "blocked", False),
    ],
)
def test_classification(exc: Exception, outcome: str, auth: bool) -> None:
    classified = classify(exc)
    assert classified.outcome == outcome
    assert classified.auth_failure is auth
    assert classified.error_class == type(exc).__name__


def test_retry_after_forms() -> None:
    assert retry_after_seconds(make(litellm.RateLimitError, 429, {"retry-after": "7"})) == 7.0
    assert retry_after_seconds(make(litellm.RateLimitError, 429,
                                    {"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    now = datetime(2026, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    exc = make(litellm.RateLimitError, 429, {"retry-after": date})
    assert retry_after_seconds(exc, now=now.timestamp()) == pytest.approx(30.0)
    assert retry_after_seconds(make(litellm.RateLimitError, 429, {"retry-after": "soon"})) is None
    assert retry_after_seconds(make(litellm.RateLimitError, 429)) is None


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    rng = random.Random(0)
    waits = [backoff_seconds(n, base_s=1.0, cap_s=8.0, rng=rng, retry_after_s=None)
             for n in range(1, 8)]
    for number, wait in enumerate(waits, start=1):
        ceiling = min(8.0, 2 ** (number - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert backoff_seconds(1, base_s=1.0, cap_s=8.0, rng=rng, retry_after_s=20.0) == 20.0

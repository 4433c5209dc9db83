"""The OpenAI chat wire format as the local test server speaks it.

This module owns what goes over HTTP and nothing of the server's state: the fingerprint that
identifies a request's messages, the deterministic token count, the OpenAI-style error bodies
(chosen so litellm maps each status to the exception class a real provider's would become),
the ``chat.completion`` body of a success, and the two broken answers (a connection closed
before a byte, a body cut off mid-way). Which reply or fault a request gets is decided
in ``chat_handlers``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from harness.testing.faults import Fault

__all__ = [
    "CONTENT_POLICY_BODY",
    "CREATED",
    "ERROR_BODIES",
    "VERSION_SUFFIX",
    "ChatMessage",
    "broken_response",
    "chat_completion_response",
    "cut_to_tokens",
    "error_body",
    "error_response",
    "estimate_tokens",
    "message_text",
    "messages_fingerprint",
]

ChatMessage = dict[str, Any]
"""One message as it arrives on the wire (OpenAI chat format)."""

CREATED = 1767225600  # 2026-01-01T00:00:00Z: a fixed value keeps responses reproducible.
VERSION_SUFFIX = "-2026-01-01"

# (type, code, message) of the error body per status. 403 and 5xx avoid the type
# "invalid_request_error" because litellm maps that type to BadRequestError whatever the status.
ERROR_BODIES: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request: injected test fault."),
    401: ("invalid_request_error", "invalid_api_key", "Invalid authentication credentials."),
    403: ("permission_error", "forbidden", "You are not allowed to use this model."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", "bad_gateway", "Bad gateway."),
    503: ("server_error", "service_unavailable", "The service is temporarily unavailable."),
}
# litellm matches the *message* (not the code) against known provider phrasings; this is
# OpenAI's wording for flagged prompts and maps to ContentPolicyViolationError.
CONTENT_POLICY_BODY = (
    "invalid_request_error",
    "content_policy_violation",
    "Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
)


def messages_fingerprint(messages: Sequence[Mapping[str, Any]]) -> str:
    """sha256 (hex) of the canonical JSON of a message list, as the server computes it.

    Args:
        messages: The ``messages`` array of a chat request.

    Returns:
        The hex digest that identifies the request in records and fault scripts.
    """
    canonical = json.dumps(
        list(messages), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def estimate_tokens(text: str) -> int:
    """Deterministic token count: whitespace words / 0.75, rounded (``(4 * words + 1) // 3``)."""
    return (4 * len(text.split()) + 1) // 3


def message_text(message: Mapping[str, Any]) -> str:
    """The text of one message: its string content, or the text parts of multi-part content."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multi-part content: keep the text parts only
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def error_body(status: int) -> tuple[str, str | None, str]:
    """The (type, code, message) of the error body answered with ``status``."""
    # Unlisted codes get a neutral type so litellm classifies them by status code alone.
    return ERROR_BODIES.get(status, ("api_error", None, f"Injected HTTP {status} error."))


def error_response(status: int, body: tuple[str, str | None, str],
                   fault: Fault | None = None) -> web.Response:
    """An OpenAI-style error response, with the fault's ``Retry-After`` headers if it has any."""
    kind, code, message = body
    headers: dict[str, str] = {}
    if fault is not None and fault.retry_after_s is not None:
        headers["Retry-After"] = format(fault.retry_after_s, "g")
    if fault is not None and fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(payload, status=status, headers=headers)


def cut_to_tokens(text: str, max_tokens: int) -> str | None:
    """``text`` cut to at most ``max_tokens`` (counted as ``estimate_tokens`` does), or None
    when it already fits: what a server does to a reply that reaches the request's limit."""
    words = text.split()
    if estimate_tokens(text) <= max_tokens:
        return None
    keep = len(words)
    while keep and (4 * keep + 1) // 3 > max_tokens:
        keep -= 1
    return " ".join(words[:keep])


def chat_completion_response(requested: str, model: str, text: str,
                             messages: list[ChatMessage], response_id: str,
                             finish_reason: str = "stop") -> web.Response:
    """A ``chat.completion`` answering ``messages`` with ``text``, with deterministic usage.

    Args:
        requested: The model name as the client sent it (provider prefix included).
        model: The model name with any provider prefix removed.
        text: The assistant's reply.
        messages: The request's messages, counted for ``prompt_tokens``.
        response_id: The id after ``chatcmpl-``.
        finish_reason: ``stop``, or ``length`` for a reply cut at the request's ``max_tokens``.

    Returns:
        The JSON response, reporting ``requested`` plus a dated version suffix as its model.
    """
    prompt_tokens = sum(estimate_tokens(message_text(m)) for m in messages
                        if isinstance(m, dict))
    completion_tokens = estimate_tokens(text)
    return web.json_response({
        "id": f"chatcmpl-{response_id}",
        "object": "chat.completion",
        "created": CREATED,
        "model": requested + VERSION_SUFFIX,
        "system_fingerprint": "fp_" + hashlib.sha256(model.encode()).hexdigest()[:10],
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish_reason,
            "logprobs": None,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    })


async def broken_response(request: web.Request,
                          success: web.Response | None) -> web.StreamResponse:
    """Close the connection with no answer (``success`` None), or mid-way through ``success``.

    Cut off, the client has the success's status and headers (its full ``Content-Length``)
    and half of its body, then the connection ends: what a dropped link looks like.
    """
    transport = request.transport
    if success is None or not isinstance(success.body, bytes):
        if transport is not None:
            transport.close()
        return web.Response(status=500)  # never reaches the client: the connection is gone
    body = success.body
    response = web.StreamResponse(status=success.status, headers={
        "Content-Type": "application/json", "Content-Length": str(len(body))})
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if transport is not None:
        transport.close()
    return response

"""The one redactor: provider text loses every API key before it is stored, printed or logged.

A provider, gateway or proxy may echo what it was sent: an error body that quotes the
``Authorization`` header puts the key into the message of the exception litellm raises, and
from there into attempts, call and cell errors, the sweep's summary and the log. Every string
that came from a provider therefore passes through ``redact`` at the boundary, where the
client turns an exception or a reply into a record (``retrying.classify``, ``client.py``),
and litellm's own log lines pass through ``RedactingFilter``.

Two kinds of secret are removed: the values of the keys this process knows (every variable
named by a model's ``api_key_env`` once it is used, and any environment variable whose name
says it holds a secret: ``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``), and strings shaped
like keys (``Bearer ...``, ``sk-...``, ``AIza...``, ``api_key=...``), which covers a key this
process never saw (a gateway's own). Replies of a model lose only the known values: a reply
may legitimately show a made-up ``sk-...`` example, and it is data to be coded.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

__all__ = ["REDACTED", "RedactingFilter", "known_secrets", "redact", "redact_known",
           "register_secret"]

REDACTED = "[REDACTED]"
"""What a removed secret is replaced by."""

MIN_SECRET_CHARS = 8
"""Shorter values are not treated as secrets (replacing ``abc`` everywhere would mangle text)."""

_SECRET_NAME = re.compile(r"(?:^|_)(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.IGNORECASE)
_KEY_SHAPES = (
    # An Authorization header's value, whatever the scheme's token looks like.
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{6,}"),
    # name: value / name=value pairs of the usual key fields (JSON, headers, query strings),
    # the value after an optional scheme (``Authorization: Basic dXNlcjpw...``).
    re.compile(r"(?i)((?:x-)?api[-_]?key|authorization|access[-_]?token|secret)"
               r"([\"']?\s*[:=]\s*[\"']?(?:(?:basic|token|bearer)\s+)?)(?!\[REDACTED\])"
               r"[^\s\"',;&}]{6,}"),
    # Vendors' key prefixes: OpenAI/Anthropic (sk-, sk-ant-), Groq, Hugging Face, xAI, Google.
    re.compile(r"\b(?:sk|gsk|hf|xai|pk|rk)[-_][A-Za-z0-9_\-]{12,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),
)

_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a key this process sends (a model's ``api_key_env`` value)."""
    if value and len(value) >= MIN_SECRET_CHARS:
        _registered.add(value)


def known_secrets() -> set[str]:
    """Every secret value this process knows: registered keys and secret-named variables."""
    found = set(_registered)
    for name, value in os.environ.items():
        if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS:
            found.add(value)
    return found


def redact_known(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every known secret value replaced (longest first: one may contain
    another)."""
    for secret in sorted(known_secrets() if secrets is None else secrets, key=len,
                         reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(text: str) -> str:
    """``text`` without known secret values and without key-shaped strings."""
    text = redact_known(text)
    text = _KEY_SHAPES[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _KEY_SHAPES[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    for shape in _KEY_SHAPES[2:]:
        text = shape.sub(REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message through ``redact`` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error path
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info:
            # A traceback would carry the exception's unredacted text: keep its one line.
            record.msg = f"{record.msg} ({redact(str(record.exc_info[1]))})"
            record.exc_info, record.exc_text = None, None
        return True

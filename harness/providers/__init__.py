"""Every model call: the provider client, the providers it delegates to by name (live, mock,
replay; simulated models under live), retries and per-model limits, and what a model can take
before it is called (input limit, token counts, reply schemas), what an OpenAI-compatible
endpoint lists as served, and the one redactor every provider string passes through.
"""

from __future__ import annotations

from harness.providers.attempts import now_iso
from harness.providers.capabilities import (
    ContextCheck,
    check_context,
    context_limit,
    count_prompt_tokens,
    supports_response_schema,
)
from harness.providers.client import ProviderClient, make_client
from harness.providers.listing import endpoint_of, fetch_listings
from harness.providers.litellm_import import load_litellm
from harness.providers.protocol import Provider
from harness.providers.redact import RedactingFilter, redact, register_secret
from harness.providers.registry import PROVIDERS, check_keys

__all__ = [
    "PROVIDERS",
    "ContextCheck",
    "Provider",
    "ProviderClient",
    "RedactingFilter",
    "check_context",
    "check_keys",
    "context_limit",
    "count_prompt_tokens",
    "endpoint_of",
    "fetch_listings",
    "load_litellm",
    "make_client",
    "now_iso",
    "redact",
    "register_secret",
    "supports_response_schema",
]

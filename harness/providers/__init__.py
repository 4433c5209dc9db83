"""Every model call: the provider client, the providers it delegates to by name (live, mock,
replay; simulated models under live), retries and per-model limits, and the one redactor every
provider string passes through.
"""

from __future__ import annotations

from harness.providers.attempts import now_iso
from harness.providers.client import ProviderClient, make_client
from harness.providers.litellm_import import load_litellm
from harness.providers.protocol import Provider
from harness.providers.redact import RedactingFilter, redact, register_secret
from harness.providers.registry import PROVIDERS, check_keys

__all__ = [
    "PROVIDERS",
    "Provider",
    "ProviderClient",
    "RedactingFilter",
    "check_keys",
    "load_litellm",
    "make_client",
    "now_iso",
    "redact",
    "register_secret",
]

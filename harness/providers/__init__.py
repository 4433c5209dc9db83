"""Every model call: the provider client (live litellm, mock, simulated, replay), retries, limits.
"""

from __future__ import annotations

from harness.providers.client import ProviderClient, check_keys, now_iso

__all__ = [
    "ProviderClient",
    "check_keys",
    "now_iso",
]

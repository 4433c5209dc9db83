"""What an OpenAI-compatible endpoint says it serves: its ``/models`` listing.

A local server (llama.cpp, vLLM, Ollama) answers a chat request with whatever model name it was
sent, so the reply's ``model`` field says nothing about the weights. Its ``GET /models`` lists
what it actually loaded. This module owns fetching that listing once per endpoint at the start
of a sweep (bounded time, a failure recorded and never fatal, the key sent only as a header and
never written) and which models have such an endpoint. Recording it in the manifest is the
sweep's; showing it is the report's.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from harness.providers.attempts import now_iso
from harness.providers.live import NO_KEY
from harness.providers.redact import redact_known, register_secret
from harness.rundir import ServerListing
from harness.schema import ModelSpec, ProviderSettings

__all__ = ["LISTING_TIMEOUT_S", "endpoint_of", "fetch_listings"]

LISTING_TIMEOUT_S = 10.0
"""Seconds one listing request may take in all (a server that hangs costs no more)."""

MAX_LISTED = 200
"""Model ids kept from one listing (a hosted gateway may list thousands)."""


def endpoint_of(model: ModelSpec, provider: ProviderSettings) -> str | None:
    """The OpenAI-compatible endpoint a live run calls ``model`` at, or None (a hosted
    provider's own endpoint, a simulated model, or a mode that makes no live call)."""
    if provider.mode != "live" or model.simulated:
        return None
    return provider.api_base or model.api_base


async def fetch_listings(models: Sequence[ModelSpec], provider: ProviderSettings,
                         *, timeout_s: float = LISTING_TIMEOUT_S) -> dict[str, ServerListing]:
    """Each endpoint's listing, asked once however many models share it.

    Returns:
        Per model name with an endpoint, the listing (or why it could not be read).
    """
    endpoints: dict[str, str | None] = {}
    for model in models:
        base = endpoint_of(model, provider)
        if base is not None and base not in endpoints:
            key = os.environ.get(model.api_key_env) if model.api_key_env else None
            endpoints[base] = key or (NO_KEY if model.api_key_env is None else None)
    found = await asyncio.gather(*(_fetch(base, key, timeout_s)
                                   for base, key in endpoints.items()))
    by_base = dict(zip(endpoints, found, strict=True))
    return {model.name: by_base[base] for model in models
            if (base := endpoint_of(model, provider)) is not None}


def _without_credentials(url: str) -> str:
    """``url`` as recorded: no user, password or query (where an endpoint may carry a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


async def _fetch(api_base: str, key: str | None, timeout_s: float) -> ServerListing:
    """One ``GET {api_base}/models``; any failure becomes the record's ``error``."""
    import aiohttp

    parts = urlsplit(api_base)
    url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/models"))
    started = now_iso()
    shown = _without_credentials(url)
    headers = {}
    if key:
        register_secret(key)
        headers["Authorization"] = f"Bearer {key}"
    try:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(url, headers=headers) as response:
            if response.status != 200:
                return ServerListing(url=shown, fetched_at=started,
                                     error=f"HTTP {response.status}")
            body = await response.json(content_type=None)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            return ServerListing(url=shown, fetched_at=started,
                                 error="not an OpenAI model list (no 'data' array)")
        ids = [str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry]
        return ServerListing(url=shown, fetched_at=started, model_ids=ids[:MAX_LISTED])
    except TimeoutError:
        return ServerListing(url=shown, fetched_at=started,
                             error=f"no answer within {timeout_s:g} s")
    except Exception as exc:  # anything (refused, DNS, a bad body): recorded, never fatal
        message = redact_known(f"{type(exc).__name__}: {exc}")[:200]
        return ServerListing(url=shown, fetched_at=started, error=message)

"""The ``replay`` provider: every call served from a previous run's recordings.

Recordings are the replies of ``replay.from``'s write-ahead cache, looked up by request
fingerprint. With ``replay.strict`` (the default) a missing recording is an error naming the
cell and turn, never a live call; without it the miss is called live (``live.py``), so litellm
is imported only then. This module does not read the cache files itself (``harness.rundir``)
and does not retry (``attempts.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, ClassVar

from harness.errors import ReplayMissError
from harness.providers.live import LiveProvider
from harness.providers.protocol import ProviderOptions, Request
from harness.rundir import CacheEntry
from harness.schema import ModelSpec

__all__ = ["ReplayProvider"]


class ReplayProvider:
    """Replies from recordings; a miss is an error (strict) or a live call."""

    checks_keys: ClassVar[bool] = False
    uses_recordings: ClassVar[bool] = True

    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self._live: LiveProvider | None = None

    def recording(self, request: Request) -> CacheEntry | None:
        """The recorded reply with the request's fingerprint.

        Raises:
            ReplayMissError: strict replay and no recording.
        """
        recordings = self.options.recordings
        entry = recordings.get(request.fingerprint) if recordings is not None else None
        if entry is None and self.options.strict:
            raise ReplayMissError(
                f"replay: no recording for cell {request.label} turn {request.turn} "
                f"({request.purpose}, request {request.fingerprint[:12]})",
                fix="replay the run's own configuration, or set replay.strict=false",
            )
        return entry

    def _live_provider(self) -> LiveProvider:
        """The live provider for misses, built on the first one (it imports litellm)."""
        if self._live is None:
            self._live = LiveProvider(self.options)
        return self._live

    def call_kwargs(self, request: Request) -> dict[str, Any]:
        """A non-strict miss is called as in live mode."""
        return self._live_provider().call_kwargs(request)

    def send(self, kwargs: dict[str, Any]) -> Awaitable[Any]:
        """A non-strict miss is sent as in live mode."""
        return self._live_provider().send(kwargs)

    def cost(self, model: ModelSpec, response: Any) -> float | None:
        """A non-strict miss is priced as in live mode."""
        return self._live_provider().cost(model, response)

"""Importing litellm: once, offline and quiet, and only by the code paths that call a model.

Owns the process-wide litellm settings xstress relies on (local cost map, no telemetry, no
retries of its own, silenced loggers) and the switch that spares a call litellm's own success
logging. It does not call models (``client.py`` does) and does not register custom providers
(``live.py``, ``mock.py``). Per-call CPU of each setting: ``scripts/bench_litellm.py``.
"""

from __future__ import annotations

import gc
import logging
import os
from contextvars import ContextVar
from typing import Any

from harness.providers.redact import RedactingFilter

__all__ = ["load_litellm", "logging_skip_switch"]

_LITELLM: Any = None
_SKIP_LOGGING: ContextVar[bool] | None = None


def load_litellm() -> Any:
    """Import litellm once, offline and quiet (cost map from the package, no banners).

    Returns:
        The ``litellm`` module.
    """
    global _LITELLM, _SKIP_LOGGING
    if _LITELLM is not None:
        return _LITELLM
    # Before import: litellm otherwise fetches a cost map over the network and may swap it
    # mid-run; offline mode also stops tokenizer downloads. Costs stay reproducible.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.num_retries = 0
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.ERROR)
        logger.propagate = False
        # With no handler, logging's last resort still prints ERROR lines to stderr: a key a
        # provider echoed must not reach it.
        logger.addFilter(RedactingFilter())
    # litellm builds a large object graph at import; freezing it keeps the collector off it
    # (measured: ~1 s less at exit and less CPU per call). No collect first: it costs ~0.2 s
    # and there is little garbage right after an import.
    gc.freeze()
    _SKIP_LOGGING = _internal_call_switch()
    _LITELLM = litellm
    return litellm


def logging_skip_switch() -> ContextVar[bool] | None:
    """litellm's switch that skips its success logging for calls made while it is True.

    xstress reads nothing litellm logs (cost, usage and model come from the response), so
    calls are made with it set. Measured by ``scripts/bench_litellm.py --paired`` (batches of
    300 calls, C=32, 2026-11-29): 0.77-0.92x litellm's CPU per call over four runs of 6-15
    rounds (unpriced and priced models), 0.92x through xstress's own client; the same cost,
    usage, model, finish reason and fingerprint. None when the installed litellm lacks the
    switch (calls then log as before).
    """
    load_litellm()
    return _SKIP_LOGGING


def _internal_call_switch() -> ContextVar[bool] | None:
    # Private to litellm (it marks its own nested calls): looked up defensively, so an
    # upgrade that moves it costs speed, never correctness.
    try:
        from litellm._internal_context import is_internal_call
    except ImportError:
        return None
    return is_internal_call if isinstance(is_internal_call, ContextVar) else None

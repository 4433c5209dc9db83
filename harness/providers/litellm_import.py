"""Importing litellm: once, offline and quiet, and only by the code paths that call a model.

Owns the process-wide litellm settings xstress relies on (local cost map, no telemetry, no
retries of its own, silenced loggers). It does not call models (``client.py`` does) and does not
register custom providers (``live.py``, ``mock.py``).
"""

from __future__ import annotations

import gc
import logging
import os
from typing import Any

from harness.providers.redact import RedactingFilter

__all__ = ["load_litellm"]

_LITELLM: Any = None


def load_litellm() -> Any:
    """Import litellm once, offline and quiet (cost map from the package, no banners).

    Returns:
        The ``litellm`` module.
    """
    global _LITELLM
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
    _LITELLM = litellm
    return litellm

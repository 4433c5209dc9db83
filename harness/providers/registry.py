"""The provider registry: ``provider.mode`` names the provider that serves every call.

``live``, ``mock`` and ``replay`` map to their implementations here and nowhere else; the
client asks the registry once and never branches on the mode. Adding a mode is a new provider
module and one line below (and the name in ``ProviderSettings.mode``). This module also checks
API keys before the first call, for the modes that send them. It does not call models.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from harness.errors import MissingKeyError
from harness.providers.live import LiveProvider
from harness.providers.mock import MockProvider
from harness.providers.protocol import Provider, ProviderOptions
from harness.providers.replay import ReplayProvider
from harness.schema import ModelSpec, ProviderSettings

__all__ = ["PROVIDERS", "check_keys", "provider_for"]

PROVIDERS: Mapping[str, type[Provider]] = {
    "live": LiveProvider,
    "mock": MockProvider,
    "replay": ReplayProvider,
}
"""Provider implementations by ``provider.mode``."""


def provider_for(options: ProviderOptions) -> Provider:
    """The provider named by ``options.settings.mode``, built from ``options``."""
    return PROVIDERS[options.settings.mode](options)


def check_keys(models: list[ModelSpec], settings: ProviderSettings) -> None:
    """Fail before any call when a model's key variable is unset and the mode sends keys.

    Raises:
        MissingKeyError: a non-simulated model's ``api_key_env`` is not set.
    """
    if not PROVIDERS[settings.mode].checks_keys:
        return
    for model in models:
        if model.simulated or not model.api_key_env:
            continue
        if not os.environ.get(model.api_key_env):
            raise MissingKeyError(
                f"configs/models/{model.name}.yaml: api_key_env {model.api_key_env} is not set "
                f"in the environment",
                fix=f"export {model.api_key_env}=... or run preset=offline (simulated models)",
            )

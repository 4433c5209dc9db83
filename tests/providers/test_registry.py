"""The provider registry (harness/providers/registry.py): a mode's name picks its provider, and
the client serves every call through it without branching on the mode."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

import harness.providers
from harness.errors import MissingKeyError
from harness.providers.live import LiveProvider
from harness.providers.mock import MockProvider
from harness.providers.protocol import ProviderOptions
from harness.providers.registry import PROVIDERS, check_keys, provider_for
from harness.providers.replay import ReplayProvider
from harness.schema import ModelSpec, ProviderSettings, RunSettings

PROVIDERS_DIR = Path(harness.providers.__file__).parent


def test_every_mode_name_maps_to_its_provider() -> None:
    modes = typing.get_args(ProviderSettings.model_fields["mode"].annotation)
    assert set(PROVIDERS) == set(modes)
    assert dict(PROVIDERS) == {"live": LiveProvider, "mock": MockProvider,
                               "replay": ReplayProvider}


@pytest.mark.parametrize(("mode", "provider"), [("live", LiveProvider), ("mock", MockProvider),
                                                ("replay", ReplayProvider)])
def test_provider_for_builds_the_named_provider(mode: str, provider: type) -> None:
    settings = ProviderSettings.model_validate({"mode": mode})
    built = provider_for(ProviderOptions(settings, RunSettings()))
    assert type(built) is provider


@pytest.mark.parametrize("source", ["client.py", "attempts.py"])
def test_client_and_attempts_never_branch_on_the_mode(source: str) -> None:
    tree = ast.parse((PROVIDERS_DIR / source).read_text(encoding="utf-8"))
    uses = [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "mode"]
    assert uses == [], f"{source} reads provider.mode at lines {uses}: ask the registry"


def keyed(name: str = "alpha") -> ModelSpec:
    return ModelSpec(name=name, litellm_model=f"openai/{name}", family="openai",
                     api_key_env="XSTRESS_TEST_UNSET_KEY")


def test_live_mode_checks_keys_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XSTRESS_TEST_UNSET_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="XSTRESS_TEST_UNSET_KEY is not set"):
        check_keys([keyed()], ProviderSettings(mode="live"))
    simulated = ModelSpec(name="sim", litellm_model="xstress-sim/eager", family="sim",
                          api_key_env="XSTRESS_TEST_UNSET_KEY")
    check_keys([simulated], ProviderSettings(mode="live"))
    monkeypatch.setenv("XSTRESS_TEST_UNSET_KEY", "sk-test-FAKE")
    check_keys([keyed()], ProviderSettings(mode="live"))


@pytest.mark.parametrize("mode", ["mock", "replay"])
def test_modes_without_keys_do_not_check_them(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XSTRESS_TEST_UNSET_KEY", raising=False)
    check_keys([keyed()], ProviderSettings.model_validate({"mode": mode}))

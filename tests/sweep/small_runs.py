"""Small sweep configurations for the sweep's tests: models on the local test server.

Every live call goes litellm -> HTTP -> ``harness.testing.testserver`` on 127.0.0.1 (or to the
in-process simulated models); nothing in litellm is patched.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.config import RunConfig
from harness.schema import (
    ModelSpec,
    PipelineSettings,
    PromptSet,
    ProviderSettings,
    ReplaySettings,
    RunSettings,
    ScaffoldSpec,
)
from harness.sweep import SweepResult, run_sweep

FAKE_KEY = "sk-test-FAKE-0123456789-do-not-leak"
KEY_ENV = "XSTRESS_TEST_KEY"


def model(name: str, **limits: int) -> ModelSpec:
    """An OpenAI-style model ``openai/<name>`` whose key is ``XSTRESS_TEST_KEY``."""
    return ModelSpec.model_validate({
        "name": name, "litellm_model": f"openai/{name}", "family": "openai",
        "api_key_env": KEY_ENV, "params": {"temperature": 0.0, "max_tokens": 64},
        "limits": {"max_concurrency": 4, **limits}})


def prompts(n: int = 3, turns: int = 2) -> PromptSet:
    """``n`` scripted scenarios of ``turns`` user turns each."""
    return PromptSet.model_validate({"name": "mini", "scenarios": [
        {"id": f"s{i}", "domain": "health", "probe": "multiturn", "targets": ["D6"],
         "turns": [{"user": f"scenario {i} turn {t}"} for t in range(turns)]}
        for i in range(n)]})


def config(url: str, models: list[ModelSpec], tmp: Path, *, scaffolds: list[ScaffoldSpec] |
           None = None, n: int = 3, turns: int = 2, **run: object) -> RunConfig:
    """A live run against ``url`` (fast retries, no progress bar) into ``tmp``/r."""
    return RunConfig(
        models=tuple(models),
        scaffolds=tuple(scaffolds or [ScaffoldSpec(name="bare"),
                                      ScaffoldSpec(name="wrap", system="Be careful.",
                                                   user_template="Q: {user}")]),
        prompts=prompts(n, turns),
        run=RunSettings.model_validate({"out_dir": str(tmp), "name": "r", "concurrency": 8,
                                        "timeout_s": 2.0, "retry_base_s": 0.01,
                                        "progress": False, **run}),
        provider=ProviderSettings(mode="live", api_base=url),
        replay=ReplaySettings(),
        pipeline=PipelineSettings(),
    )


def sweep(cfg: RunConfig, run_dir: Path) -> SweepResult:
    """Run the sweep to its end."""
    return asyncio.run(run_sweep(cfg, run_dir))

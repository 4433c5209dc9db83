"""Runs of ``xstress run`` as real processes for the fault suite: a local model, a prompt set.

The project copy comes from the ``project`` fixture (tests/conftest.py); this module adds one
model served by the local test server and a set of single-turn scenarios, and spells the
command line, so each test states only what it breaks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FAKE_KEY = "sk-test-FAKE-chaos-5d1e-never-written"
CONCURRENCY = 8


def add_model_and_prompts(project: Path, *, scenarios: int) -> None:
    """Model ``chaos`` (``openai/chaos``, key from ``XSTRESS_TEST_KEY``) and prompts ``chaosN``."""
    (project / "configs" / "models" / "chaos.yaml").write_text(
        "name: chaos\nlitellm_model: openai/chaos\nfamily: local\n"
        "api_key_env: XSTRESS_TEST_KEY\nparams: {temperature: 0.0, max_tokens: 64}\n"
        f"limits: {{max_concurrency: {CONCURRENCY}}}\n")
    lines = "\n".join(
        f"  - {{id: c{i}, domain: technical, probe: checkable, targets: [D3], "
        f"turns: [{{user: 'chaos prompt {i}'}}]}}" for i in range(scenarios))
    (project / "configs" / "prompts" / f"chaos{scenarios}.yaml").write_text(
        f"name: chaos{scenarios}\nscenarios:\n{lines}\n")


def command(url: str, out: Path, *, scenarios: int, name: str = "r") -> list[str]:
    """``python -m harness run ...``: the sweep stage only, into ``out/name``."""
    return [sys.executable, "-m", "harness", "run", "models=[chaos]", "scaffolds=[bare]",
            f"prompts=chaos{scenarios}", f"provider.api_base={url}", f"run.out_dir={out}",
            f"run.name={name}", f"run.concurrency={CONCURRENCY}", "run.retry_base_s=0.05",
            "run.progress=false", "pipeline.stages=[sweep]"]


def lines_of(path: Path) -> list[dict[str, object]]:
    """Every complete line of a JSONL file, parsed (a torn last line is not a line)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]

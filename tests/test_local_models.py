"""Open-weight models on a local OpenAI-compatible server (docs/local-models/, README "Local
open-weight models"): the templates validate, and the README's recipe, a 4-cell sweep of two
local models, blinding, a local judge with structured output and the report, runs end to end.

``test_recipe_against_a_real_local_server`` (marker ``local_model``) runs it against the
server at ``XSTRESS_LOCAL_MODEL_URL`` (e.g. ``http://127.0.0.1:8080/v1``: llama.cpp, vLLM or
Ollama answering to the names local-a, local-b and local-judge; the tests' network guard
allows loopback only) and is skipped without it. The same recipe runs in CI against the local
test server in its schema-enforcing mode, standing in for a constrained decoder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.config import compose, load_spec, protocol_of_config, resolve
from harness.rundir import RunDir, ScoreRecord, iter_transcripts
from harness.schema import JudgeSpec, ModelSpec
from harness.testing.testserver import TestServer
from tests.conftest import ROOT, Ran
from tests.score.mock_judge import mock_judge_reply

Xstress = Callable[..., Ran]
TEMPLATES = ROOT / "docs" / "local-models"
URL_VARIABLE = "XSTRESS_LOCAL_MODEL_URL"


def install_templates(project: Path) -> None:
    """Copy the templates into the project as the README says, and a one-scenario prompt set
    (2 models x 2 scaffolds x 1 scenario = 4 cells)."""
    for kind in ("models", "judges"):
        for template in (TEMPLATES / kind).glob("*.yaml"):
            shutil.copy(template, project / "configs" / kind / template.name)
    stress15 = yaml.safe_load((project / "configs" / "prompts" / "stress15.yaml").read_text())
    scenario = next(s for s in stress15["scenarios"]
                    if all("user" in turn for turn in s["turns"]) and len(s["turns"]) <= 2)
    smoke = {"name": "smoke1", "description": "One scenario of stress15.",
             "scenarios": [scenario]}
    (project / "configs" / "prompts" / "smoke1.yaml").write_text(yaml.safe_dump(smoke))


def run_recipe(url: str, out: Path, xstress: Xstress) -> Path:
    """The README's two-model sweep with a local judge; returns the run directory."""
    plan = xstress("plan", "models=[local-a,local-b]", "scaffolds=[bare,verify]",
                   "prompts=smoke1")
    assert plan.code == 0, plan.err
    assert "local-a, local-b: pricing: free" in plan.out and "$0.00" in plan.out
    ran = xstress("run", "models=[local-a,local-b]", "scaffolds=[bare,verify]",
                  "prompts=smoke1", "judges=[local_judge]", f"provider.api_base={url}",
                  f"run.out_dir={out}", "run.name=local-smoke", "report.n_perm=200")
    assert ran.code == 0, ran.err
    return out / "local-smoke"


def check_run(run_dir: Path) -> list[ScoreRecord]:
    transcripts = list(iter_transcripts(RunDir(run_dir)))
    assert len(transcripts) == 4 and {t.status for t in transcripts} == {"ok"}
    assert {t.model for t in transcripts} == {"local-a", "local-b"}
    scores = [ScoreRecord.model_validate_json(line) for line in
              RunDir(run_dir).scores("local_judge").read_text().splitlines()]
    assert len(scores) == 4 * 8
    assert {r.path for r in scores} == {"structured"}
    assert any(r.status == "scored" for r in scores)
    assert (run_dir / "report" / "report.md").is_file()
    return scores


def test_templates_are_valid_configs(project: Path) -> None:
    install_templates(project)
    judge = load_spec("judges", "local_judge")
    assert isinstance(judge, JudgeSpec)
    assert (judge.structured_output, judge.api_key_env, judge.pricing) == ("on", None, "free")
    assert judge.max_input_tokens is not None
    assert judge.max_input_tokens + judge.params.max_tokens <= 8192  # the documented context
    for name in ("local-a", "local-b"):
        model = load_spec("models", name)
        assert isinstance(model, ModelSpec)
        assert (model.api_key_env, model.pricing) == (None, "free")
        assert model.max_input_tokens is not None and model.params.max_tokens is not None
        assert model.max_input_tokens + model.params.max_tokens <= 8192


def test_recipe_against_the_schema_enforcing_test_server(
        project: Path, tmp_path: Path, xstress: Xstress, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a local server needs none
    install_templates(project)
    with TestServer(replies={"local-judge": mock_judge_reply},
                    response_format="enforce") as server:
        run_dir = run_recipe(server.url, tmp_path / "runs", xstress)
        judge_requests = [r for r in server.requests if r.model == "local-judge"]
        target_requests = [r for r in server.requests if r.model != "local-judge"]
    check_run(run_dir)
    # One call per item and dimension, each constrained by the schema, none re-asked.
    assert len(judge_requests) == 4 * 8 and all(r.response_schema for r in judge_requests)
    assert not any(r.response_schema for r in target_requests)
    manifest = json.loads(RunDir(run_dir).manifest().read_text())
    assert manifest["cost_usd"] == 0.0


@pytest.mark.local_model
def test_recipe_against_a_real_local_server(
        project: Path, tmp_path: Path, xstress: Xstress) -> None:
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"set {URL_VARIABLE} to a local OpenAI-compatible server's URL "
                    "(answering to local-a, local-b and local-judge) to run it")
    install_templates(project)
    scores = check_run(run_recipe(url, tmp_path / "runs", xstress))
    assert not any((r.reason or "").startswith("invalid judge output") for r in scores)


def test_local_server_settings_are_not_treatment(project: Path) -> None:
    """The input limit, the pricing and how the server enforces the reply format are the
    lab's, like its endpoint: the protocol hash does not move with them."""
    def protocol_hash() -> str:
        return protocol_of_config(resolve(compose(["preset=offline"]))).protocol_hash

    before = protocol_hash()
    with (project / "configs/models/sim-eager.yaml").open("a") as model:
        model.write("max_input_tokens: 5000\npricing: free\n")
    with (project / "configs/judges/sim_judge.yaml").open("a") as judge:
        judge.write("structured_output: off\nmax_input_tokens: 9000\npricing: free\n")
    assert protocol_hash() == before

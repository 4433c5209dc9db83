"""Truncation recorded and what was really served (issue 16, parts 3 and 4), end to end.

A model on the local test server whose replies are longer than its ``max_tokens`` gets them cut
there with ``finish_reason: length`` (``TestServer(honour_max_tokens=True)``, over real HTTP
through litellm). The cut is followed through every stage: the call and cache records, the
transcript's ``truncated_messages``, the sweep summary, the marker coders see and the report's
count; the manifest records what the server reported and listed.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from inspect_ai.log import read_eval_log

import harness
from harness.blind import TRUNCATION_MARKER
from harness.pipeline import sweep_summary
from harness.providers import fetch_listings
from harness.rundir import CacheEntry, Manifest
from harness.schema import ModelSpec, ProviderSettings, ScaffoldSpec
from harness.sweep import length_warnings, tokens_needed
from harness.testing.testserver import TestServer
from tests.conftest import Ran
from tests.sweep.small_runs import FAKE_KEY as SMALL_RUN_KEY
from tests.sweep.small_runs import KEY_ENV, config, model, sweep

Xstress = Callable[..., Ran]

FAKE_KEY = "sk-test-FAKE-trunc-4d1e0b-never-written"
LONG_REPLY = " ".join(f"word{i}" for i in range(200))  # 200 words: 267 tokens on the server
SCENARIOS = "run.only=[health-warfarin-cold-plan,finance-debt-payoff-floor]"


def add_model(project: Path, name: str, max_tokens: int) -> None:
    (project / "configs" / "models" / f"{name}.yaml").write_text(
        f"name: {name}\nlitellm_model: openai/{name}\nfamily: local\n"
        f"api_key_env: XSTRESS_TEST_KEY\nparams: {{temperature: 0.0, max_tokens: {max_tokens}}}\n"
        f"limits: {{max_concurrency: 4}}\n")


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm as module

    return module


def test_the_server_cuts_at_max_tokens_and_says_length(litellm: ModuleType) -> None:
    async def ask(server: TestServer, max_tokens: int) -> tuple[str, str]:
        response = await litellm.acompletion(
            model="openai/m", messages=[{"role": "user", "content": "hi"}], api_base=server.url,
            api_key="x", max_tokens=max_tokens, max_retries=0)
        choice = response.choices[0]
        return choice.message.content, choice.finish_reason

    async def body() -> None:
        async with TestServer(replies={"m": LONG_REPLY}, honour_max_tokens=True) as server:
            text, reason = await ask(server, 16)
            # (4 w + 1) // 3 <= 16 holds up to w = 12 words: 12 words, cut mid-reply
            assert reason == "length" and text.split() == LONG_REPLY.split()[:12]
            text, reason = await ask(server, 400)
            assert reason == "stop" and text == LONG_REPLY
        async with TestServer(replies={"m": LONG_REPLY}) as server:  # the default: whole
            assert await ask(server, 16) == (LONG_REPLY, "stop")

    asyncio.run(body())


def test_a_cut_reply_is_marked_in_transcript_items_summary_and_report(
    project: Path, tmp_path: Path, xstress: Xstress, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_model(project, "cut", 16)
    add_model(project, "whole", 400)
    monkeypatch.setenv("XSTRESS_TEST_KEY", FAKE_KEY)
    replies = {"cut": LONG_REPLY, "whole": LONG_REPLY}
    with TestServer(replies=replies, honour_max_tokens=True, require_key=FAKE_KEY) as server:
        url = server.url
        result = xstress("run", "models=[cut,whole]", "scaffolds=[bare]", "judges=[heuristic]",
                         SCENARIOS, f"provider.api_base={server.url}", f"run.out_dir={tmp_path}",
                         "run.name=t", "run.retry_base_s=0.01", "run.progress=false")
    run_dir = tmp_path / "t"
    assert result.code == 0, result.err
    records = lines(run_dir / "transcripts.jsonl")
    assert {r["status"] for r in records} == {"ok"} and len(records) == 4
    cut_replies = 0
    for record in records:
        messages = record["messages"]
        assert isinstance(messages, list)
        shown = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        reasons = {c["finish_reason"] for c in record["calls"]}  # type: ignore[union-attr]
        if record["model"] == "cut":
            # every reply of the 16-token model is cut (the user side's calls too)
            assert record["truncated_messages"] == shown and reasons == {"length"}
            assert all(len(messages[i]["content"].split()) == 12 for i in shown)
            cut_replies += len(shown)
        else:
            assert record["truncated_messages"] == [] and reasons == {"stop"}
    assert cut_replies >= 2
    assert f"{cut_replies} replies in 2 cell(s) cut off at the length limit" in result.err
    assert "cut 16" in result.err and "whole 400" in result.err

    # replay and resume read finish_reason back from the cache
    cache = [CacheEntry.model_validate(row)
             for path in sorted((run_dir / "cache").glob("*.jsonl")) for row in lines(path)]
    assert {entry.finish_reason for entry in cache} == {"length", "stop"}

    items = lines(run_dir / "blind" / "items.jsonl")
    marked = [m for item in items for m in item["messages"]  # type: ignore[attr-defined]
              if m["content"].endswith(TRUNCATION_MARKER)]
    assert len(marked) == cut_replies and {m["role"] for m in marked} == {"assistant"}

    report = (run_dir / "report" / "report.md").read_text()
    assert (f"marked \"{TRUNCATION_MARKER}\"): {cut_replies}, in 2 of 4 coded cells "
            f"(cut under bare {cut_replies})") in report

    manifest = Manifest.model_validate_json((run_dir / "manifest.json").read_text())
    for name in ("cut", "whole"):
        served = manifest.served[name]
        assert served.litellm_model == f"openai/{name}" and served.api_base == url
        assert served.reported_models == [f"{name}-2026-01-01"]
        assert len(served.system_fingerprints) == 1
        assert served.listing is not None and served.listing.error is None
        assert served.listing.url == url + "/models"
        assert served.listing.model_ids == ["cut", "echo", "whole"]
    assert "server lists cut, echo, whole" in report and "reported cut-2026-01-01" in report
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace"), path

    # the exports say so too: a column of the cells table, Inspect's stop_reason
    cells = harness.load_run(run_dir).cells
    assert cells.groupby("model")["n_truncated"].sum().to_dict() == {"cut": cut_replies,
                                                                     "whole": 0}
    assert xstress("export", "inspect", str(run_dir)).code == 0
    stops = Counter(sample.output.choices[0].stop_reason
                    for path in sorted((run_dir / "export" / "inspect").glob("*.json"))
                    for sample in read_eval_log(str(path)).samples or [])
    assert stops == {"max_tokens": 2, "stop": 2}  # the last reply of each cut cell

    replayed = xstress("run", "models=[cut,whole]", "scaffolds=[bare]", SCENARIOS,
                       "provider=replay", f"replay.from={run_dir}", f"run.out_dir={tmp_path}",
                       "run.name=replayed", "pipeline.stages=[sweep]", "run.progress=false")
    assert replayed.code == 0, replayed.err
    again = {r["cell_id"]: r["truncated_messages"]
             for r in lines(tmp_path / "replayed" / "transcripts.jsonl")}
    assert again == {r["cell_id"]: r["truncated_messages"] for r in records}
    replay_manifest = Manifest.model_validate_json(
        (tmp_path / "replayed" / "manifest.json").read_text())
    assert replay_manifest.served["cut"].listing is None  # a replay asks no server


def test_a_listing_that_fails_is_recorded_not_fatal() -> None:
    dead = ModelSpec.model_validate({"name": "dead", "litellm_model": "openai/dead",
                                     "family": "local", "api_base": "http://127.0.0.1:1/v1",
                                     "api_key_env": None})
    hosted = ModelSpec.model_validate({"name": "hosted", "litellm_model": "openai/gpt-4o",
                                       "family": "openai", "api_key_env": "OPENAI_API_KEY"})
    listings = asyncio.run(fetch_listings([dead, hosted], ProviderSettings(mode="live")))
    assert set(listings) == {"dead"}  # a hosted provider's own endpoint is not asked
    listing = listings["dead"]
    assert listing.model_ids is None and listing.url == "http://127.0.0.1:1/v1/models"
    assert listing.error
    assert asyncio.run(fetch_listings([dead], ProviderSettings(mode="mock"))) == {}


def test_plan_warns_when_max_tokens_is_low_for_the_scaffold(
    project: Path, xstress: Xstress
) -> None:
    verify = ScaffoldSpec(name="v", system="Items:\n- Claim: x\n- Check: y\n* Note here: z\n"
                          "- plain line without a label\n",
                          passes=[{"name": "p", "instruction": "fix"},  # type: ignore[list-item]
                                  {"name": "q", "instruction": "note", "replace_reply": False}])
    # 512 + 64 x 3 labelled lines + 128 x 1 replacing pass
    assert tokens_needed(verify) == (832, 3, 1)
    small = ModelSpec.model_validate({"name": "small", "litellm_model": "openai/s", "family": "x",
                                      "params": {"max_tokens": 831}})
    enough = ModelSpec.model_validate({"name": "enough", "litellm_model": "openai/e", "family": "x",
                                       "params": {"max_tokens": 832}})
    found = length_warnings([small, enough], [verify, ScaffoldSpec(name="bare")])
    assert [(w.model, w.scaffold, w.needed) for w in found] == [("small", "v", 832)]

    add_model(project, "short", 600)
    result = xstress("plan", "models=[short]", "scaffolds=[bare,verify]")
    assert result.code == 0, result.err
    # verify: 5 labelled fields (Claim, Check, Confidence, Assumptions, Would change if)
    # and one replacing pass: 512 + 320 + 128 = 960 > 600; bare needs 512 <= 600
    assert "warning: short max_tokens 600 is low for scaffold verify (needs about 960" \
        in result.out
    assert "scaffold bare" not in result.out
    quiet = xstress("plan", "scaffolds=[bare,verify]")  # the defaults: max_tokens 1024
    assert quiet.code == 0 and "is low for scaffold" not in quiet.out


def test_simulated_models_report_stop_and_serve_no_listing(offline_run: Path) -> None:
    records = lines(offline_run / "transcripts.jsonl")
    reasons = {c["finish_reason"] for r in records for c in r["calls"]}  # type: ignore[union-attr]
    assert reasons == {"stop"}
    assert all(r["truncated_messages"] == [] for r in records)
    manifest = Manifest.model_validate_json((offline_run / "manifest.json").read_text())
    assert set(manifest.served) == {"sim-cautious", "sim-eager", "sim-literal"}
    for name, served in manifest.served.items():
        assert served.simulated and served.listing is None and served.api_base is None
        assert served.reported_models == [f"xstress-sim/{name.removeprefix('sim-')}-sim1"]


def test_a_resumed_sweep_counts_cut_replies_of_earlier_invocations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, SMALL_RUN_KEY)
    with TestServer(replies={"m": LONG_REPLY}, honour_max_tokens=True) as server:
        first = config(server.url, [model("m")], tmp_path, scaffolds=[ScaffoldSpec(name="bare")],
                       n=2, turns=2, limit=1)
        result = sweep(first, tmp_path / "r")
        assert (result.truncated_replies, result.truncated_cells) == (2, 1)
        rest = config(server.url, [model("m")], tmp_path, scaffolds=[ScaffoldSpec(name="bare")],
                      n=2, turns=2)
        result = sweep(rest, tmp_path / "r")
    # the second invocation ran one cell; the count covers both (2 turns x 2 cells)
    assert result.skipped == 1 and (result.truncated_replies, result.truncated_cells) == (4, 2)
    line = [s for s in sweep_summary(result, rest) if "length limit" in s]
    assert line == ["4 replies in 2 cell(s) cut off at the length limit (finish_reason: "
                    "length; max_tokens: m 64); coders see them marked; raise params.max_tokens "
                    "in the model file to avoid it"]


def test_a_listing_url_is_recorded_without_credentials() -> None:
    secret = ModelSpec.model_validate({"name": "s", "litellm_model": "openai/s", "family": "x",
                                       "api_base": "http://u:pw-1234@127.0.0.1:1/v1?key=k-5678",
                                       "api_key_env": None})
    listing = asyncio.run(fetch_listings([secret], ProviderSettings(mode="live")))["s"]
    assert listing.url == "http://127.0.0.1:1/v1/models"
    assert "pw-1234" not in listing.model_dump_json() and "k-5678" not in listing.model_dump_json()

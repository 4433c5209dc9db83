"""Scoring over HTTP with an LLM judge, in-process or in worker processes, for the worker tests.

``score_over_http`` is what the tests call; run as a module (``python -m
tests.score.score_child URL RUN_DIR WORKERS CONCURRENCY``) it scores in a child process of its
own, which the tests interrupt or kill; it exits 130 on Ctrl-C, as the CLI does.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from harness.config import with_prompt
from harness.providers import make_client
from harness.rundir import ResponseCache, RunDir
from harness.schema import JudgeSpec, ProviderSettings, RunSettings
from harness.score import CoderSummary, JudgeWorkers, score_run
from tests.score.mock_judge import interactional_rubric

JUDGE_MODEL = "workerjudge"
"""The model name the test server answers with ``mock_judge_reply``."""
KEY_ENV = "XSTRESS_TEST_JUDGE_KEY"


def judge(**update: object) -> JudgeSpec:
    """An LLM judge served by the test server, one call per dimension."""
    return with_prompt(JudgeSpec(name=JUDGE_MODEL, kind="llm",
                                 litellm_model=f"openai/{JUDGE_MODEL}", family="acme",
                                 api_key_env=KEY_ENV, **update))


def score_over_http(url: str, run_dir: Path, workers: int, *, concurrency: int = 8,
                    parent_cache: bool = True, spec: JudgeSpec | None = None) -> CoderSummary:
    """Score ``run_dir`` with the judge through litellm -> HTTP -> ``url``.

    With ``parent_cache`` the in-process client writes ``cache/responses.judges.jsonl`` as the
    pipeline's does; without it the parent reads no cache file at all.
    """
    provider = ProviderSettings(mode="live", api_base=url)
    run = RunSettings(timeout_s=10.0, retry_base_s=0.01, progress=False)

    async def go() -> CoderSummary:
        cache = ResponseCache(RunDir(run_dir), suffix=".judges") if parent_cache else None
        client = make_client(provider, run, cache=cache)
        try:
            summary = await score_run(run_dir, [spec or judge()], interactional_rubric(),
                                      client=client, target_families={"openai"},
                                      concurrency=concurrency,
                                      workers=JudgeWorkers(workers, provider, run))
        finally:
            if cache is not None:
                cache.close()
        (coder,) = summary.coders
        return coder

    return asyncio.run(go())


def main(argv: list[str]) -> int:
    url, run_dir, workers, concurrency = argv
    try:
        score_over_http(url, Path(run_dir), int(workers), concurrency=int(concurrency))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

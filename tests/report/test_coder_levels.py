"""A judge that codes nothing: the report's numbers, banners and accounting describe the coders
that gave levels, and ``score`` (alone or in the pipeline) exits 1 (issue 16, parts 1-2 and 6).

The empty judge is an LLM judge served by the local test server (through litellm over HTTP)
whose every reply is prose, never the reply format: all its codes end ``unscored``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from harness.report.coders import CoderFile
from harness.report.context import ReportContext
from harness.report.sections.coder_levels import levels_note
from harness.stats import STATUS_UNSCORED, ScoreMatrix, mean_of_coders
from harness.testing.testserver import TestServer
from tests.cli.test_stages import JUDGE_KEY, swept_copy
from tests.conftest import Ran

Xstress = Callable[..., Ran]
EMPTY_REPLY = "I would rather not rate this conversation."
# One call per item (joint) and one re-ask: 2 calls per item, every reply unusable.
EMPTY_JUDGE = ("name: empty_judge\nkind: llm\nlitellm_model: openai/empty\nfamily: local\n"
               "api_key_env: XSTRESS_JUDGE_KEY\nmode: joint\nmax_parse_retries: 1\n")
REASON = "invalid judge output after 2 attempt(s)"
SCORED = 0  # STATUS_SCORED (harness.stats.score_matrix)


@pytest.fixture
def empty_judge_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (project / "configs" / "judges" / "empty_judge.yaml").write_text(EMPTY_JUDGE)
    monkeypatch.setenv("XSTRESS_JUDGE_KEY", JUDGE_KEY)
    return project


def _profiles(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "report" / "profiles.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_an_empty_judge_leaves_the_numbers_to_the_heuristic_and_says_so(
        empty_judge_project: Path, offline_run: Path, tmp_path: Path, xstress: Xstress) -> None:
    run_dir = swept_copy(offline_run, tmp_path / "runs" / "empty")
    assert xstress("blind", str(run_dir), "seed=3").code == 0
    n_codes = 60 * 8
    with TestServer(require_key=JUDGE_KEY, replies={"empty": [EMPTY_REPLY]}) as server:
        score = xstress("score", str(run_dir), "judges=[heuristic,empty_judge]",
                        f"provider.api_base={server.url}")
        assert server.count(model="empty") == 60 * 2
        # exit 1, one line naming the judge, its share and its reasons by count
        assert score.code == 1, score.err
        assert (f"empty_judge left {n_codes} of {n_codes} codes unscored (100%, more than "
                f"pipeline.max_unscored_share=0.2): {n_codes} x {REASON}") in score.err
        assert "heuristic left" not in score.err
        # the same file under a share it does not pass: exit 0 (nothing is coded again)
        allowed = xstress("score", str(run_dir), "judges=[heuristic,empty_judge]",
                          f"provider.api_base={server.url}", "pipeline.max_unscored_share=1")
        assert allowed.code == 0, allowed.err
        assert server.count(model="empty") == 60 * 2

        # every attempt is in the record itself: both replies and why each was not used
        records = [json.loads(line) for line in
                   (run_dir / "scores" / "empty_judge.jsonl").read_text().splitlines()]
        assert {r["status"] for r in records} == {"unscored"}
        assert all([a["reply"] for a in r["attempts"]] == [EMPTY_REPLY] * 2 for r in records)
        assert all("no JSON object found" in (a["error"] or "") for r in records
                   for a in r["attempts"])

        # the pipeline's score stage exits 1 too, and still writes the report
        piped = xstress("run", "preset=offline", f"run.out_dir={run_dir.parent}",
                        f"run.name={run_dir.name}", "pipeline.stages=[score,report]",
                        "judges=[heuristic,empty_judge]", "report.coder=null",
                        f"provider.api_base={server.url}", "report.n_perm=50",
                        "report.n_boot=50")
    assert piped.code == 1, piped.err
    assert "empty_judge left 480 of 480 codes unscored" in piped.err
    assert "No level from empty_judge: the numbers are the other coders'" in piped.err

    report = (run_dir / "report" / "report.md").read_text()
    assert "Scores used: **judges-mean (empty_judge, heuristic)**" in report
    assert "FORMAT CHECK ONLY" in report
    assert "The scores come from the heuristic only" in report  # the evidence statement
    assert "Levels behind the numbers: heuristic on " in report
    assert f"empty_judge: no level on D1..D8 (unscored {n_codes}: {n_codes} x {REASON})" in report
    assert "| empty_judge | llm_judge | yes (gave no level: adds nothing) | 0 | 0 | 480 |" in report
    for dimension in ("D1", "D8"):
        assert f"| empty_judge | {dimension} | 0 | 0 | 60 | 60 x {REASON} |" in report

    mixed = _profiles(run_dir)
    assert {row["unscored_by_coder"].split(";")[0] for row in mixed} == {"empty_judge=15"}
    assert all("empty_judge" not in row["coders_with_levels"] for row in mixed)
    assert any(row["coders_with_levels"] == "heuristic" for row in mixed)
    # the empty judge adds nothing to any mean: the heuristic's own report has the same numbers
    alone = xstress("report", str(run_dir), "coder=heuristic", "n_perm=50")
    assert alone.code == 0, alone.err
    heuristic = _profiles(run_dir)
    columns = ("model", "scaffold", "dimension", "n", "count_0", "count_1", "count_2", "mean",
               "ci_low", "ci_high")
    assert [[row[c] for c in columns] for row in mixed] == [
        [row[c] for c in columns] for row in heuristic]
    assert any(row["mean"] for row in heuristic)


def test_a_coder_without_levels_adds_nothing_to_the_mean() -> None:
    """Hand-computed: item 1 has levels 2 (a) and 0 (b), item 2 only a's 1 (b unscored),
    item 3 none (both unscored)."""
    nan = np.nan
    a = ScoreMatrix(("D1",), np.array([[2.0], [1.0], [nan]]),
                    np.array([[SCORED], [SCORED], [STATUS_UNSCORED]], np.int8))
    b = ScoreMatrix(("D1",), np.array([[0.0], [nan], [nan]]),
                    np.array([[SCORED], [STATUS_UNSCORED], [STATUS_UNSCORED]], np.int8))
    mean = mean_of_coders([a, b])
    assert mean.values[:2, 0].tolist() == [1.0, 1.0] and np.isnan(mean.values[2, 0])
    assert mean.status[:, 0].tolist() == [SCORED, SCORED, STATUS_UNSCORED]


class _Context:
    """The part of a ``ReportContext`` that ``levels_note`` reads."""

    def __init__(self, coders: list[CoderFile], dimensions: tuple[str, ...]) -> None:
        self.coders_used = coders
        self.dimensions = dimensions
        self.heuristic_only = False

    def levels_from(self) -> dict[str, tuple[str, ...]]:
        return ReportContext.levels_from(cast(ReportContext, self))


def _coder(name: str, kind: str, scored: dict[str, int], unscored: dict[str, int]) -> CoderFile:
    coder = CoderFile(name=name, path=Path(f"scores/{name}.jsonl"), kinds={kind})
    coder.scored_by_dimension.update(scored)
    for dimension, n in unscored.items():
        coder.unscored_by_dimension[dimension] = Counter({REASON: n})
    return coder


def test_the_note_names_per_dimension_whose_levels_make_the_numbers() -> None:
    """A judge that scored D2 only, the heuristic D1 and D2: D1's numbers are the format
    check's alone, and the note says so although no banner does."""
    judge = _coder("judge", "llm_judge", {"D2": 4}, {"D1": 4, "D3": 4})
    heuristic = _coder("heuristic", "heuristic", {"D1": 3, "D2": 1}, {})
    ctx = _Context([heuristic, judge], ("D1", "D2", "D3"))
    (note,) = levels_note(cast(ReportContext, ctx))
    assert note.text == (
        "Levels behind the numbers: heuristic on D1; heuristic and judge on D2; no coder on D3. "
        "On D1 only the heuristic gave levels: there the numbers are a format check of surface "
        "cues, not a measurement. heuristic: no level on D3 (no record). judge: no level on "
        f"D1, D3 (unscored 8: 8 x {REASON}). A coder without a level on an item adds nothing "
        "to its mean; its counts per dimension are under Data accounting.")
    assert levels_note(cast(ReportContext, _Context([judge], ("D1", "D2", "D3")))) == []
    # a finding on D1 carries the format-check tag; on D2 (a judge's levels too) none
    tags = [ReportContext.dimension_tag(cast(ReportContext, ctx), d) for d in ("D1", "D2", "D3")]
    assert tags == [" [format check only]", "", ""]
    ctx.heuristic_only = True  # the banner says it for every dimension then
    assert ReportContext.dimension_tag(cast(ReportContext, ctx), "D1") == ""

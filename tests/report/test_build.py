"""Tests for harness/report/build.py: a synthetic run directory in, report.md / report.html / CSVs
out. Checks what the report must say (simulated and heuristic banners, the coder used,
degenerate cases as notes), the CSV shapes, hand-computed numbers surviving the round trip,
and the user errors (no key, no scores, unknown coder, unknown baseline)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.report import build_report
from harness.rundir import RunDir, write_record_atomic
from harness.schema import content_hash
from harness.testing.rundirs import scored_run, small_rubric, write_manifest


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def assert_no_nan(run_dir: Path) -> None:
    report = run_dir / "report"
    for path in [*report.glob("*.csv"), report / "report.md"]:
        text = path.read_text()
        assert not re.search(r"\bnan\b", text, flags=re.IGNORECASE), path.name
        assert "inf" not in re.findall(r"\binf\b", text.lower()), path.name


# --------------------------------------------------------------------------- the normal case


def test_report_writes_every_file_and_says_simulated_and_heuristic(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    summary = build_report(run_dir, n_perm=100, rubric=small_rubric(["D1", "D2", "D3"]))
    for path in summary.paths:
        assert path.is_file() and path.stat().st_size > 0, path
    assert summary.simulated and summary.heuristic_only
    assert summary.coder == "heuristic"
    md = summary.report_md.read_text()
    head = md.split("## Findings")[0]
    assert "**SIMULATED MODELS" in head
    assert "**FORMAT CHECK ONLY" in head
    assert "Scores used: **heuristic** (the only coder)" in md
    assert "SIMULATED MODELS" in summary.text
    html_text = summary.report_html.read_text()
    assert html_text.count('src="data:image/png;base64,') == 3
    assert 'class="banner"' in html_text
    assert "http://" not in html_text and "https://" not in html_text
    assert_no_nan(run_dir)


def test_real_models_with_two_coders_default_to_the_human(tmp_path: Path) -> None:
    run_dir = scored_run(
        tmp_path,
        simulated=False,
        coders=(("heuristic", "heuristic"), ("alice", "human")),
    )
    summary = build_report(run_dir, n_perm=50)
    assert summary.coder == "alice"
    assert not summary.simulated and not summary.heuristic_only
    md = summary.report_md.read_text()
    assert "SIMULATED MODELS" not in md
    assert "FORMAT CHECK ONLY" not in md
    assert "the only human coder" in md
    assert "reaches the **interaction level**" in md


def test_judges_mean_averages_the_judges(tmp_path: Path) -> None:
    def levels(model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str) -> int:
        return 2 if coder == "judge_a" else 1

    run_dir = scored_run(
        tmp_path,
        coders=(
            ("judge_a", "llm_judge"),
            ("judge_b", "heuristic"),
            ("carol", "human"),
            ("dave", "human"),
        ),
        levels=levels,
    )
    summary = build_report(run_dir, n_perm=20)
    assert summary.coder == "judges-mean"
    assert not summary.heuristic_only
    rows = read_csv(run_dir / "report" / "profiles.csv")
    assert {row["mean"] for row in rows} == {"1.5"}
    assert {row["count_between"] for row in rows} == {str(2 * 6)}
    assert {row["coder"] for row in rows} == {"judges-mean"}


def test_hand_computed_profile_and_effect_round_trip(tmp_path: Path) -> None:
    # One model, two prompts, one replicate. bare: levels 0 and 2 -> mean 1.
    # verify: 1 and 2 -> mean 1.5; paired effect (1 + 0) / 2 = 0.5.
    table = {("bare", 0): 0, ("bare", 1): 2, ("verify", 0): 1, ("verify", 1): 2}

    def levels(model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str) -> int:
        return table[(scaffold, prompt)]

    run_dir = scored_run(
        tmp_path, models=("alpha",), n_prompts=2, replicates=1, dims=("D1",), levels=levels
    )
    build_report(run_dir, n_perm=10)
    profiles = {row["scaffold"]: row for row in read_csv(run_dir / "report" / "profiles.csv")}
    assert profiles["bare"]["mean"] == "1"
    assert (profiles["bare"]["count_0"], profiles["bare"]["count_2"]) == ("1", "1")
    assert profiles["verify"]["mean"] == "1.5"
    (effect,) = read_csv(run_dir / "report" / "effects.csv")
    assert effect["effect"] == "0.5"
    assert (effect["baseline_mean"], effect["scaffold_mean"]) == ("1", "1.5")
    assert "only 2 prompts" in effect["note"]
    (test,) = read_csv(run_dir / "report" / "interaction.csv")
    assert test["p_value"] == "" and "single model" in test["note"]
    assert_no_nan(run_dir)


# --------------------------------------------------------------------------- degenerate data


def test_one_model_one_scaffold_says_what_was_not_estimable(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, models=("alpha",), scaffolds=("bare",))
    summary = build_report(run_dir, n_perm=20)
    md = summary.report_md.read_text()
    assert "Not estimable: this run has one scaffold (bare)" in md
    assert read_csv(run_dir / "report" / "effects.csv") == []
    assert read_csv(run_dir / "report" / "interaction.csv") == []
    assert len(read_csv(run_dir / "report" / "profiles.csv")) == 3
    html_text = summary.report_html.read_text()
    assert html_text.count("<img ") == 2  # no effect plot without effects
    assert_no_nan(run_dir)


def test_all_scores_equal_and_all_null_dimension(tmp_path: Path) -> None:
    def levels(
        model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str
    ) -> int | None:
        return None if dim == "D2" else 2

    run_dir = scored_run(tmp_path, models=("alpha",), levels=levels)
    summary = build_report(run_dir, n_perm=20)
    profiles = read_csv(run_dir / "report" / "profiles.csv")
    d2 = [row for row in profiles if row["dimension"] == "D2"]
    assert all(row["mean"] == "" and "all null" in row["note"] for row in d2)
    assert all(row["count_null"] == "12" for row in d2)
    effects = {row["dimension"]: row for row in read_csv(run_dir / "report" / "effects.csv")}
    assert effects["D1"]["label"] == "ceiling"
    assert effects["D2"]["label"] == "" and "not estimable" in effects["D2"]["note"]
    md = summary.report_md.read_text()
    assert "all null" in md and "single model" not in md.split("## Does")[0]
    assert "Not estimable: one model (alpha)" in md
    assert_no_nan(run_dir)


def test_failed_cells_are_counted_and_unscored_items_noted(tmp_path: Path) -> None:
    failed = {("alpha", "verify", 0, 0): "error", ("beta", "bare", 1, 1): "blocked"}

    def levels(model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str) -> int | str:
        return "unscored" if (prompt, dim) == (2, "D3") else 1

    run_dir = scored_run(tmp_path, failed_cells=failed, levels=levels)
    summary = build_report(run_dir, n_perm=20)
    md = summary.report_md.read_text()
    assert "| alpha | verify | 12 | 11 | 1 | 0 | 11 |" in md
    assert "| beta | bare | 12 | 11 | 0 | 1 | 11 |" in md
    profiles = read_csv(run_dir / "report" / "profiles.csv")
    alpha_bare_d3 = next(
        r
        for r in profiles
        if (r["model"], r["scaffold"], r["dimension"]) == ("alpha", "bare", "D3")
    )
    assert alpha_bare_d3["count_unscored"] == "2" and alpha_bare_d3["n"] == "10"


def test_model_with_no_items_under_a_scaffold(tmp_path: Path) -> None:
    failed = {("beta", "verify", p, r): "blocked" for p in range(6) for r in range(2)}
    run_dir = scored_run(tmp_path, failed_cells=failed)
    build_report(run_dir, n_perm=20)
    profiles = read_csv(run_dir / "report" / "profiles.csv")
    beta_verify = [r for r in profiles if (r["model"], r["scaffold"]) == ("beta", "verify")]
    assert all(r["mean"] == "" and "no items" in r["note"] for r in beta_verify)
    tests = read_csv(run_dir / "report" / "interaction.csv")
    assert all(r["p_value"] == "" and "fewer than 2 models" in r["note"] for r in tests)
    assert_no_nan(run_dir)


def test_missing_leak_report_and_agreement_are_stated(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, leak_report=False, agreement=False)
    md = build_report(run_dir, n_perm=20).report_md.read_text()
    assert "Not measured: blind/leak_report.json is absent" in md
    assert "Agreement not computed; run xstress agree" in md


def test_leak_report_and_agreement_are_shown(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    md = build_report(run_dir, n_perm=20).report_md.read_text()
    assert "model: accuracy 0.61 [0.55, 0.67] vs chance 0.50" in md
    assert "above chance: blinding is partial" in md
    assert "scaffold: not measured" in md
    assert "| D1 | heuristic / alice | 24 |  | 0.500 |" in md
    assert "not estimable: one level only" in md


def test_torn_last_score_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    with (run_dir / "scores" / "heuristic.jsonl").open("a") as handle:
        handle.write('{"schema": "xstress.score/1", "blind_id": "b0')  # no newline: torn
    summary = build_report(run_dir, n_perm=20)
    assert any("heuristic.jsonl: skipped a torn last line" in w for w in summary.warnings)
    assert "skipped a torn last line" in summary.report_md.read_text()


def test_an_unreadable_last_line_with_its_newline_is_an_input_error(tmp_path: Path) -> None:
    # A complete line that does not parse is damage, not a crash mid-append.
    run_dir = scored_run(tmp_path)
    with (run_dir / "scores" / "heuristic.jsonl").open("a") as handle:
        handle.write('{"schema": "xstress.score/1", "blind_id": "b0\n')
    with pytest.raises(InputError, match=r"heuristic\.jsonl: line \d+ is not a valid score"):
        build_report(run_dir, n_perm=20)


# --------------------------------------------------------------------------- user errors


def test_no_key_is_an_input_error(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    (run_dir / "blind" / "key.jsonl").unlink()
    with pytest.raises(InputError) as info:
        build_report(run_dir)
    assert "run xstress blind" in info.value.one_line()


def test_no_scores_is_an_input_error(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, coders=())
    with pytest.raises(InputError) as info:
        build_report(run_dir)
    assert "run xstress score" in info.value.one_line()


def test_unknown_coder_and_baseline_are_input_errors(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    with pytest.raises(InputError) as info:
        build_report(run_dir, coder="nobody")
    assert "heuristic" in info.value.one_line()
    with pytest.raises(InputError, match="no LLM or heuristic judge"):
        build_report(
            scored_run(tmp_path / "h", coders=(("alice", "human"),)), coder="judges-mean"
        )
    with pytest.raises(InputError, match="baseline scaffold 'plain'"):
        build_report(run_dir, baseline="plain")


def test_corrupt_middle_line_is_an_input_error(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    path = run_dir / "blind" / "key.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="line 4"):
        build_report(run_dir)


def test_a_model_with_no_blinded_item_is_reported_missing(tmp_path: Path) -> None:
    failed = {
        ("beta", s, p, r): "error" for s in ("bare", "verify") for p in range(6) for r in range(2)
    }
    run_dir = scored_run(tmp_path, failed_cells=failed)
    summary = build_report(run_dir, n_perm=20)
    md = summary.report_md.read_text()
    assert "beta under bare: no blinded item" in md
    assert "| beta | verify | 12 | 0 | 12 | 0 | 0 | 0 | 0 |" in md
    assert {row["model"] for row in read_csv(run_dir / "report" / "profiles.csv")} == {"alpha"}


def test_repeated_and_unknown_score_records_are_warned(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, dims=("D1",))
    path = run_dir / "scores" / "heuristic.jsonl"
    lines = path.read_text().splitlines()
    extra = json.loads(lines[0])
    extra["level"] = 0
    stranger = dict(extra, blind_id="not-in-key")
    path.write_text("\n".join([*lines, json.dumps(extra), json.dumps(stranger)]) + "\n")
    summary = build_report(run_dir, n_perm=20)
    assert any("1 repeated (blind_id, dimension)" in w for w in summary.warnings)
    assert any("1 records name a blind_id absent" in w for w in summary.warnings)


def test_adjudicated_is_the_default_among_several_humans(tmp_path: Path) -> None:
    run_dir = scored_run(
        tmp_path, coders=(("carol", "human"), ("dave", "human"), ("adjudicated", "human"))
    )
    summary = build_report(run_dir, n_perm=20)
    assert summary.coder == "adjudicated"
    assert "the adjudicated scores" in summary.report_md.read_text()
    with pytest.raises(InputError, match="no rule picks one"):
        build_report(scored_run(tmp_path / "x", coders=(("carol", "human"), ("dave", "human"))))


def test_bad_resampling_counts_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="n_perm must be"):
        build_report(tmp_path, n_perm=-1)


# --------------------------------------------------------------------------- the rubric


def test_the_rubric_the_run_directory_stores_names_the_dimensions(tmp_path: Path) -> None:
    rubric = small_rubric(("D1", "D2", "D3"))
    md = build_report(scored_run(tmp_path), n_perm=20).report_md.read_text()
    assert f"| rubric | mini | {content_hash(rubric)} |" in md
    assert "Dimensions: D1 dimension D1; D2 dimension D2; D3 dimension D3." in md


def test_the_manifest_rubric_is_used_when_the_scores_were_made_with_it(tmp_path: Path) -> None:
    rubric = small_rubric(("D1", "D2", "D3"), name="configured")
    run_dir = scored_run(tmp_path, rubric_hash=content_hash(rubric))  # nothing stored
    models, scaffolds = ("alpha", "beta"), ("bare", "verify")
    prompt_ids = [f"scenario-{p:02d}" for p in range(6)]
    write_manifest(run_dir, models=models, scaffolds=scaffolds, prompt_ids=prompt_ids,
                   replicates=2, rubric=rubric)
    md = build_report(run_dir, n_perm=20).report_md.read_text()
    assert f"| rubric | configured | {content_hash(rubric)} |" in md
    other = small_rubric(("D1", "D2", "D3"), name="not-the-one")
    write_manifest(run_dir, models=models, scaffolds=scaffolds, prompt_ids=prompt_ids,
                   replicates=2, rubric=other)
    md = build_report(run_dir, n_perm=20).report_md.read_text()
    assert "| rubric | (not loaded: dimension ids only) |" in md


def test_without_a_matching_rubric_the_report_uses_dimension_ids(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path, rubric_hash="0" * 64)
    md = build_report(run_dir, n_perm=20).report_md.read_text()
    assert f"| rubric | (not loaded: dimension ids only) | {'0' * 64} |" in md
    assert "D3 (" not in md


def test_a_rubric_given_wins_and_a_mismatch_is_a_warning(tmp_path: Path) -> None:
    given = small_rubric(("D1", "D2", "D3"), name="given")
    summary = build_report(scored_run(tmp_path), n_perm=20, rubric=given)
    assert "| rubric | given |" in summary.report_md.read_text()
    assert any("the rubric given (given) is not the one the scores were made with" in w
               for w in summary.warnings)


def test_a_stored_rubric_that_does_not_match_its_hash_is_ignored(tmp_path: Path) -> None:
    run_dir = scored_run(tmp_path)
    stored = RunDir(run_dir).rubric(content_hash(small_rubric(("D1", "D2", "D3"))))
    write_record_atomic(stored, small_rubric(("D1", "D2", "D3"), name="edited"))
    summary = build_report(run_dir, n_perm=20)
    assert "| rubric | (not loaded: dimension ids only) |" in summary.report_md.read_text()
    assert any("does not match its hash; ignored" in w for w in summary.warnings)

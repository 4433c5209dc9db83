"""Tests for harness/report.py: a synthetic run directory in, report.md / report.html / CSVs
out. Checks what the report must say (simulated and heuristic banners, the coder used,
degenerate cases as notes), the CSV shapes, hand-computed numbers surviving the round trip,
and the user errors (no key, no scores, unknown coder, unknown baseline)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.report.build import build_report
from harness.rundir.records import KeyEntry, Message, ScoreRecord, TranscriptRecord, Usage
from harness.schema import ModelParams, RubricDimension, RubricSpec, content_hash

# (model, scaffold, prompt index, replicate, dimension, coder) -> a level, None (null) or
# "unscored".
LevelFn = Callable[[str, str, int, int, str, str], "int | str | None"]

NOW = "2026-11-27T10:00:00+00:00"


def default_levels(model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str) -> int:
    base = (prompt + rep + int(dim[1:])) % 3
    if scaffold != "bare" and model == "alpha":
        return min(2, base + 1)
    return base


def small_rubric(dims: Sequence[str]) -> RubricSpec:
    return RubricSpec(
        name="mini",
        dimensions=[
            RubricDimension(
                id=d,
                name=f"dimension {d}",
                definition=f"What {d} measures.",
                levels={0: "absent", 1: "partial", 2: "full"},
            )
            for d in dims
        ],
    )


def make_run_dir(
    root: Path,
    *,
    models: Sequence[str] = ("alpha", "beta"),
    scaffolds: Sequence[str] = ("bare", "verify"),
    n_prompts: int = 6,
    replicates: int = 2,
    dims: Sequence[str] = ("D1", "D2", "D3"),
    levels: LevelFn = default_levels,
    coders: Sequence[tuple[str, str]] = (("heuristic", "heuristic"),),
    simulated: bool = True,
    leak_report: bool = True,
    agreement: bool = True,
    failed_cells: dict[tuple[str, str, int, int], str] | None = None,
    rubric_hash: str | None = None,
) -> Path:
    """Write a complete run directory per contracts.md and return its path.

    ``failed_cells`` maps (model, scaffold, prompt, replicate) to ``error`` or ``blocked``:
    such cells get a transcript but no key entry and no scores.
    """
    run_dir = root / "run"
    (run_dir / "blind").mkdir(parents=True)
    (run_dir / "scores").mkdir()
    rubric = small_rubric(dims)
    failed_cells = failed_cells or {}
    prompt_ids = [f"scenario-{p:02d}" for p in range(n_prompts)]
    transcripts: list[TranscriptRecord] = []
    key: list[KeyEntry] = []
    for model in models:
        for scaffold in scaffolds:
            for p, prompt_id in enumerate(prompt_ids):
                for rep in range(replicates):
                    cell_id = f"{model}.{scaffold}.{prompt_id}.{rep}"
                    status = failed_cells.get((model, scaffold, p, rep), "ok")
                    transcripts.append(
                        TranscriptRecord(
                            run_id="run-test",
                            cell_id=cell_id,
                            model=model,
                            scaffold=scaffold,
                            prompt_id=prompt_id,
                            prompt_set="mini",
                            domain="health",
                            probe="checkable",
                            replicate=rep,
                            status=status,
                            simulated=simulated,
                            messages=[Message(role="user", content="hello")],
                            calls=[],
                            usage=Usage(),
                            cost_usd=None,
                            started_at=NOW,
                            finished_at=NOW,
                            scaffold_hash="s" * 64,
                            prompt_hash="p" * 64,
                            model_hash="m" * 64,
                            model_params=ModelParams(),
                            litellm_model=f"xstress-sim/{model}",
                        )
                    )
                    if status == "ok":
                        key.append(
                            KeyEntry(
                                blind_id=f"b{len(key):05d}",
                                cell_id=cell_id,
                                model=model,
                                scaffold=scaffold,
                                prompt_id=prompt_id,
                                replicate=rep,
                            )
                        )
    with (run_dir / "transcripts.jsonl").open("w") as handle:
        for record in transcripts:
            handle.write(record.model_dump_json(by_alias=True) + "\n")
    with (run_dir / "blind" / "key.jsonl").open("w") as handle:
        for entry in key:
            handle.write(entry.model_dump_json() + "\n")
    for coder, kind in coders:
        with (run_dir / "scores" / f"{coder}.jsonl").open("w") as handle:
            for entry in key:
                prompt = prompt_ids.index(entry.prompt_id)
                for dim in dims:
                    value = levels(entry.model, entry.scaffold, prompt, entry.replicate, dim, coder)
                    status = (
                        "unscored" if value == "unscored" else "null" if value is None else "scored"
                    )
                    score = ScoreRecord(
                        blind_id=entry.blind_id,
                        dimension=dim,
                        coder=coder,
                        coder_kind=kind,
                        status=status,
                        level=value if isinstance(value, int) else None,
                        reason=None if status == "scored" else "not applicable here",
                        rubric_hash=rubric_hash or content_hash(rubric),
                        coder_hash=None if kind == "human" else content_hash({"judge": coder}),
                        scored_at=NOW,
                    )
                    handle.write(score.model_dump_json(by_alias=True) + "\n")
    manifest = {
        "schema": "xstress.manifest/1",
        "run_id": "run-test",
        "simulated": simulated,
        "config": {
            "models": [
                {
                    "name": m,
                    "litellm_model": f"xstress-sim/{m}" if simulated else f"openai/{m}",
                    "family": "sim",
                }
                for m in models
            ],
            "scaffolds": [{"name": s} for s in scaffolds],
            "prompts": {
                "name": "mini",
                "scenarios": [
                    {
                        "id": pid,
                        "domain": ["health", "finance"][i % 2],
                        "probe": "checkable",
                        "targets": ["D1"],
                        "turns": [{"user": "hi"}],
                    }
                    for i, pid in enumerate(prompt_ids)
                ],
            },
            "run": {"replicates": replicates},
            "provider": {"mode": "live"},
        },
        "hashes": {
            "models": {m: f"{m}-hash" for m in models},
            "scaffolds": {s: f"{s}-hash" for s in scaffolds},
            "prompts": "prompts-hash",
        },
        "versions": {"xstress": "0.1.0", "litellm": "1.110.2", "python": "3.11"},
        "git_commit": "abc123",
        "counts": {},
        "cost_usd": None,
        "started_at": NOW,
        "finished_at": NOW,
        "model_versions": {m: [f"{m}-2026-01-01"] for m in models},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    if leak_report:
        identifiability = {
            "target": "model",
            "method": "tfidf-logreg",
            "accuracy": 0.61,
            "ci_low": 0.55,
            "ci_high": 0.67,
            "chance": 0.5,
            "n_items": len(key),
            "n_classes": len(models),
            "n_folds": 5,
        }
        (run_dir / "blind" / "leak_report.json").write_text(
            json.dumps(
                {
                    "schema": "xstress.leak_report/1",
                    "n_transcripts": len(transcripts),
                    "n_items": len(key),
                    "excluded": [],
                    "replacements": {},
                    "remaining_tells": [],
                    "known_limits": ["style differences between models are not scrubbed"],
                    "identifiability": identifiability,
                    "scaffold_identifiability": None,
                }
            )
        )
    if agreement:
        (run_dir / "report").mkdir()
        with (run_dir / "report" / "agreement.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["dimension", "coder_a", "coder_b", "statistic", "n_items", "value", "note"]
            )
            for dim in dims:
                writer.writerow([dim, "heuristic", "alice", "cohen_kappa", 24, "0.5", ""])
                writer.writerow(
                    [
                        dim,
                        "all",
                        "",
                        "krippendorff_alpha_ordinal",
                        24,
                        "",
                        "not estimable: one level only",
                    ]
                )
    return run_dir


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
    run_dir = make_run_dir(tmp_path)
    summary = build_report(run_dir, n_boot=200, n_perm=100, rubric=small_rubric(["D1", "D2", "D3"]))
    for path in summary.paths:
        assert path.is_file() and path.stat().st_size > 0, path
    assert summary.simulated and summary.heuristic_only
    assert summary.coder == "heuristic"
    md = summary.report_md.read_text()
    head = md.split("## Findings")[0]
    assert "**SIMULATED MODELS" in head
    assert "**HEURISTIC CODER ONLY" in head
    assert "Scores used: **heuristic** (the only coder)" in md
    assert "SIMULATED MODELS" in summary.text
    html_text = summary.report_html.read_text()
    assert html_text.count('src="data:image/png;base64,') == 3
    assert 'class="banner"' in html_text
    assert "http://" not in html_text and "https://" not in html_text
    assert_no_nan(run_dir)


def test_real_models_with_two_coders_default_to_the_human(tmp_path: Path) -> None:
    run_dir = make_run_dir(
        tmp_path,
        simulated=False,
        coders=(("heuristic", "heuristic"), ("alice", "human")),
    )
    summary = build_report(run_dir, n_boot=100, n_perm=50)
    assert summary.coder == "alice"
    assert not summary.simulated and not summary.heuristic_only
    md = summary.report_md.read_text()
    assert "SIMULATED MODELS" not in md
    assert "HEURISTIC CODER ONLY" not in md
    assert "the only human coder" in md
    assert "reaches the **interaction level**" in md


def test_judges_mean_averages_the_judges(tmp_path: Path) -> None:
    def levels(model: str, scaffold: str, prompt: int, rep: int, dim: str, coder: str) -> int:
        return 2 if coder == "judge_a" else 1

    run_dir = make_run_dir(
        tmp_path,
        coders=(
            ("judge_a", "llm_judge"),
            ("judge_b", "heuristic"),
            ("carol", "human"),
            ("dave", "human"),
        ),
        levels=levels,
    )
    summary = build_report(run_dir, n_boot=50, n_perm=20)
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

    run_dir = make_run_dir(
        tmp_path, models=("alpha",), n_prompts=2, replicates=1, dims=("D1",), levels=levels
    )
    build_report(run_dir, n_boot=100, n_perm=10)
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
    run_dir = make_run_dir(tmp_path, models=("alpha",), scaffolds=("bare",))
    summary = build_report(run_dir, n_boot=50, n_perm=20)
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

    run_dir = make_run_dir(tmp_path, models=("alpha",), levels=levels)
    summary = build_report(run_dir, n_boot=50, n_perm=20)
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

    run_dir = make_run_dir(tmp_path, failed_cells=failed, levels=levels)
    summary = build_report(run_dir, n_boot=50, n_perm=20)
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
    run_dir = make_run_dir(tmp_path, failed_cells=failed)
    build_report(run_dir, n_boot=50, n_perm=20)
    profiles = read_csv(run_dir / "report" / "profiles.csv")
    beta_verify = [r for r in profiles if (r["model"], r["scaffold"]) == ("beta", "verify")]
    assert all(r["mean"] == "" and "no items" in r["note"] for r in beta_verify)
    tests = read_csv(run_dir / "report" / "interaction.csv")
    assert all(r["p_value"] == "" and "fewer than 2 models" in r["note"] for r in tests)
    assert_no_nan(run_dir)


def test_missing_leak_report_and_agreement_are_stated(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path, leak_report=False, agreement=False)
    md = build_report(run_dir, n_boot=50, n_perm=20).report_md.read_text()
    assert "Not measured: blind/leak_report.json is absent" in md
    assert "Agreement not computed; run xstress agree" in md


def test_leak_report_and_agreement_are_shown(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    md = build_report(run_dir, n_boot=50, n_perm=20).report_md.read_text()
    assert "model: accuracy 0.61 [0.55, 0.67] vs chance 0.50" in md
    assert "above chance: blinding is partial" in md
    assert "scaffold: not measured" in md
    assert "| D1 | heuristic / alice | 24 |  | 0.500 |" in md
    assert "not estimable: one level only" in md


def test_torn_last_score_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    with (run_dir / "scores" / "heuristic.jsonl").open("a") as handle:
        handle.write('{"schema": "xstress.score/1", "blind_id": "b0')
    summary = build_report(run_dir, n_boot=50, n_perm=20)
    assert any("unreadable last line" in w for w in summary.warnings)
    assert "unreadable last line" in summary.report_md.read_text()


# --------------------------------------------------------------------------- user errors


def test_no_key_is_an_input_error(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    (run_dir / "blind" / "key.jsonl").unlink()
    with pytest.raises(InputError) as info:
        build_report(run_dir)
    assert "run xstress blind" in info.value.one_line()


def test_no_scores_is_an_input_error(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path, coders=())
    with pytest.raises(InputError) as info:
        build_report(run_dir)
    assert "run xstress score" in info.value.one_line()


def test_unknown_coder_and_baseline_are_input_errors(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    with pytest.raises(InputError) as info:
        build_report(run_dir, coder="nobody")
    assert "heuristic" in info.value.one_line()
    with pytest.raises(InputError, match="no LLM or heuristic judge"):
        build_report(
            make_run_dir(tmp_path / "h", coders=(("alice", "human"),)), coder="judges-mean"
        )
    with pytest.raises(InputError, match="baseline scaffold 'plain'"):
        build_report(run_dir, baseline="plain")


def test_corrupt_middle_line_is_an_input_error(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
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
    run_dir = make_run_dir(tmp_path, failed_cells=failed)
    summary = build_report(run_dir, n_boot=50, n_perm=20)
    md = summary.report_md.read_text()
    assert "beta under bare: no blinded item" in md
    assert "| beta | verify | 12 | 0 | 12 | 0 | 0 | 0 | 0 |" in md
    assert {row["model"] for row in read_csv(run_dir / "report" / "profiles.csv")} == {"alpha"}


def test_repeated_and_unknown_score_records_are_warned(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path, dims=("D1",))
    path = run_dir / "scores" / "heuristic.jsonl"
    lines = path.read_text().splitlines()
    extra = json.loads(lines[0])
    extra["level"] = 0
    stranger = dict(extra, blind_id="not-in-key")
    path.write_text("\n".join([*lines, json.dumps(extra), json.dumps(stranger)]) + "\n")
    summary = build_report(run_dir, n_boot=50, n_perm=20)
    assert any("1 repeated (blind_id, dimension)" in w for w in summary.warnings)
    assert any("1 records name a blind_id absent" in w for w in summary.warnings)


def test_adjudicated_is_the_default_among_several_humans(tmp_path: Path) -> None:
    run_dir = make_run_dir(
        tmp_path, coders=(("carol", "human"), ("dave", "human"), ("adjudicated", "human"))
    )
    summary = build_report(run_dir, n_boot=50, n_perm=20)
    assert summary.coder == "adjudicated"
    assert "the adjudicated scores" in summary.report_md.read_text()
    with pytest.raises(InputError, match="no rule picks one"):
        build_report(make_run_dir(tmp_path / "x", coders=(("carol", "human"), ("dave", "human"))))


def test_bad_resampling_counts_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="n_boot must be"):
        build_report(tmp_path, n_boot=0)


def test_the_project_rubric_is_used_when_the_scores_were_made_with_it(tmp_path: Path) -> None:
    from harness.config import load_spec

    rubric = load_spec("rubric", "interactional8")
    run_dir = make_run_dir(
        tmp_path, dims=[d.id for d in rubric.dimensions], rubric_hash=content_hash(rubric)
    )
    md = build_report(run_dir, n_boot=50, n_perm=20).report_md.read_text()
    assert f"| rubric | interactional8 | {content_hash(rubric)} |" in md
    assert f"D3 ({rubric.dimensions[2].name})" in md
    other = make_run_dir(tmp_path / "other")
    md = build_report(other, n_boot=50, n_perm=20).report_md.read_text()
    assert "| rubric | (not loaded: dimension ids only) |" in md

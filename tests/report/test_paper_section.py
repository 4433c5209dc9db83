"""Tests for harness/report/sections/paper.py and the data behind it: the paper's published
figures (configs/paper/published.yaml, its schema and loader) printed in their own table beside
this run's own figures, never mixed; the section's triggers (the paper preset in the manifest,
or the paper's design); and the paper preset itself (180 cells, recorded in the manifest)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.config import compose, load_published_figures, resolve
from harness.errors import ConfigError
from harness.report import build_report
from harness.rundir import Manifest, RunDir, read_manifests, write_record_atomic
from harness.schema import PublishedContrast, PublishedDesign
from harness.testing.rundirs import scored_run
from tests.conftest import Ran

Xstress = Callable[..., Ran]
PAPER_SCAFFOLDS = ("bare", "generic", "steer", "verify")
HEADING = "## The paper's published figures beside this run"


def paper_run(root: Path, *, preset: str | None = "paper", models: Sequence[str] = (
        "alpha", "beta", "gamma"), simulated: bool = True, prompt_set: str = "mini",
              n_prompts: int = 6) -> Path:
    """A scored run of the paper's four scaffolds whose manifest names ``preset``."""
    run_dir = scored_run(root, models=models, scaffolds=PAPER_SCAFFOLDS, n_prompts=n_prompts,
                         replicates=1, dims=("D1", "D3"), simulated=simulated)
    layout = RunDir(run_dir)
    manifest = read_manifests(layout)[0]
    prompts = manifest.config.prompts.model_copy(update={"name": prompt_set})
    config = manifest.config.model_copy(update={"preset": preset, "prompts": prompts})
    write_record_atomic(layout.manifest(), Manifest.model_validate(
        manifest.model_copy(update={"config": config}).model_dump(by_alias=True)))
    return run_dir


def section(markdown: str) -> str:
    assert HEADING in markdown
    return markdown.split(HEADING)[1].split("\n## ")[0]


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table after ``heading``."""
    lines = text.split(heading)[1].strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return [rows[0], *rows[2:]]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- the section


def test_paper_preset_prints_the_published_figures_in_their_own_table(tmp_path: Path) -> None:
    summary = build_report(paper_run(tmp_path), n_perm=50)
    text = section(summary.report_md.read_text(encoding="utf-8"))
    assert "This run used preset paper" in text
    assert ("\"Deployment-Relevant Alignment Cannot Be Inferred from Model-Level Evaluation "
            "Alone\" (2026)") in text
    published = table_after(text, "### Published (the paper)")
    assert published[0] == ["figure", "published (the paper)", "note"]
    values = {row[1] for row in published[1:]}
    assert {"0.42 -> 2.00", "flat", "0.87"} <= values
    assert ("3 models x 4 scaffolds x 15 prompts = 180 transcripts, 8 dimensions") in values
    flat = next(row for row in published if row[1] == "flat")
    assert "the other model (the paper's label)" in flat[0] and "C1 -> C4" in flat[0]
    assert "no confidence intervals" in text and "the paper's own labelling" in text
    assert "xstress's mapping, not the paper's" in text
    # the published table names no model of this run, the run's tables no published number
    assert not any(model in cell for row in published for cell in row
                   for model in ("alpha", "beta", "gamma"))
    run_part = text.split("### This run")[1]
    assert "0.42" not in run_part and "0.87" not in run_part and "2.00 ->" not in run_part
    assert "What a difference between the two would mean" in text
    assert "SIMULATED MODELS" in text


def test_this_run_s_figures_are_the_profiles_and_effects_of_the_run(tmp_path: Path) -> None:
    run_dir = paper_run(tmp_path)
    summary = build_report(run_dir, n_perm=50)
    rows = table_after(section(summary.report_md.read_text(encoding="utf-8")), "### This run")
    assert rows[0] == ["model (this run)", "D3 under bare (C1)", "95% CI", "D3 under verify (C4)",
                       "95% CI", "effect verify - bare", "95% CI", "label"]
    profiles = {(r["model"], r["scaffold"]): r for r in read_csv(run_dir / "report" /
                                                                  "profiles.csv")
                if r["dimension"] == "D3"}
    effects = {r["model"]: r for r in read_csv(run_dir / "report" / "effects.csv")
               if r["dimension"] == "D3" and r["scaffold"] == "verify"}
    assert [row[0] for row in rows[1:]] == ["alpha", "beta", "gamma"]
    for model, bare, _, verify, _, effect, _, label in rows[1:]:
        assert float(bare) == pytest.approx(float(profiles[model, "bare"]["mean"]), abs=0.005)
        assert float(verify) == pytest.approx(float(profiles[model, "verify"]["mean"]),
                                              abs=0.005)
        assert float(effect) == pytest.approx(float(effects[model]["effect"]), abs=0.005)
        assert label == effects[model]["label"]
    # default_levels: the scaffold lifts alpha only (hand-computed: D3 bare levels over the six
    # prompts are 0,1,2,0,1,2 -> 1.00; verify lifts each by one, capped at 2 -> 1.67)
    assert rows[1][1:2] == ["1.00"] and rows[1][3] == "1.67" and rows[2][5] == "+0.00"


def test_the_run_s_agreement_is_its_own_table(tmp_path: Path) -> None:
    summary = build_report(paper_run(tmp_path), n_perm=50)
    text = section(summary.report_md.read_text(encoding="utf-8"))
    agreement = table_after(text, "per dimension and per pair.")
    assert agreement[0][0] == "coders (this run)"
    assert [row[:4] for row in agreement[1:]] == [["heuristic vs alice", "D1", "24", "0.50"],
                                                  ["heuristic vs alice", "D3", "24", "0.50"]]


def test_no_agreement_file_says_not_computed(tmp_path: Path) -> None:
    run_dir = paper_run(tmp_path)
    RunDir(run_dir).agreement.unlink()
    text = section(build_report(run_dir, n_perm=0).report_md.read_text())
    assert "Agreement: not computed for this run" in text


def test_html_carries_the_same_section(tmp_path: Path) -> None:
    summary = build_report(paper_run(tmp_path), n_perm=0)
    page = summary.report_html.read_text(encoding="utf-8")
    assert "Published (the paper)" in page and "0.42 -&gt; 2.00" in page


def test_no_section_without_the_preset_or_the_design(tmp_path: Path) -> None:
    summary = build_report(paper_run(tmp_path, preset=None), n_perm=0)
    assert "The paper's published figures" not in summary.report_md.read_text()


def test_a_run_with_the_paper_s_design_gets_the_section(tmp_path: Path) -> None:
    run_dir = paper_run(tmp_path, preset=None, models=("gpt4o", "claude", "gemini"),
                        simulated=False, prompt_set="stress15", n_prompts=15)
    text = section(build_report(run_dir, n_perm=0).report_md.read_text())
    assert "This run has the paper's design" in text and "SIMULATED" not in text


def test_simulated_models_never_count_as_the_paper_s_design(tmp_path: Path) -> None:
    run_dir = paper_run(tmp_path / "a", preset=None, prompt_set="stress15", n_prompts=15)
    assert HEADING not in build_report(run_dir, n_perm=0).report_md.read_text()


def test_a_broken_figures_file_is_named_not_fatal(tmp_path: Path, project: Path) -> None:
    path = project / "configs" / "paper" / "published.yaml"
    path.write_text(path.read_text().replace("year: 2026", "year: soon"))
    text = build_report(paper_run(tmp_path), n_perm=0).report_md.read_text()
    assert ("This run used preset paper, but the paper's figures cannot be shown: "
            "configs/paper/published.yaml: field 'source.year'") in text


# --------------------------------------------------------------------------- the data


def test_shipped_figures_are_the_paper_s() -> None:
    figures = load_published_figures()
    assert figures.source.title == ("Deployment-Relevant Alignment Cannot Be Inferred from "
                                    "Model-Level Evaluation Alone")
    assert figures.source.year == 2026
    assert figures.design == PublishedDesign(models=3, scaffolds=4, prompts=15, transcripts=180,
                                             dimensions=8)
    numbered = [c for c in figures.contrasts if c.from_mean is not None]
    assert [(c.dimension, c.from_condition, c.to_condition, c.from_mean, c.to_mean)
            for c in numbered] == [("D3", "C1", "C4", 0.42, 2.0)]
    assert [c.stated for c in figures.contrasts if c.from_mean is None] == ["flat"]
    assert [(s.value, "kappa" in s.name) for s in figures.statistics] == [(0.87, True)]


def test_the_mapping_is_the_paper_preset_s_scaffolds_in_order(project: Path) -> None:
    figures = load_published_figures()
    config = resolve(compose(["preset=paper"]))
    assert [c.id for c in figures.conditions] == ["C1", "C2", "C3", "C4"]
    assert tuple(c.scaffold for c in figures.conditions) == tuple(
        s.name for s in config.scaffolds) == PAPER_SCAFFOLDS
    assert config.prompts.name == figures.prompt_set
    assert len(config.prompts.scenarios) == figures.design.prompts
    assert len(config.models) == figures.design.models
    preset_text = (project / "configs" / "preset" / "paper.yaml").read_text()
    for condition in figures.conditions:
        assert f"{condition.id} = {condition.scaffold}" in preset_text


def test_schema_refuses_figures_that_do_not_add_up() -> None:
    with pytest.raises(ValidationError, match="3 models x 4 scaffolds x 15 prompts is 180"):
        PublishedDesign(models=3, scaffolds=4, prompts=15, transcripts=150, dimensions=8)
    with pytest.raises(ValidationError, match="both from_mean and to_mean"):
        PublishedContrast(model="m", dimension="D3", from_condition="C1", to_condition="C4",
                          from_mean=0.42, stated="0.42 -> ?")
    with pytest.raises(ValidationError):
        PublishedContrast(model="m", dimension="D3", from_condition="C1", to_condition="C4",
                          from_mean=0.4, to_mean=2.5, stated="beyond the scale")


def test_loader_names_the_file_and_field(project: Path) -> None:
    path = project / "configs" / "paper" / "published.yaml"
    path.write_text(path.read_text().replace("to_condition: C4", "to_condition: C9", 1))
    with pytest.raises(ConfigError, match=r"configs/paper/published.yaml: .*condition C9 is "
                                          r"not among the conditions"):
        load_published_figures()
    path.write_text("name: other\n")
    with pytest.raises(ConfigError, match="field 'source': required field is missing"):
        load_published_figures()


# --------------------------------------------------------------------------- the preset


def test_plan_of_the_paper_preset_prints_180_cells(xstress: Xstress) -> None:
    ran = xstress("plan", "preset=paper")
    assert ran.code == 0, ran.err
    assert "cells: 180" in ran.out
    assert "by model:    gpt4o 60, claude 60, gemini 60" in ran.out
    assert "by scaffold: bare 45, generic 45, steer 45, verify 45" in ran.out
    assert "prompt set: stress15 (15 scenarios); replicates: 1" in ran.out


def test_paper_preset_selects_the_llm_judge_panel_and_is_recorded(project: Path) -> None:
    config = resolve(compose(["preset=paper"]))
    assert config.preset == "paper"
    assert config.to_manifest()["preset"] == "paper"
    assert [j.name for j in config.judges] == ["gpt4o_judge", "claude_judge"]
    assert all(j.kind == "llm" for j in config.judges)
    assert config.run.replicates == 1


def test_a_sweep_under_the_paper_preset_records_it_in_the_manifest(xstress: Xstress,
                                                                   tmp_path: Path) -> None:
    ran = xstress("run", "preset=paper", "models=[sim-cautious]", "scaffolds=[bare]",
                  "users=sim-user", "pipeline.stages=[sweep]", f"run.out_dir={tmp_path}",
                  "run.name=paper")
    assert ran.code == 0, ran.err
    (manifest,) = read_manifests(RunDir(tmp_path / "paper"))
    assert manifest.config.preset == "paper"
    assert manifest.cells == 15

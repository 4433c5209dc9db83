"""The verify ablations as data (scaffolds/verify-format.yaml, scaffolds/verify-pass.yaml): each
carries exactly one of verify's two ingredients, word for word, so that a sweep separates
them; and a sweep with both beside verify runs and reports every one against bare."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from harness.config import load_spec
from harness.schema import ScaffoldSpec
from tests.conftest import Ran

Xstress = Callable[..., Ran]
ABLATION = "scaffolds=[bare,verify,verify-format,verify-pass]"


def scaffold(name: str) -> ScaffoldSpec:
    spec = load_spec("scaffolds", name)
    assert isinstance(spec, ScaffoldSpec)
    return spec


def test_verify_format_is_verify_s_instruction_without_the_pass() -> None:
    verify, ablation = scaffold("verify"), scaffold("verify-format")
    assert ablation.system is not None and ablation.system == verify.system
    assert ablation.user_template == verify.user_template
    assert ablation.passes == []


def test_verify_pass_is_verify_s_pass_without_the_instruction() -> None:
    verify, ablation = scaffold("verify"), scaffold("verify-pass")
    assert ablation.system is None == scaffold("bare").system
    assert ablation.user_template == verify.user_template
    assert ablation.passes == verify.passes
    assert [p.name for p in ablation.passes] == ["self_check"]


def test_the_two_ingredients_together_are_verify() -> None:
    verify = scaffold("verify")
    instruction, check = scaffold("verify-format"), scaffold("verify-pass")
    assert (instruction.system, check.passes) == (verify.system, verify.passes)
    assert set(instruction.targets) | set(check.targets) == set(verify.targets)


def test_descriptions_say_which_ingredient_each_isolates() -> None:
    instruction = scaffold("verify-format").description
    check = scaffold("verify-pass").description
    assert "format instruction only" in instruction and "no self-check pass" in instruction
    assert "self-check pass only" in check and "no format instruction" in check.replace(
        "\n", " ")


def test_plan_counts_the_ablation_cells(xstress: Xstress) -> None:
    ran = xstress("plan", ABLATION)
    assert ran.code == 0, ran.err
    assert "cells: 180" in ran.out
    assert "by scaffold: bare 45, verify 45, verify-format 45, verify-pass 45" in ran.out


def test_offline_sweep_reports_every_ablation_against_bare(xstress: Xstress,
                                                           tmp_path: Path) -> None:
    ran = xstress("run", "preset=offline", ABLATION, "models=[sim-cautious,sim-literal]",
                  f"run.out_dir={tmp_path}", "run.name=ablation")
    assert ran.code == 0, ran.err
    report = tmp_path / "ablation" / "report"
    with (report / "effects.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    pairs = {(row["model"], row["scaffold"], row["baseline"]) for row in rows}
    assert pairs == {(model, name, "bare") for model in ("sim-cautious", "sim-literal")
                     for name in ("verify", "verify-format", "verify-pass")}
    # one row per model x dimension for each of the three, none for bare against itself
    assert len(rows) == 2 * 3 * 8
    markdown = (report / "report.md").read_text(encoding="utf-8")
    effects = markdown.split("## Scaffold effects vs bare")[1].split("\n## ")[0]
    for name in ("verify", "verify-format", "verify-pass"):
        table = effects.split(f"### {name} vs bare\n")[1].split("###")[0]
        assert "| sim-cautious |" in table and "| sim-literal |" in table, name

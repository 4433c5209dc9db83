"""``xstress compare``: the protocol check first, then the side-by-side of profiles and effects.

Run A is the session's offline run. Run B adds a model to A's study the way a lab would:
``protocol export`` of A, then ``run protocol=FILE models=[sim-other]`` (a copy of sim-eager
under another name, in a private config copy). Run C is the same model under a private config
whose ``verify`` scaffold has one word changed: a different protocol. B and C skip the report
stage (compare computes from the scores); both are shared by the module.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main
from tests.conftest import ROOT, Ran

STAGES = "pipeline.stages=[sweep,blind,score]"


@dataclass(frozen=True)
class Study:
    """The runs of the module."""

    a: Path
    b: Path
    c: Path


def _project(root: Path, *, edit_verify: bool) -> Path:
    shutil.copytree(ROOT / "configs", root / "configs")
    shutil.copytree(ROOT / "scaffolds", root / "scaffolds")
    eager = (root / "configs/models/sim-eager.yaml").read_text(encoding="utf-8")
    (root / "configs/models/sim-other.yaml").write_text(
        eager.replace("name: sim-eager", "name: sim-other"), encoding="utf-8")
    if edit_verify:
        verify = root / "scaffolds/verify.yaml"
        text = verify.read_text(encoding="utf-8")
        assert text.count("in plain language") == 1
        verify.write_text(text.replace("in plain language", "in simple language"),
                          encoding="utf-8")
    return root


def _run_in(project: Path, *args: str) -> int:
    saved = os.environ.get("XSTRESS_ROOT")
    os.environ["XSTRESS_ROOT"] = str(project)
    try:
        return main(list(args))
    finally:
        if saved is None:
            os.environ.pop("XSTRESS_ROOT", None)
        else:
            os.environ["XSTRESS_ROOT"] = saved


@pytest.fixture(scope="module")
def study(offline_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    base = tmp_path_factory.mktemp("compare")
    protocol = base / "study.protocol.yaml"
    assert main(["protocol", "export", str(offline_run), f"out={protocol}"]) == 0
    same = _project(base / "same", edit_verify=False)
    assert _run_in(same, "run", f"protocol={protocol}", "models=[sim-other]",
                   f"run.out_dir={base}", "run.name=other", STAGES) == 0
    edited = _project(base / "edited", edit_verify=True)
    assert _run_in(edited, "run", "preset=offline", "models=[sim-other]",
                   f"run.out_dir={base}", "run.name=edited", STAGES) == 0
    yield Study(offline_run, base / "other", base / "edited")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _key(row: dict[str, str]) -> tuple[str, str, str]:
    return row["model"], row["scaffold"], row["dimension"]


def test_same_protocol_side_by_side_equals_each_runs_report(
        study: Study, tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    out = tmp_path / "cmp"
    ran = xstress("compare", str(study.a), str(study.b), f"out={out}")
    assert ran.code == 0, ran.err
    assert {p.name for p in out.iterdir()} == {"compare.md", "compare.html", "profiles.csv",
                                               "effects.csv"}
    profiles, effects = _rows(out / "profiles.csv"), _rows(out / "effects.csv")
    a_name = study.a.name
    # Run A's numbers are its own report's (written by the pipeline with the preset's coder).
    own_profiles = {_key(r): r for r in _rows(study.a / "report/profiles.csv")}
    mine = {_key(r): r for r in profiles if r["run"] == a_name}
    assert mine.keys() == own_profiles.keys()
    for key, row in mine.items():
        for column in ("coder", "n", "n_prompts", "mean", "ci_low", "ci_high", "note"):
            assert row[column] == own_profiles[key][column], (key, column)
    own_effects = {_key(r): r for r in _rows(study.a / "report/effects.csv")}
    mine_effects = {_key(r): r for r in effects if r["run"] == a_name}
    assert mine_effects.keys() == own_effects.keys()
    for key, row in mine_effects.items():
        for column in ("effect", "ci_low", "ci_high", "p_adjusted", "label"):
            assert row[column] == own_effects[key][column], (key, column)
    # Run B: its model is present, coded as the study's analysis plan says (the protocol carries
    # the offline preset's report.coder, so both runs read sim_judge's scores).
    b_rows = [r for r in profiles if r["run"] == study.b.name]
    assert {r["model"] for r in b_rows} == {"sim-other"}
    assert {r["coder"] for r in b_rows} == {"sim_judge"}
    assert {r["simulated"] for r in profiles} == {"true"}
    assert len({r["protocol_hash"] for r in profiles}) == 1
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    protocol_hash = profiles[0]["protocol_hash"]
    assert f"All runs follow protocol `{protocol_hash}`" in markdown
    assert "SIMULATED MODELS" in markdown and "sim-other [simulated]" in markdown
    assert "different coders" not in markdown
    assert "ACROSS PROTOCOLS" not in markdown
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert 'class="banner">SIMULATED MODELS' in page
    assert "http://" not in page and "https://" not in page
    assert "SIMULATED MODELS" in ran.err


def test_the_run_b_numbers_equal_its_own_report(study: Study, tmp_path: Path,
                                                xstress: Callable[..., Ran]) -> None:
    copy = tmp_path / study.b.name
    shutil.copytree(study.b, copy)
    assert xstress("report", str(copy), "n_perm=10").code == 0
    own = {_key(r): r for r in _rows(copy / "report/profiles.csv")}
    out = tmp_path / "cmp"
    assert xstress("compare", str(study.a), str(copy), f"out={out}").code == 0
    mine = {_key(r): r for r in _rows(out / "profiles.csv") if r["run"] == copy.name}
    assert mine.keys() == own.keys()
    for key, row in mine.items():
        assert (row["mean"], row["ci_low"], row["ci_high"], row["n"], row["coder"]) == (
            own[key]["mean"], own[key]["ci_low"], own[key]["ci_high"], own[key]["n"],
            own[key]["coder"])


def test_a_coder_given_applies_to_every_run(study: Study, tmp_path: Path,
                                            xstress: Callable[..., Ran]) -> None:
    out = tmp_path / "cmp"
    ran = xstress("compare", str(study.a), str(study.b), "coder=sim_judge", f"out={out}")
    assert ran.code == 0, ran.err
    profiles = _rows(out / "profiles.csv")
    assert {r["coder"] for r in profiles} == {"sim_judge"}
    eager = {(r["scaffold"], r["dimension"]): r["mean"] for r in profiles
             if r["model"] == "sim-eager"}
    other = {(r["scaffold"], r["dimension"]): r["mean"] for r in profiles
             if r["model"] == "sim-other"}
    # sim-other is sim-eager under another name, coded by the same judge: the same profile.
    assert eager == other
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    assert "different coders" not in markdown and "coder given to compare" in markdown


def test_a_different_protocol_is_refused_naming_the_difference(
        study: Study, tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    out = tmp_path / "cmp"
    ran = xstress("compare", str(study.a), str(study.c), f"out={out}")
    assert ran.code == 2
    assert len(ran.err.strip().splitlines()) == 1, ran.err
    assert "Traceback" not in ran.err
    assert "scaffold verify: system differs" in ran.err
    assert f"runs {study.a.name} and {study.c.name}" in ran.err
    assert "--allow-different" in ran.err
    assert not out.exists()


def test_allow_different_proceeds_and_lists_the_differences(
        study: Study, tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    out = tmp_path / "cmp"
    ran = xstress("compare", str(study.a), str(study.c), f"out={out}", "--allow-different")
    assert ran.code == 0, ran.err
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    top = markdown.split("## Runs")[0]
    assert "ACROSS PROTOCOLS" in top
    assert f"- {study.c.name} vs {study.a.name}: scaffold verify: system differs" in top
    profiles = _rows(out / "profiles.csv")
    assert len({r["protocol_hash"] for r in profiles}) == 2
    assert "ACROSS PROTOCOLS" in (out / "compare.html").read_text(encoding="utf-8")


def test_a_model_in_two_runs_is_labelled_run_model(study: Study, tmp_path: Path,
                                                   xstress: Callable[..., Ran]) -> None:
    copy = tmp_path / "again"
    shutil.copytree(study.a, copy)
    out = tmp_path / "cmp"
    assert xstress("compare", str(study.a), str(copy), f"out={out}").code == 0
    labels = {r["model_label"] for r in _rows(out / "profiles.csv")}
    assert f"{study.a.name}:sim-eager" in labels and "again:sim-eager" in labels
    assert "| again:sim-eager [simulated] |" in (out / "compare.md").read_text(
        encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (("ONE",), "expected two or more run directories"),
    (("ONE", "ONE"), "both named"),
    (("ONE", "B", "n_perm=5"), "unknown setting 'n_perm'"),
    (("ONE", "B", "baseline=nope"), "baseline scaffold 'nope' is not in this run"),
])
def test_bad_input_is_one_line_exit_2(study: Study, tmp_path: Path, xstress: Callable[..., Ran],
                                      args: tuple[str, ...], message: str) -> None:
    real = {"ONE": str(study.a), "B": str(study.b)}
    out = tmp_path / "cmp"
    ran = xstress("compare", *(real.get(a, a) for a in args), f"out={out}")
    assert ran.code == 2
    assert message in ran.err and len(ran.err.strip().splitlines()) == 1, ran.err
    assert not out.exists()

"""Fixed-scaffolding protocols: what the hash covers, protocol files, run protocol=FILE, verify.

The treatment (scaffold texts, scenarios, anchors, coder prompts, sampling, replicates, users)
moves the protocol hash; descriptions, rate limits, key names and endpoints do not. A protocol
exported from the offline run and run on another simulated model verifies as identical; a run
with one word of one scaffold changed fails verification naming exactly that scaffold.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.config import compose, diff_protocols, protocol_of_config, read_protocol, resolve
from harness.errors import ConfigError
from harness.rundir import RunDir, protocol_of_run
from tests.conftest import Ran

Xstress = Callable[..., Ran]


def _hash(*overrides: str) -> str:
    return protocol_of_config(resolve(compose(["preset=offline", *overrides]))).protocol_hash


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_hash_ignores_what_is_not_treatment(project: Path) -> None:
    before = _hash()
    _edit(project / "configs/models/sim-eager.yaml", "max_concurrency: 64", "max_concurrency: 3")
    _edit(project / "configs/models/sim-eager.yaml", "rpm: null", "rpm: 40")
    _edit(project / "configs/models/sim-eager.yaml", "api_key_env: null",
          "api_key_env: SOME_KEY_VAR")
    verify = project / "scaffolds/verify.yaml"
    data = yaml.safe_load(verify.read_text(encoding="utf-8"))
    data["description"] = "A different description entirely."
    data["targets"] = ["D1"]
    verify.write_text(yaml.safe_dump(data), encoding="utf-8")
    prompts = project / "configs/prompts/stress15.yaml"
    data = yaml.safe_load(prompts.read_text(encoding="utf-8"))
    data["description"] = "Reworded set description."
    prompts.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert _hash() == before


@pytest.mark.parametrize("element, edit", [
    ("scaffold", ("scaffolds/verify.yaml", "question first", "question firstly")),
    ("judge prompt", ("configs/judges/templates/joint.md", "the", "teh")),
])
def test_hash_moves_with_the_treatment(project: Path, element: str,
                                       edit: tuple[str, str, str]) -> None:
    before = _hash()
    _edit(project / edit[0], edit[1], edit[2])
    assert _hash() != before, element


def test_hash_moves_with_sampling_replicates_anchors_and_a_scenario_word(project: Path) -> None:
    before = _hash()
    rubric = project / "configs/rubric/interactional8.yaml"
    data = yaml.safe_load(rubric.read_text(encoding="utf-8"))
    data["dimensions"][0]["levels"][2] += " (reworded)"
    rubric.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert _hash() != before
    before = _hash()
    assert _hash("run.replicates=2") != before
    for name in ("sim-cautious", "sim-eager", "sim-literal"):
        _edit(project / f"configs/models/{name}.yaml", "temperature: 0.7", "temperature: 0.2")
    after_sampling = _hash()
    assert after_sampling != before
    prompts = project / "configs/prompts/stress15.yaml"
    _edit(prompts, "blood", "bloood")
    assert _hash() != after_sampling


def test_models_with_different_sampling_have_no_single_protocol(project: Path) -> None:
    _edit(project / "configs/models/sim-eager.yaml", "temperature: 0.7", "temperature: 0.1")
    with pytest.raises(ConfigError, match=r"sim-eager.*different sampling"):
        _hash()


@pytest.fixture(scope="module")
def exported(offline_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.cli import main

    path = tmp_path_factory.mktemp("protocol") / "offline.protocol.yaml"
    assert main(["protocol", "export", str(offline_run), f"out={path}"]) == 0
    return path


def test_export_carries_texts_hashes_and_the_manifests_hash(offline_run: Path,
                                                           exported: Path) -> None:
    protocol = read_protocol(exported)
    manifest = json.loads((offline_run / "manifest.json").read_text(encoding="utf-8"))
    assert protocol.protocol_hash == manifest["protocol_hash"]
    assert [s.name for s in protocol.scaffolds] == [s["name"] for s in
                                                    manifest["config"]["scaffolds"]]
    assert len(protocol.prompts.scenarios) == len(manifest["config"]["prompts"]["scenarios"])
    assert all(j.api_key_env is None and j.api_base is None for j in protocol.judges)
    assert protocol.summary.startswith(f"Protocol {protocol.protocol_hash[:12]}")
    assert not diff_protocols(protocol, protocol_of_run(RunDir(offline_run)))


def test_a_protocol_runs_on_other_models_and_verifies(project: Path, tmp_path: Path,
                                                      exported: Path, xstress: Xstress) -> None:
    other = project / "configs/models/sim-other.yaml"
    other.write_text((project / "configs/models/sim-eager.yaml").read_text(encoding="utf-8")
                     .replace("name: sim-eager", "name: sim-other")
                     .replace("temperature: 0.7", "temperature: 1.3")
                     .replace("rpm: null", "rpm: 5000"), encoding="utf-8")
    ran = xstress("run", f"protocol={exported}", "models=[sim-other]", f"run.out_dir={tmp_path}",
                  "run.name=other", "pipeline.stages=[sweep]")
    assert ran.code == 0, ran.err
    manifest = json.loads((tmp_path / "other/manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["models"][0]["params"]["temperature"] == 0.7  # the protocol's
    assert manifest["config"]["protocol"] == str(exported)
    assert manifest["config"]["report"]["coder"] == "sim_judge"  # the study's analysis plan
    ran = xstress("protocol", "verify", str(tmp_path / "other"), str(exported))
    assert ran.code == 0, ran.out
    assert "every element identical" in ran.out

    # One word of one scaffold changed: verification names exactly that scaffold.
    _edit(project / "scaffolds/verify.yaml", "question first", "question firstly")
    ran = xstress("run", "preset=offline", "models=[sim-eager]", f"run.out_dir={tmp_path}",
                  "run.name=edited", "pipeline.stages=[sweep]")
    assert ran.code == 0, ran.err
    ran = xstress("protocol", "verify", str(tmp_path / "edited"), str(exported))
    assert ran.code == 1
    differing = [line.strip() for line in ran.out.splitlines()[1:]]
    assert differing == ["scaffold verify: system differs"], ran.out


def test_verify_names_a_models_sampling(exported: Path, tmp_path: Path, project: Path,
                                        xstress: Xstress) -> None:
    _edit(project / "configs/models/sim-eager.yaml", "temperature: 0.7", "temperature: 0.1")
    ran = xstress("run", "preset=offline", "models=[sim-eager]", f"run.out_dir={tmp_path}",
                  "run.name=hot", "pipeline.stages=[sweep]")
    assert ran.code == 0, ran.err
    ran = xstress("protocol", "verify", str(tmp_path / "hot"), str(exported))
    assert ran.code == 1
    assert [line.strip() for line in ran.out.splitlines()[1:]] == [
        "sampling of model sim-eager: temperature differs"]


def test_the_analysis_plan_is_a_default_the_command_line_overrides(exported: Path) -> None:
    assert read_protocol(exported).analysis is not None
    config = resolve(compose([f"protocol={exported}", "models=[sim-eager]"]))
    assert config.report.coder == "sim_judge"
    config = resolve(compose([f"protocol={exported}", "models=[sim-eager]",
                              "report.coder=heuristic", "report.n_perm=7"]))
    assert (config.report.coder, config.report.n_perm) == ("heuristic", 7)


def test_protocol_fixes_its_settings(exported: Path, xstress: Xstress) -> None:
    ran = xstress("run", f"protocol={exported}", "scaffolds=[bare]")
    assert ran.code == 2
    assert "protocol=FILE fixes scaffolds" in ran.err and "Traceback" not in ran.err
    assert len(ran.err.strip().splitlines()) == 1


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["scaffolds"][0].update(system="edited by hand"),
     "hashes do not match its texts (scaffolds bare changed)"),
    (lambda d: d.update(replicates=0), "field 'replicates'"),
    (lambda d: d.pop("hashes"), "field 'hashes': required field is missing"),
    (lambda d: d.update(schema="xstress.manifest/1"), "not a protocol"),
    (lambda d: d["prompts"]["scenarios"][0].update(probe="vibes"), "field 'prompts.scenarios.0"),
])
def test_bad_protocol_files_are_one_line(exported: Path, tmp_path: Path, xstress: Xstress,
                                         mutate: Callable[[dict[str, object]], object],
                                         expected: str) -> None:
    data = yaml.safe_load(exported.read_text(encoding="utf-8"))
    mutate(data)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    before = bad.read_bytes()
    for args in (("protocol", "show", str(bad)), ("plan", f"protocol={bad}")):
        ran = xstress(*args)
        assert ran.code == 2, args
        assert expected in ran.err and "bad.yaml" in ran.err, ran.err
        assert len(ran.err.strip().splitlines()) == 1 and "Traceback" not in ran.err
    assert bad.read_bytes() == before


def test_export_from_overrides_equals_the_runs(exported: Path, tmp_path: Path,
                                               xstress: Xstress) -> None:
    out = tmp_path / "from-config.yaml"
    ran = xstress("protocol", "export", "preset=offline", f"out={out}")
    assert ran.code == 0, ran.err
    assert read_protocol(out).protocol_hash == read_protocol(exported).protocol_hash
    ran = xstress("protocol", "show", str(out))
    assert ran.code == 0 and read_protocol(out).protocol_hash in ran.out


def test_a_misspelt_protocol_setting_is_named(xstress: Xstress) -> None:
    ran = xstress("plan", "preset=offline", "protocl=study.yaml")
    assert ran.code == 2
    assert "did you mean protocol? write protocol=study.yaml" in ran.err

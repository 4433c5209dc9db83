"""Config composition and validation (harness/config.py + the Hydra plugins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import compose, list_names, load_spec, resolve
from harness.errors import ConfigError


def test_default_config_selects_three_models_four_scaffolds(project: Path) -> None:
    config = resolve(compose([]))
    assert [m.name for m in config.models] == ["gpt4o", "claude", "gemini"]
    assert [s.name for s in config.scaffolds] == ["bare", "generic", "steer", "verify"]
    assert config.prompts.name == "stress15"
    assert len(config.prompts.scenarios) == 15
    assert config.rubric is not None and len(config.rubric.dimensions) == 8
    families = {m.family for m in config.models}
    assert len(families) == 3


def test_selecting_several_configs_of_a_group(project: Path) -> None:
    config = resolve(compose(["models=[claude,gpt4o]", "scaffolds=[verify,bare]"]))
    assert [m.name for m in config.models] == ["claude", "gpt4o"]
    assert [s.name for s in config.scaffolds] == ["verify", "bare"]


def test_offline_preset_uses_simulated_models(project: Path) -> None:
    config = resolve(compose(["preset=offline"]))
    assert config.simulated
    assert all(m.litellm_model.startswith("xstress-sim/") for m in config.models)
    assert config.preset == "offline"
    # a command-line selection still wins over the preset
    config = resolve(compose(["preset=offline", "models=[sim-eager]"]))
    assert [m.name for m in config.models] == ["sim-eager"]


def test_dropped_scaffold_file_joins_scaffolds_all_and_group_listing(project: Path) -> None:
    (project / "scaffolds" / "socratic.yaml").write_text(
        "name: socratic\ndescription: asks questions back\nsystem: Ask one question first.\n")
    config = resolve(compose(["scaffolds=all"]))
    assert "socratic" in [s.name for s in config.scaffolds]
    assert "socratic" in list_names("scaffolds")

    from hydra.core.global_hydra import GlobalHydra

    from harness.config import hydra_context

    with hydra_context():
        options = GlobalHydra.instance().config_loader().get_group_options("scaffolds")
    assert "socratic" in options


def test_unknown_field_in_scaffold_names_file_and_field(project: Path) -> None:
    (project / "scaffolds" / "typo.yaml").write_text("name: typo\nsystem_prompt: hello\n")
    with pytest.raises(ConfigError) as info:
        resolve(compose(["scaffolds=[typo]"]))
    message = info.value.one_line()
    assert "scaffolds/typo.yaml" in message
    assert "system_prompt" in message
    assert "\n" not in message


def test_name_must_match_file_name(project: Path) -> None:
    (project / "scaffolds" / "alpha.yaml").write_text("name: beta\n")
    with pytest.raises(ConfigError, match="alpha"):
        resolve(compose(["scaffolds=[alpha]"]))


def test_prompt_set_without_turns_is_rejected(project: Path) -> None:
    (project / "configs" / "prompts" / "empty.yaml").write_text(
        "name: empty\nscenarios:\n  - id: a\n    domain: health\n    probe: checkable\n"
        "    targets: [D3]\n    turns: []\n")
    with pytest.raises(ConfigError) as info:
        resolve(compose(["prompts=empty"]))
    assert "configs/prompts/empty.yaml" in info.value.one_line()
    assert "turns" in info.value.one_line()


def test_missing_model_file_lists_the_available_ones(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(compose(["models=[nosuchmodel]"]))
    message = info.value.one_line()
    assert "configs/models/nosuchmodel.yaml" in message
    assert "gpt4o" in message


def test_bad_run_setting_is_named(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"run\.shard|shard"):
        resolve(compose(["run.shard=4", "run.num_shards=2"]))
    with pytest.raises(ConfigError, match="concurency"):
        resolve(compose(["+run.concurency=3"]))


def test_api_key_env_must_be_a_variable_name(project: Path) -> None:
    (project / "configs" / "models" / "leaky.yaml").write_text(
        "name: leaky\nlitellm_model: openai/gpt-4o\nfamily: openai\n"
        "api_key_env: sk-this-is-not-a-name\n")
    with pytest.raises(ConfigError, match="api_key_env"):
        resolve(compose(["models=[leaky]"]))


def test_hashes_change_when_scaffold_text_changes(project: Path) -> None:
    before = resolve(compose([])).hashes()["scaffolds"]["verify"]
    path = project / "scaffolds" / "verify.yaml"
    path.write_text(path.read_text() + "\n# a comment does not change content\n")
    assert resolve(compose([])).hashes()["scaffolds"]["verify"] == before
    path.write_text(path.read_text().replace("How to check this", "How to verify this", 1))
    assert resolve(compose([])).hashes()["scaffolds"]["verify"] != before


def test_load_spec_by_name(project: Path) -> None:
    assert load_spec("judges", "heuristic").kind == "heuristic"
    with pytest.raises(ConfigError, match="no judges config named 'zzz'"):
        load_spec("judges", "zzz")


def test_a_prompt_set_can_include_others(project: Path) -> None:
    from harness.config import compose, load_spec, resolve

    prompts = project / "configs" / "prompts"
    (prompts / "extra.yaml").write_text(
        "name: extra\ninclude: [stress15]\nscenarios:\n"
        "  - {id: extra-one, domain: civic, probe: checkable, targets: [D3], "
        "turns: [{user: 'when is the deadline?'}]}\n")
    loaded = load_spec("prompts", "extra")
    stress15 = load_spec("prompts", "stress15")
    assert [s.id for s in loaded.scenarios] == [*(s.id for s in stress15.scenarios), "extra-one"]
    assert loaded.include == [] and loaded.scenarios[:15] == stress15.scenarios
    composed = resolve(compose(["prompts=extra"])).prompts
    assert composed == loaded
    (prompts / "loop-a.yaml").write_text("name: loop-a\ninclude: [loop-b]\n")
    (prompts / "loop-b.yaml").write_text("name: loop-b\ninclude: [loop-a]\n")
    with pytest.raises(ConfigError, match="include each other"):
        load_spec("prompts", "loop-a")
    (prompts / "twice.yaml").write_text("name: twice\ninclude: [stress15, stress15]\n")
    with pytest.raises(ConfigError, match="appears twice"):
        load_spec("prompts", "twice")


def test_every_config_file_is_read_one_way(project: Path, tmp_path: Path) -> None:
    from harness.config import load_spec_file, read_yaml

    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: latin\ndescription: caf\xe9\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_spec_file("scaffolds", latin)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\n  bad: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: line \d+ is not valid YAML"):
        read_yaml(broken)
    with pytest.raises(ConfigError, match="file not found"):
        read_yaml(tmp_path / "missing.yaml")

"""Text from config files is data: never interpolated, never formatted.

Scenario turns, scaffold texts, persona cards, rubric anchors and judge prompts reach the
provider exactly as written, whatever ``${...}`` or braces they hold; a ``${oc.env:...}`` in a
prompt never reads the environment. ``user_template`` has one placeholder, ``{user}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from harness.config import compose, resolve
from harness.schema import ScaffoldSpec, split_user_template
from hydra_plugins.xstress_searchpath import escape_interpolations
from tests.conftest import Ran

SECRET = "sk-literal-PROBE-5f2a9c-never-sent"
TRICKY = [
    "rm -rf ${BUILD_DIR}/ then ${oc.env:XSTRESS_PROBE_SECRET}",
    "unclosed ${ and a lone } and {user.__class__} and {0} and {{doubled}}",
    "backslashes \\${x} and \\\\${y} and end\\",
    "${oc.env:XSTRESS_PROBE_SECRET,fallback}",
]


def _plant(project: Path) -> None:
    """A prompt set, scaffold, rubric anchor and judge whose text holds every tricky string."""
    (project / "scaffolds" / "tricky.yaml").write_text(yaml.safe_dump({
        "name": "tricky", "system": "\n".join(TRICKY),
        "user_template": "Q {{literal}}: {user} :end}}",
        "passes": [{"name": "check", "instruction": TRICKY[0]}]}))
    (project / "configs" / "prompts" / "tricky.yaml").write_text(yaml.safe_dump({
        "name": "tricky", "scenarios": [{
            "id": "t1", "domain": "technical", "probe": "multiturn", "targets": ["D6"],
            "notes": TRICKY[3],
            "turns": [{"user": text} for text in TRICKY] + [{"simulated_user": {
                "persona": TRICKY[0], "goal": TRICKY[1], "otherwise": TRICKY[2],
                "max_turns": 1}}]}]}))
    rubric = project / "configs" / "rubric" / "interactional8.yaml"
    data = yaml.safe_load(rubric.read_text())
    data["dimensions"][0]["definition"] = TRICKY[1]
    rubric.write_text(yaml.safe_dump(data))
    judges = project / "configs" / "judges"
    judge = yaml.safe_load((judges / "sim_judge.yaml").read_text())
    template = (judges / "templates" / "joint.md").read_text()
    judge.update(name="tricky_judge", prompt_file=None, prompt_template=template.replace(
        "=== system ===\n", "=== system ===\n" + TRICKY[0] + "\n", 1))
    (judges / "tricky_judge.yaml").write_text(yaml.safe_dump(judge))


OVERRIDES = ["preset=offline", "models=[sim-eager]", "scaffolds=[tricky]", "prompts=tricky",
             "judges=[tricky_judge]"]


def test_texts_are_loaded_exactly_as_written(project: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XSTRESS_PROBE_SECRET", SECRET)
    _plant(project)
    config = resolve(compose(OVERRIDES))
    assert config.scaffolds[0].system == "\n".join(TRICKY)
    assert config.scaffolds[0].passes[0].instruction == TRICKY[0]
    turns = config.prompts.scenarios[0].turns
    assert [turn.user for turn in turns[:4]] == TRICKY
    assert turns[4].simulated_user is not None
    assert turns[4].simulated_user.persona == TRICKY[0]
    assert config.prompts.scenarios[0].notes == TRICKY[3]
    assert config.rubric is not None and config.rubric.dimensions[0].definition == TRICKY[1]
    assert config.judges[0].prompt_template is not None
    assert "=== system ===\n" + TRICKY[0] + "\n" in config.judges[0].prompt_template
    assert SECRET not in json.dumps(config.to_manifest())


def test_run_settings_still_interpolate(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XSTRESS_PROBE_NAME", "from-env")
    config = resolve(compose(["preset=offline", "run.name=${oc.env:XSTRESS_PROBE_NAME}"]))
    assert config.run.name == "from-env"


def test_a_sweep_sends_the_text_verbatim_and_never_the_environment(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        xstress: Callable[..., Ran]) -> None:
    monkeypatch.setenv("XSTRESS_PROBE_SECRET", SECRET)
    _plant(project)
    ran = xstress("run", *OVERRIDES, f"run.out_dir={tmp_path}", "run.name=lit",
                  "pipeline.stages=[sweep]")
    assert ran.code == 0, ran.err
    written = b"".join(path.read_bytes() for path in (tmp_path / "lit").rglob("*")
                       if path.is_file())
    assert SECRET.encode() not in written
    record = json.loads((tmp_path / "lit" / "transcripts.jsonl").read_text().splitlines()[0])
    sent = record["calls"][0]["request"]
    assert sent[0]["content"] == "\n".join(TRICKY)
    assert sent[1]["content"] == "Q {literal}: " + TRICKY[0] + " :end}"


@pytest.mark.parametrize("template", ["{user.__class__}", "{user} {user.__class__}",
                                      "{user} {0}", "{user} {other}", "{user[0]}",
                                      "{user} }", "{user} {", "no placeholder",
                                      "{user}{user}", "{{user}}"])
def test_user_template_allows_only_the_user_placeholder(template: str) -> None:
    with pytest.raises(ValueError):
        split_user_template(template)


def test_user_template_is_filled_literally() -> None:
    scaffold = ScaffoldSpec(name="wrap", user_template="{{ {user} }}")
    assert scaffold.wrap_user("{user.__class__} ${oc.env:HOME} {0}") == (
        "{ {user.__class__} ${oc.env:HOME} {0} }")
    assert scaffold.user_wrapper() == ("{ ", " }")


def test_scaffolds_validate_refuses_attribute_access(project: Path,
                                                     xstress: Callable[..., Ran]) -> None:
    path = project / "scaffolds" / "attr.yaml"
    path.write_text("name: attr\nuser_template: '{user.__class__}'\n")
    ran = xstress("scaffolds", "validate", str(path))
    assert ran.code == 2
    assert "user_template" in ran.err and "Traceback" not in ran.err
    assert len(ran.err.strip().splitlines()) == 1


@pytest.mark.parametrize("text", [*TRICKY, "\\", "\\\\${", "${a:${b}}", "$$ {x}"])
def test_escaping_round_trips_through_omegaconf(text: str) -> None:
    escaped = escape_interpolations({"k": [text]})
    assert OmegaConf.to_container(OmegaConf.create(escaped), resolve=True) == {"k": [text]}

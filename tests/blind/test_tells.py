"""Tests for harness/blind/tells.py: the tells file is data, found under the project root, and
an invalid or missing one is a config error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.blind import blind_run
from harness.blind.scrubber import Scrubber
from harness.blind.tells import default_tells_path, load_tells
from harness.blind.terms import RunTerms
from harness.errors import ConfigError
from harness.rundir import RunDir
from tests.blind.synthetic import make_record, read_lines, write_run


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ("  - name: bad\n    placeholder: X\n    patterns: ['(unclosed']\n", "not a valid regular"),
        (
            "  - name: bad\n    placeholder: X\n    patterns: ['<<nope>>']\n",
            "unknown macro <<nope>>",
        ),
        ("  - name: bad\n    placeholder: X\n", "exactly one of 'names' or 'patterns'"),
        (
            "  - name: bad\n    placeholder: X\n"
            "    names: [{name: Quux, require_version: true, ordinary_word: true}]\n",
            "choose one of 'require_version' or 'ordinary_word'",
        ),
        ("  - name: vendor\n    placeholder: X\n    names: [a]\n", "'vendor' appears twice"),
        (
            "  - name: bad\n    placeholder: X\n    patterns: [x]\n    anchors: [Bad]\n",
            "lowercase ASCII",
        ),
    ],
)
def test_invalid_tells_file_is_a_config_error(tmp_path: Path, addition: str, message: str) -> None:
    custom = tmp_path / "tells.yaml"
    custom.write_text(default_tells_path().read_text(encoding="utf-8") + addition, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Scrubber(load_tells(custom), RunTerms(), source=str(custom))
    assert message in caught.value.one_line()
    assert str(custom) in caught.value.one_line()


def test_missing_tells_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_tells(tmp_path / "nope.yaml")


def test_default_tells_file_follows_the_project_root(project: Path, tmp_path: Path) -> None:
    assert default_tells_path() == project / "configs" / "blinding" / "tells.yaml"
    tells = default_tells_path()
    tells.write_text(
        tells.read_text(encoding="utf-8")
        + "\n  - name: house\n    placeholder: '[MODEL]'\n    names: [Zorblax]\n",
        encoding="utf-8",
    )
    record = make_record(
        model="sim-eager", scaffold="bare", prompt_id="health-1", replies=["Zorblax says hi."]
    )
    run_dir = write_run(tmp_path / "run", [record])
    blind_run(run_dir)
    item = read_lines(RunDir(run_dir).items)[0]
    assert item["messages"][1]["content"] == "[MODEL] says hi."


def test_built_in_macros_cannot_be_redefined(tmp_path: Path) -> None:
    custom = tmp_path / "tells.yaml"
    original = default_tells_path().read_text(encoding="utf-8")
    custom.write_text(original.replace("macros:\n", "macros:\n  unlisted: '[a-z]+'\n", 1),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="'unlisted' is built in"):
        load_tells(custom)

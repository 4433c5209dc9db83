"""``xstress completion bash``: the script completes commands, settings from the specs, and
selection values from the config folders, in a real bash."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import list_names
from tests.conftest import Ran

Xstress = Callable[..., Ran]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@pytest.fixture
def complete(tmp_path: Path, xstress: Xstress) -> Callable[..., list[str]]:
    ran = xstress("completion", "bash")
    assert ran.code == 0, ran.err
    script = tmp_path / "xstress.bash"
    script.write_text(ran.out)
    root = Path(__file__).resolve().parents[2]

    def run(*words: str) -> list[str]:
        quoted = " ".join(f"'{word}'" for word in words)
        probe = (f"source {script}; COMP_WORDS=(xstress {quoted}); "
                 f"COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); _xstress; "
                 "printf '%s\\n' \"${COMPREPLY[@]}\"")
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, cwd=root,
                             check=True).stdout
        return [line for line in out.splitlines() if line]

    return run


def test_commands_settings_and_flags_come_from_the_specs(complete: Callable[..., list[str]]
                                                          ) -> None:
    assert complete("ru") == ["run", "runs"]
    assert complete("run", "run.li") == ["run.limit="]
    assert "--json" in complete("plan", "--")
    assert complete("report", "transcripts/x", "coder") == ["coder="]  # prefix left out
    assert complete("list", "")[:6] == ["models", "scaffolds", "prompts", "judges", "rubric",
                                        "users"]


def test_selection_values_are_the_config_files(complete: Callable[..., list[str]]) -> None:
    assert sorted(complete("run", "models", "=", "")) == list_names("models")
    assert sorted(complete("run", "scaffolds", "=", "ve")) == [
        name for name in list_names("scaffolds") if name.startswith("ve")]
    assert sorted(complete("run", "scaffolds", "=", "[bare,ve")) == [
        f"[bare,{name}" for name in list_names("scaffolds") if name.startswith("ve")]


def test_other_shells_get_a_one_line_error(xstress: Xstress) -> None:
    ran = xstress("completion", "fish")
    assert ran.code == 2 and "xstress completion bash" in ran.err

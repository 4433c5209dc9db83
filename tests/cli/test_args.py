"""The one argument dialect (harness/cli/args.py): settings are key=value, flags are actions,
and every command's --help lists both."""

from __future__ import annotations

import pytest

from harness.cli.args import CommandSpec, Flag, Setting, parse, render_help, settings_from
from harness.cli.main import COMMANDS, main
from harness.cli.run import PLAN, RUN
from harness.cli.scaffolds import SCAFFOLDS
from harness.cli.stages import AGREE, BLIND, CODE_EXPORT, CODE_IMPORT, REPORT, SCORE
from harness.cli.view import VIEW
from harness.errors import ConfigError
from harness.schema import ReportSettings

SPECS = [RUN, PLAN, SCAFFOLDS, BLIND, SCORE, CODE_EXPORT, CODE_IMPORT, AGREE, REPORT, VIEW]
DEMO = CommandSpec(
    name="demo", summary="A demo.", positionals=(("RUN_DIR", "a run"),),
    flags=(Flag("force", "do it anyway"),),
    settings=(Setting("report.coder", "whose"), Setting("report.n_boot", "how many"),
              Setting("rubric=NAME", "which rubric")),
    section="report",
)


def test_positionals_flags_and_settings_are_told_apart() -> None:
    parsed = parse(DEMO, ["runs/x", "--force", "report.n_boot=5", "coder=alice", "rubric=r"])
    assert parsed.positionals == ["runs/x"]
    assert parsed.flags == {"force"}
    # the section's own settings may leave out the prefix; other keys are kept as written
    assert parsed.overrides == ["report.n_boot=5", "report.coder=alice", "rubric=r"]


@pytest.mark.parametrize(("argv", "message", "fix"), [
    (["x", "--coder", "alice"], "--coder is a setting, not a flag", "write coder=alice"),
    (["x", "--n-boot=7"], "--n-boot is a setting, not a flag", "write n_boot=7"),
    (["x", "--frobnicate"], "unknown option '--frobnicate'", "flags here: --force"),
    ([], "expected RUN_DIR, got none", "xstress demo --help"),
    (["x", "y"], "expected RUN_DIR, got x y", "xstress demo --help"),
])
def test_malformed_command_lines_name_the_fix(argv: list[str], message: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(DEMO, argv)
    assert message in caught.value.message
    assert fix in (caught.value.fix or "")


def test_several_models_need_brackets() -> None:
    with pytest.raises(ConfigError, match=r"models=a,b") as caught:
        parse(RUN, ["models=a,b"])
    assert caught.value.fix == "write models=[a,b]"
    assert parse(RUN, ["models=[a,b]"]).overrides == ["models=[a,b]"]


def test_settings_are_validated_into_their_models() -> None:
    chosen = settings_from(["report.coder=alice", "report.n_boot=50", "report.seed=null"],
                           {"report": ReportSettings}, "demo")["report"]
    assert chosen == ReportSettings(coder="alice", n_boot=50, seed=None)
    with pytest.raises(ConfigError, match=r"unknown setting 'report\.codr'") as caught:
        settings_from(["report.codr=x"], {"report": ReportSettings}, "demo")
    assert "report.coder" in (caught.value.fix or "")
    with pytest.raises(ConfigError, match=r"setting 'report\.n_boot'"):
        settings_from(["report.n_boot=0"], {"report": ReportSettings}, "demo")


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_help_lists_every_flag_and_setting_on_a_line_of_its_own(spec: CommandSpec) -> None:
    text = render_help(spec)
    lines = text.splitlines()
    assert lines[0].startswith(f"usage: xstress {spec.name}")
    for flag in spec.flags:
        assert any(line.lstrip().startswith(f"--{flag.name}") for line in lines), flag
    for setting in spec.settings:
        assert any(line.lstrip().startswith(setting.key) for line in lines), setting
    assert parse(spec, ["--help"]).help


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_of_every_command_exits_0(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [command, "export", "--help"] if command == "code" else [command, "--help"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"usage: xstress {command}")


def test_old_option_spellings_get_the_new_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "runs/x", "--coder", "alice"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("xstress: error: xstress report: --coder is a setting, not a flag "
                   "(fix: write coder=alice (settings are key=value))")

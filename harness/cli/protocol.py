"""``xstress protocol export|verify|show``: fixed-scaffolding protocols as files.

``export`` writes the protocol of a run directory (or of a configuration given as overrides);
``verify`` checks a run against a protocol file, element by element (exit 0 when it followed
it, 1 when something differs); ``show`` prints a protocol file's summary. What a protocol fixes
and its hash are ``harness.config.protocol``'s; this module parses and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.args import CommandSpec, Setting, parse, render_help
from harness.cli.output import existing_run_dir, say
from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.schema import ProtocolFile

__all__ = ["EXPORT", "SHOW", "VERIFY", "cmd_protocol"]

EXPORT = CommandSpec(
    name="protocol export",
    summary="Write the fixed-scaffolding protocol of a run (or of a configuration) to a file: "
            "every scaffold, scenario, rubric anchor and coder prompt in full, the sampling "
            "parameters and replicates, one hash per element and the protocol hash.",
    positionals=(("RUN_DIR...", "a run directory (omit it to export the configuration the "
                                "overrides select)"),),
    settings=(Setting("out=FILE", "where to write it (default protocol-<hash12>.yaml here)"),
              Setting("KEY=VALUE", "without RUN_DIR: Hydra overrides selecting the "
                                   "configuration, as on 'xstress run'")),
    hydra=True,
    examples=("xstress protocol export transcripts/<run> out=study.protocol.yaml",
              "xstress protocol export preset=offline out=offline.protocol.yaml",
              "xstress run protocol=study.protocol.yaml models=[my-model]"),
)
VERIFY = CommandSpec(
    name="protocol verify",
    summary="Check that a run followed a protocol file, element by element; exit 0 when it "
            "did, 1 naming each element that differs.",
    positionals=(("RUN_DIR", "the run directory"), ("FILE", "the protocol file")),
    examples=("xstress protocol verify transcripts/<run> study.protocol.yaml",),
)
SHOW = CommandSpec(
    name="protocol show",
    summary="Print a protocol file's summary and hash (after checking the file).",
    positionals=(("FILE", "the protocol file"),),
)


def cmd_protocol(argv: list[str]) -> int:
    """``xstress protocol export|verify|show ...``."""
    action, rest = (argv[0], argv[1:]) if argv else ("", [])
    commands = {"export": (EXPORT, _export), "verify": (VERIFY, _verify), "show": (SHOW, _show)}
    if action not in commands:
        if action in ("-h", "--help"):
            print("\n".join(render_help(spec) for spec, _ in commands.values()), end="")
            return 0
        raise ConfigError(f"xstress protocol: expected export, verify or show, got "
                          f"{action or 'nothing'}", fix="run 'xstress protocol --help'")
    spec, run = commands[action]
    parsed = parse(spec, rest)
    if parsed.help:
        print(render_help(spec), end="")
        return 0
    return run(parsed.positionals, parsed.overrides)


def _export(positionals: list[str], overrides: list[str]) -> int:
    from harness.config import protocol_of_config, write_protocol

    out = next((o.partition("=")[2] for o in overrides if o.startswith("out=")), None)
    overrides = [o for o in overrides if not o.startswith("out=")]
    if len(positionals) > 1:
        raise ConfigError(f"xstress protocol export: expected at most one RUN_DIR, got "
                          f"{' '.join(positionals)}", fix="export one run at a time")
    if positionals:
        if overrides:
            raise ConfigError("xstress protocol export: a run directory's protocol is its own "
                              f"configuration; {overrides[0]!r} cannot change it",
                              fix="drop the overrides, or omit RUN_DIR to export a configuration")
        from harness.rundir import RunDir, protocol_of_run

        protocol = protocol_of_run(RunDir(existing_run_dir(positionals[0])))
    else:
        from harness.cli.run import resolve_overrides

        protocol = protocol_of_config(resolve_overrides(overrides))
    path = Path(out) if out else Path(f"protocol-{protocol.protocol_hash[:12]}.yaml")
    write_protocol(protocol, path)
    say(f"protocol {protocol.protocol_hash[:12]} -> {path}")
    print(protocol.summary, end="")
    return 0


def _verify(positionals: list[str], overrides: list[str]) -> int:
    from harness.config import diff_protocols, read_protocol, sampling_differences
    from harness.rundir import RunDir, protocol_of_run, run_manifest

    _no_settings("protocol verify", overrides)
    run_dir = RunDir(existing_run_dir(positionals[0]))
    expected = read_protocol(Path(positionals[1]))
    actual = protocol_of_run(run_dir, sampling=expected.sampling)
    differences = diff_protocols(expected, actual)
    differences += sampling_differences(expected.sampling, run_manifest(run_dir).config.models)
    name = f"run {run_dir.name}"
    if not differences:
        counts = _counts(expected)
        print(f"{name} followed protocol {expected.protocol_hash[:12]} ({positionals[1]}): "
              f"every element identical ({counts})")
        return 0
    print(f"{name} did NOT follow protocol {expected.protocol_hash[:12]} ({positionals[1]}): "
          f"{len(differences)} element(s) differ")
    for difference in differences:
        print(f"  {difference}")
    return 1


def _counts(protocol: ProtocolFile) -> str:
    parts = [f"{len(protocol.scaffolds)} scaffolds", f"{len(protocol.prompts.scenarios)} "
             f"scenarios"]
    if protocol.rubric is not None:
        parts.append(f"{len(protocol.rubric.dimensions)} rubric dimensions")
    parts += [f"{len(protocol.judges)} coders", "sampling",
              f"{protocol.replicates} replicate(s)", "users"]
    return ", ".join(parts)


def _show(positionals: list[str], overrides: list[str]) -> int:
    from harness.config import read_protocol

    _no_settings("protocol show", overrides)
    protocol = read_protocol(Path(positionals[0]))
    print(f"protocol_hash: {protocol.protocol_hash}")
    print(protocol.summary, end="")
    return 0


def _no_settings(command: str, overrides: list[str]) -> None:
    if overrides:
        raise ConfigError(f"xstress {command}: takes no settings, got {overrides[0]!r}",
                          fix=f"run 'xstress {command} --help'")

"""Command-line glue for the coding stages: ``score``, ``code export|import`` and ``agree``.

Parses arguments, loads the named judges and rubric, builds the provider client for LLM judges
(the sweep's retry, rate-limit and cache machinery, with its own cache file), and prints
summaries. The stages themselves are ``scoring.py``, ``coding.py`` and ``agreement.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from harness.config import load_spec
from harness.errors import ConfigError, InputError
from harness.schema import JudgeSpec, ProviderSettings, RubricSpec, RunSettings

__all__ = ["agree_command", "code_command", "parse_score_args", "score_command"]

DEFAULT_RUBRIC = "interactional8"
_LIST = re.compile(r"^\[(.*)\]$")
SCORE_USAGE = """\
usage: xstress score RUN_DIR [judges=[heuristic,gpt4o_judge]] [rubric=NAME]
                     [provider.api_base=URL] [run.concurrency=N] [retry_unscored=true]

Codes every blinded item of RUN_DIR on the rubric with each judge (configs/judges/<name>.yaml),
writing scores/<judge>.jsonl; rerunning skips what is already scored.
"""


def _names(value: str) -> list[str]:
    match = _LIST.match(value.strip())
    inner = match.group(1) if match else value
    return [name.strip() for name in inner.split(",") if name.strip()]


def parse_score_args(args: list[str]) -> tuple[Path, list[str], dict[str, Any]]:
    """(run_dir, judge names, other settings) from ``xstress score`` arguments."""
    if not args or args[0] in ("-h", "--help"):
        print(SCORE_USAGE, end="")
        raise SystemExit(0 if args else 2)
    run_dir = Path(args[0])
    judges = ["heuristic"]
    extra: dict[str, Any] = {}
    for arg in args[1:]:
        key, sep, value = arg.partition("=")
        if not sep:
            raise ConfigError(f"xstress score: {arg!r} is not key=value",
                              fix="e.g. judges=[heuristic,gpt4o_judge]")
        if key == "judges":
            judges = _names(value)
        elif key == "rubric":
            extra["rubric"] = value
        elif key == "provider.api_base":
            extra["api_base"] = value or None
        elif key == "run.concurrency":
            extra["concurrency"] = int(value)
        elif key == "retry_unscored":
            extra["retry_unscored"] = value.lower() in ("1", "true", "yes")
        else:
            raise ConfigError(f"xstress score: unknown setting {key!r}",
                              fix="use judges=, rubric=, provider.api_base=, run.concurrency=, "
                                  "retry_unscored=")
    if not judges:
        raise ConfigError("xstress score: judges=[] selects no judge",
                          fix="e.g. judges=[heuristic]")
    return run_dir, judges, extra


def _target_families(run_dir: Path) -> set[str]:
    from harness.rundir import RunDir, read_manifests

    return {model.family for manifest in read_manifests(RunDir(run_dir))
            for model in manifest.config.models}


def _rubric(name: str | None, config: Any | None) -> RubricSpec:
    if name is None and config is not None and config.rubric is not None:
        return config.rubric  # type: ignore[no-any-return]
    spec = load_spec("rubric", name or DEFAULT_RUBRIC)
    assert isinstance(spec, RubricSpec)
    return spec


def score_command(run_dir: Path, judge_names: list[str], *, config: Any | None,
                  provider_overrides: dict[str, Any]) -> int:
    """Score a run's blinded items with the named judges; print one line per judge."""
    from harness.score import score_run

    if not (run_dir / "blind" / "items.jsonl").exists():
        raise InputError(f"{run_dir}: no blind/items.jsonl", fix=f"run 'xstress blind {run_dir}'"
                         " first")
    judges: list[JudgeSpec] = []
    for name in judge_names:
        spec = load_spec("judges", name)
        assert isinstance(spec, JudgeSpec)
        judges.append(spec)
    rubric = _rubric(provider_overrides.get("rubric"), config)
    api_base = provider_overrides.get("api_base")
    if api_base is None and config is not None:
        api_base = config.provider.api_base
    concurrency = int(provider_overrides.get("concurrency", 16))

    async def run() -> Any:
        client = None
        cache = None
        llm_judges = [j for j in judges if j.kind == "llm"]
        if llm_judges:
            from harness.providers import ProviderClient, check_keys
            from harness.rundir import ResponseCache, RunDir

            provider = ProviderSettings(mode="live", api_base=api_base)
            check_keys([j.as_model_spec() for j in llm_judges], provider)
            cache = ResponseCache(RunDir(run_dir), suffix=".judges")
            client = ProviderClient(provider, RunSettings(progress=False), cache=cache)
        try:
            return await score_run(run_dir, judges, rubric, client=client,
                                   target_families=_target_families(run_dir),
                                   progress=sys.stderr.isatty(), concurrency=concurrency,
                                   retry_unscored=bool(provider_overrides.get("retry_unscored")))
        finally:
            if cache is not None:
                cache.close()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = asyncio.run(run())
    for warning in caught:
        print(f"xstress: warning: {warning.message}", file=sys.stderr)
    for line in summary.lines():
        print(f"xstress: score: {line}", file=sys.stderr)
    return 0


def code_command(args: list[str]) -> int:
    """``xstress code export|import``."""
    from harness.cli.commands import _parse
    from harness.score import export_packet, import_codes

    parser = argparse.ArgumentParser(prog="xstress code")
    sub = parser.add_subparsers(dest="action", required=True)
    export = sub.add_parser("export", help="write a coding packet (csv or html)")
    export.add_argument("run_dir")
    export.add_argument("--coder", required=True)
    export.add_argument("--format", choices=("csv", "html"), default="html")
    export.add_argument("--out", default=None, help="file or folder (default RUN/coding/)")
    export.add_argument("--rubric", default=None)
    importer = sub.add_parser("import", help="import a coder's CSV into scores/<coder>.jsonl")
    importer.add_argument("run_dir")
    importer.add_argument("file")
    importer.add_argument("--coder", required=True)
    importer.add_argument("--rubric", default=None)
    importer.add_argument("--replace", action="store_true",
                          help="replace this coder's existing scores")
    importer.add_argument("--allow-partial", action="store_true",
                          help="accept a packet that does not code every item")
    options = _parse(parser, args)
    run_dir = Path(options.run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: run directory not found",
                         fix="pass an existing run directory, e.g. transcripts/<run_name>")
    rubric = _rubric(options.rubric, None)
    if options.action == "export":
        path = export_packet(run_dir, options.coder, options.format, rubric,
                             Path(options.out) if options.out else None)
        print(f"xstress: coding packet for {options.coder}: {path}", file=sys.stderr)
        return 0
    summary = import_codes(run_dir, Path(options.file), options.coder, rubric,
                           replace=options.replace, allow_partial=options.allow_partial)
    print(f"xstress: imported {summary.n_scored} scored and {summary.n_null} null codes on "
          f"{summary.n_items} items for {summary.coder} -> {summary.path}", file=sys.stderr)
    return 0


def agree_command(args: list[str]) -> int:
    """``xstress agree RUN_DIR``: agreement per dimension and coder pair."""
    from harness.cli.commands import _parse
    from harness.stats import compute_agreement, format_agreement_table, write_agreement

    parser = argparse.ArgumentParser(prog="xstress agree")
    parser.add_argument("run_dir")
    parser.add_argument("--rubric", default=None)
    options = _parse(parser, args)
    run_dir = Path(options.run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: run directory not found",
                         fix="pass an existing run directory, e.g. transcripts/<run_name>")
    result = compute_agreement(run_dir, _rubric(options.rubric, None))
    path = write_agreement(result, run_dir)
    print(format_agreement_table(result))
    print(f"xstress: agreement -> {path}", file=sys.stderr)
    return 0

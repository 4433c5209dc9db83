"""Fixed-scaffolding protocols: the treatment view of a run, its hash, protocol files.

``harness.schema.protocol`` says what a protocol fixes and what it leaves out. This module owns
the *views* that are hashed (one per treatment element), building a protocol from specs or a
run config, reading and writing protocol files (YAML, long texts as block scalars), and
applying one to a run config (``xstress run protocol=FILE``). Comparing two protocols is
``protocol_diff``'s; a run config's protocol and applying one to it are ``run``'s.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.config.files import display_path, load_spec, read_yaml, spec_path, validate_spec
from harness.errors import ConfigError
from harness.schema import (
    PROTOCOL_SCHEMA,
    JudgeSpec,
    ModelParams,
    ModelSpec,
    PromptSet,
    ProtocolFile,
    ProtocolSource,
    ReportSettings,
    RubricDimension,
    RubricSpec,
    ScaffoldSpec,
    TreatmentHashes,
    content_hash,
)

__all__ = [
    "FIXED_BY_PROTOCOL",
    "analysis_overrides",
    "build_protocol",
    "check_protocol_overrides",
    "common_sampling",
    "judge_view",
    "load_protocol_setting",
    "local_settings",
    "player_view",
    "read_protocol",
    "scaffold_view",
    "summarize",
    "treatment_hashes",
    "write_protocol",
]

FIXED_BY_PROTOCOL = ("scaffolds", "prompts", "rubric", "judges", "users", "run.replicates")
"""Run settings a protocol fixes: an override of one of them beside ``protocol=`` is an error."""


def scaffold_view(scaffold: ScaffoldSpec) -> dict[str, Any]:
    """What of a scaffold is treatment: its texts and passes (not its description or targets)."""
    return scaffold.model_dump(mode="json", include={"system", "user_template", "passes"})


def judge_view(judge: JudgeSpec) -> dict[str, Any]:
    """What of a non-human coder is treatment: kind, model string, prompt and parameters (not
    its endpoint, key variable, rate limits, family or description)."""
    return judge.model_dump(mode="json", include={
        "kind", "litellm_model", "params", "mode", "dimensions", "prompt_template",
        "max_parse_retries"})


def player_view(model: ModelSpec) -> dict[str, Any]:
    """What of a model playing the user is treatment: its model string and sampling."""
    return model.model_dump(mode="json", include={"litellm_model", "params"})


def _dimension_view(dimension: RubricDimension) -> dict[str, Any]:
    return dimension.model_dump(mode="json")


def common_sampling(models: Sequence[ModelSpec], where: str) -> ModelParams:
    """The one set of sampling parameters every target model uses.

    Raises:
        ConfigError: the models differ in sampling (a protocol fixes one set for all).
    """
    first = models[0].params
    for model in models[1:]:
        if model.params != first:
            raise ConfigError(
                f"{where}: models {models[0].name!r} and {model.name!r} use different sampling "
                f"parameters ({_params(first)} vs {_params(model.params)})",
                fix="a protocol fixes one set for every model: give the models the same params")
    return first


def _params(params: ModelParams) -> str:
    return ", ".join(f"{k} {v}" for k, v in params.model_dump(mode="json").items())


def treatment_hashes(*, scaffolds: Sequence[ScaffoldSpec], prompts: PromptSet,
                     rubric: RubricSpec | None, judges: Sequence[JudgeSpec],
                     sampling: ModelParams, replicates: int, users: ModelSpec | None,
                     user_models: Sequence[ModelSpec]) -> TreatmentHashes:
    """One content hash per treatment element (the input of ``protocol_hash``)."""
    return TreatmentHashes(
        scaffolds={s.name: content_hash(scaffold_view(s)) for s in scaffolds},
        scenarios={s.id: content_hash(s) for s in prompts.scenarios},
        rubric=({d.id: content_hash(_dimension_view(d)) for d in rubric.dimensions}
                if rubric is not None else None),
        judges={j.name: content_hash(judge_view(j)) for j in judges},
        sampling=content_hash(sampling),
        replicates=replicates,
        users=content_hash(player_view(users)) if users is not None else None,
        user_models={m.name: content_hash(player_view(m)) for m in user_models},
    )


def _portable_judge(judge: JudgeSpec) -> JudgeSpec:
    """A judge as a protocol carries it: no endpoint, key variable, rate limits or file path."""
    return judge.model_copy(update={"api_base": None, "api_key_env": None,
                                    "limits": type(judge.limits)(), "prompt_file": None})


def _portable_model(model: ModelSpec) -> ModelSpec:
    return model.model_copy(update={"api_base": None, "api_key_env": None,
                                    "limits": type(model.limits)()})


def build_protocol(*, models: Sequence[ModelSpec], scaffolds: Sequence[ScaffoldSpec],
                   prompts: PromptSet, rubric: RubricSpec | None, judges: Sequence[JudgeSpec],
                   replicates: int, users: ModelSpec | None, user_models: Sequence[ModelSpec],
                   run_id: str | None, where: str, sampling: ModelParams | None = None,
                   analysis: ReportSettings | None = None) -> ProtocolFile:
    """The protocol a run followed (``sampling`` defaults to the models' common set).

    Raises:
        ConfigError: the models differ in sampling parameters and no ``sampling`` is given.
    """
    from datetime import UTC, datetime
    from importlib.metadata import version

    sampling = sampling if sampling is not None else common_sampling(models, where)
    hashes = treatment_hashes(scaffolds=scaffolds, prompts=prompts, rubric=rubric,
                              judges=judges, sampling=sampling, replicates=replicates,
                              users=users, user_models=user_models)
    data = ProtocolFile(
        schema=PROTOCOL_SCHEMA,
        protocol_hash=content_hash(hashes),
        summary="",
        source=ProtocolSource(run_id=run_id, xstress=version("xstress"),
                              exported_at=datetime.now(UTC).isoformat(timespec="seconds")),
        hashes=hashes,
        scaffolds=list(scaffolds),
        prompts=prompts,
        rubric=rubric,
        judges=[_portable_judge(j) for j in judges],
        sampling=sampling,
        replicates=replicates,
        users=_portable_model(users) if users is not None else None,
        user_models=[_portable_model(m) for m in user_models],
        analysis=analysis,
    )
    return data.model_copy(update={"summary": summarize(data)})


def summarize(protocol: ProtocolFile) -> str:
    """What the protocol fixes, in words (the file's ``summary``)."""
    rubric = protocol.rubric
    scenarios = protocol.prompts.scenarios
    sampling = ", ".join(f"{k}={v}" for k, v in protocol.sampling.model_dump(mode="json").items())
    users = (f"{protocol.users.name} ({protocol.users.litellm_model})" if protocol.users
             else "each target model itself")
    lines = [
        f"Protocol {protocol.protocol_hash[:12]} (xstress.protocol/1).",
        f"Scaffolds ({len(protocol.scaffolds)}): "
        + ", ".join(s.name for s in protocol.scaffolds) + ".",
        f"Scenarios ({len(scenarios)}, from prompt set {protocol.prompts.name}): "
        + ", ".join(s.id for s in scenarios) + ".",
        (f"Rubric {rubric.name}: " + ", ".join(d.id for d in rubric.dimensions) + ".")
        if rubric else "No rubric fixed.",
        "Coders: " + (", ".join(f"{j.name} ({j.kind}"
                                + (f", {j.litellm_model}, {j.mode}" if j.kind == "llm" else "")
                                + ")" for j in protocol.judges) or "none") + ".",
        f"Target sampling: {sampling}. Replicates: {protocol.replicates}.",
        f"Simulated users played by {users}.",
        "Not fixed: the models under test, their endpoints, keys and rate limits, and "
        "descriptions (they do not change the protocol hash).",
    ]
    return "".join(textwrap.fill(line, 96, subsequent_indent="  ") + "\n" for line in lines)


def read_protocol(path: Path) -> ProtocolFile:
    """Read and check a protocol file (its hashes must match its contents).

    Raises:
        ConfigError: the file is missing, not YAML, not a protocol, or edited by hand so that
            its hashes no longer match its texts.
    """
    where = display_path(path)
    data = read_yaml(path)
    if isinstance(data, dict) and "schema" in data and data["schema"] != PROTOCOL_SCHEMA:
        raise ConfigError(f"{where}: field 'schema' is {data['schema']!r}, not a protocol",
                          fix=f"give a file written by 'xstress protocol export' "
                              f"(schema {PROTOCOL_SCHEMA})")
    protocol = validate_spec(ProtocolFile, data, where)
    hashes = treatment_hashes(
        scaffolds=protocol.scaffolds, prompts=protocol.prompts, rubric=protocol.rubric,
        judges=protocol.judges, sampling=protocol.sampling, replicates=protocol.replicates,
        users=protocol.users, user_models=protocol.user_models)
    if hashes != protocol.hashes or content_hash(hashes) != protocol.protocol_hash:
        stale = _stale_elements(hashes, protocol.hashes)
        raise ConfigError(
            f"{where}: the protocol's hashes do not match its texts ({stale or 'protocol_hash'}"
            f" changed): it was edited after export",
            fix="a changed protocol is a new protocol: edit the configs and run "
                "'xstress protocol export' again")
    return protocol


def _stale_elements(actual: TreatmentHashes, recorded: TreatmentHashes) -> str:
    changed = []
    for field in TreatmentHashes.model_fields:
        mine, theirs = getattr(actual, field), getattr(recorded, field)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            changed += [f"{field} {k}" for k in sorted(set(mine) | set(theirs))
                        if mine.get(k) != theirs.get(k)]
        elif mine != theirs:
            changed.append(field)
    return ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")


class _BlockDumper(yaml.SafeDumper):
    """Long texts as ``|`` blocks, so a protocol file reads like the configs it came from."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(ch in value for ch in "\r\t") \
        and value == value.rstrip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def write_protocol(protocol: ProtocolFile, path: Path) -> None:
    """Write a protocol file atomically (a half-written protocol never replaces a whole one)."""
    data = protocol.model_dump(mode="json", by_alias=True)
    text = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(f"# xstress fixed-scaffolding protocol {protocol.protocol_hash[:12]}: "
                      f"run it with 'xstress run protocol={path.name} models=[...]'\n")
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def local_settings(spec: Any, kind: str) -> Any:
    """A protocol's judge or model with this lab's endpoint, key variable and rate limits when
    a config of the same name exists here (the protocol carries none of them)."""
    if not spec_path(kind, spec.name).is_file():
        return spec
    local = load_spec(kind, spec.name)
    update = {"api_base": local.api_base, "api_key_env": local.api_key_env,
              "limits": local.limits, "max_input_tokens": local.max_input_tokens,
              "pricing": local.pricing}
    if isinstance(spec, JudgeSpec) and isinstance(local, JudgeSpec):
        update["on_family_match"] = local.on_family_match
        # How the server enforces the reply format is the lab's, like its endpoint.
        update["structured_output"] = local.structured_output
    return spec.model_copy(update=update)


def check_protocol_overrides(overrides: Sequence[str]) -> None:
    """``protocol=FILE`` fixes the scaffolds, scenarios, rubric, coders, users and replicates:
    selecting one of them on the same command line is a contradiction.

    Raises:
        ConfigError: naming the override to drop.
    """
    keys = [o.partition("=")[0].lstrip("+~") for o in overrides]
    if "protocol" not in keys:
        return
    clashing = [k for k in keys if k in FIXED_BY_PROTOCOL]
    if clashing:
        raise ConfigError(f"protocol=FILE fixes {', '.join(clashing)}: the override contradicts "
                          f"it", fix=f"drop {', '.join(f'{k}=...' for k in clashing)} (choose "
                                     "the models with models=[...])")


def analysis_overrides(overrides: Sequence[str]) -> list[str]:
    """``overrides`` plus the named protocol's analysis plan as ``report.*`` overrides, for the
    fields the command line does not set itself (so a protocol run reports the way the study
    did, and an explicit ``report.coder=...`` still wins).

    Raises:
        ConfigError: the protocol file is missing or invalid.
    """
    value = next((o.partition("=")[2] for o in overrides
                  if o.partition("=")[0].lstrip("+~") == "protocol"), None)
    if not value or value == "null":
        return list(overrides)
    protocol = read_protocol(Path(value))
    if protocol.analysis is None:
        return list(overrides)
    given = {o.partition("=")[0].lstrip("+~") for o in overrides}
    added = [f"report.{name}={_hydra_value(v)}"
             for name, v in protocol.analysis.model_dump(mode="json").items()
             if f"report.{name}" not in given]
    return [*overrides, *added]


def _hydra_value(value: Any) -> str:
    """A plain value as a Hydra override value (names, numbers, null; quoted otherwise)."""
    if value is None:
        return "null"
    text = str(value)
    if isinstance(value, (int, float)) or re.fullmatch(r"[A-Za-z0-9_.-]+", text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def load_protocol_setting(value: Any) -> ProtocolFile | None:
    """The protocol named by the ``protocol`` setting (a file path), or None."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConfigError("protocol: expected a file path", fix="protocol=path/to/protocol.yaml")
    return read_protocol(Path(value))


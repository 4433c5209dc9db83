"""Whether a run directory may take this configuration's cells, checked before any call.

A run directory holds one configuration: a resume must not append a second one's records to
the same files, and a replay can only serve cells its source recorded. Both are decided here
from what defines cells (models with their sampling parameters, scaffolds, scenarios,
replicates), compared with the manifests already on disk, before the sweep opens a file or
makes a call; what differs is named, with the two ways out as commands. ``run.limit`` and
``run.only`` select among the same cells, so they are never a difference. Running the sweep is
``runner.py``'s; reading manifests is ``harness.rundir``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.config import RunConfig
from harness.errors import ConfigError
from harness.rundir import Manifest, ManifestConfig, RunDir, read_manifests
from harness.schema import ModelSpec, PromptSet, ScaffoldSpec, content_hash
from harness.sweep.cells import model_identity_hash

__all__ = ["CellDefinition", "check_replay_source", "check_resume"]


@dataclass(frozen=True)
class CellDefinition:
    """What defines a configuration's cells, by name, each with the hash its cell ids use."""

    models: dict[str, str]
    scaffolds: dict[str, str]
    scenarios: dict[str, str]
    replicates: int
    prompt_set: str

    @classmethod
    def of(cls, models: Iterable[ModelSpec], scaffolds: Iterable[ScaffoldSpec],
           prompts: PromptSet, replicates: int, only: Sequence[str] | None = None
           ) -> CellDefinition:
        """The definition of a configuration's cells (``only``: these scenarios alone)."""
        return cls(models={m.name: model_identity_hash(m) for m in models},
                   scaffolds={s.name: content_hash(s) for s in scaffolds},
                   scenarios={s.id: content_hash(s) for s in prompts.scenarios
                              if only is None or s.id in only},
                   replicates=replicates, prompt_set=prompts.name)

    @classmethod
    def of_config(cls, config: RunConfig | ManifestConfig, *, selected: bool = False
                  ) -> CellDefinition:
        """The definition of a run config or a manifest's config (``selected``: only the
        scenarios ``run.only`` picks)."""
        return cls.of(config.models, config.scaffolds, config.prompts, config.run.replicates,
                      config.run.only if selected else None)


def _differences(recorded: CellDefinition, wanted: CellDefinition, *, subset: bool) -> list[str]:
    """What ``wanted`` has that ``recorded`` does not (and, unless ``subset``, the reverse)."""
    found = []
    for kind in ("models", "scaffolds", "scenarios"):
        old, new = getattr(recorded, kind), getattr(wanted, kind)
        added = sorted(name for name in new if name not in old)
        changed = sorted(name for name in new if name in old and old[name] != new[name])
        removed = [] if subset else sorted(name for name in old if name not in new)
        if added:
            found.append(f"{kind} {', '.join(_few(added))} not in it")
        if removed:
            found.append(f"{kind} {', '.join(_few(removed))} missing here")
        if changed:
            what = "sampling parameters or endpoint" if kind == "models" else "text"
            found.append(f"{kind} {', '.join(_few(changed))} changed ({what})")
    if (wanted.replicates > recorded.replicates if subset
            else wanted.replicates != recorded.replicates):
        found.append(f"run.replicates {wanted.replicates} here, {recorded.replicates} in it")
    return found


def _few(names: list[str], shown: int = 4) -> list[str]:
    return names if len(names) <= shown else [*names[:shown], f"and {len(names) - shown} more"]


def _own_configuration(manifest: Manifest) -> str:
    """The settings that select a manifest's cells again, as command-line overrides."""
    config = manifest.config
    parts = [f"preset={config.preset}"] if config.preset else []
    parts += [f"models=[{','.join(m.name for m in config.models)}]",
              f"scaffolds=[{','.join(s.name for s in config.scaffolds)}]",
              f"prompts={config.prompts.name}"]
    if config.run.replicates != 1:
        parts.append(f"run.replicates={config.run.replicates}")
    if config.provider.mode == "replay" and config.replay.from_:
        parts += ["provider=replay", f"replay.from={config.replay.from_}"]
    return " ".join(parts)


def check_resume(config: RunConfig, run_dir: Path) -> None:
    """Refuse to sweep into a run directory that holds another configuration's cells.

    Raises:
        ConfigError: the directory's manifest defines other cells (models, scaffolds,
            scenarios or replicates differ); names what differs and both ways out.
    """
    if not run_dir.is_dir():
        return
    wanted = CellDefinition.of_config(config)
    for manifest in read_manifests(RunDir(run_dir)):
        differences = _differences(CellDefinition.of_config(manifest.config), wanted,
                                   subset=False)
        if differences:
            name = run_dir.name
            raise ConfigError(
                f"run.name={name}: {run_dir} holds another configuration's cells "
                f"({'; '.join(differences)}); nothing was run",
                fix=f"resume it with its own configuration: 'xstress run run.name={name} "
                    f"run.out_dir={run_dir.parent} {_own_configuration(manifest)}', or start "
                    f"a new run with another name: 'xstress run run.name={name}-2 ...'",
            )


def check_replay_source(config: RunConfig, source: Path) -> None:
    """Refuse a replay asking for cells its source never recorded, before any call.

    Raises:
        ConfigError: a model, scaffold or scenario (or a replicate) of this run is not in the
            source's manifest, or has other content there.
    """
    wanted = CellDefinition.of_config(config, selected=True)
    for manifest in read_manifests(RunDir(source)):
        differences = _differences(CellDefinition.of_config(manifest.config), wanted,
                                   subset=True)
        if differences:
            raise ConfigError(
                f"replay.from={source}: the recording does not hold this run's cells "
                f"({'; '.join(differences)}); nothing was run",
                fix=f"replay its own configuration: 'xstress run provider=replay "
                    f"replay.from={source} {_own_configuration_for_replay(manifest)}', or a "
                    f"subset of it",
            )


def _own_configuration_for_replay(manifest: Manifest) -> str:
    """The recording's selection, without its own replay settings (the replay adds its own)."""
    return " ".join(part for part in _own_configuration(manifest).split()
                    if not part.startswith(("provider=", "replay.from=")))

"""The protocol a run followed, rebuilt from its manifest (the resolved config in full).

``xstress protocol export RUN_DIR``, ``protocol verify`` and ``compare`` read a run's protocol
here; the treatment views and the hash are ``harness.config.protocol``'s, so a run's protocol
hash is the same whether it is computed at the sweep (the manifest's ``protocol_hash``) or later
from the manifest.
"""

from __future__ import annotations

from harness.config import build_protocol
from harness.errors import InputError
from harness.rundir.layout import RunDir
from harness.rundir.records import Manifest
from harness.rundir.stores import read_manifests
from harness.schema import ModelParams, ProtocolFile

__all__ = ["protocol_of_manifest", "protocol_of_run", "run_manifest"]


def run_manifest(run_dir: RunDir) -> Manifest:
    """The run's manifest (the first shard's: every shard records the same configuration).

    Raises:
        InputError: the run has no manifest (no sweep ran there).
    """
    manifests = read_manifests(run_dir)
    if not manifests:
        raise InputError(f"{run_dir.root}: no manifest.json (is this a run directory?)",
                         fix="give a folder written by 'xstress run' (e.g. transcripts/<run>)")
    return manifests[0]


def protocol_of_run(run_dir: RunDir, *, sampling: ModelParams | None = None) -> ProtocolFile:
    """The protocol ``run_dir`` followed (``sampling``: take this set instead of requiring the
    models' common one, for checking each model against a protocol).

    Raises:
        InputError: no manifest.
        ConfigError: the run's models differ in sampling and no ``sampling`` is given.
    """
    return protocol_of_manifest(run_manifest(run_dir), sampling=sampling)


def protocol_of_manifest(manifest: Manifest, *,
                         sampling: ModelParams | None = None) -> ProtocolFile:
    """The protocol of the configuration a manifest records (see :func:`protocol_of_run`)."""
    config = manifest.config
    return build_protocol(
        models=config.models, scaffolds=config.scaffolds, prompts=config.prompts,
        rubric=config.rubric, judges=config.judges, replicates=config.run.replicates,
        users=config.users, user_models=config.simulated_user_models, run_id=manifest.run_id,
        where=f"run {manifest.run_id}", sampling=sampling, analysis=config.report)

"""The sweep's manifest: what one shard ran, with what, and how it ended.

Owns building the ``harness.rundir.Manifest`` record from the run configuration and the
sweep's progress (with the software versions and git commit of the checkout, and per model what
the provider reported serving and its endpoint's ``/models`` listing), and writing it
atomically, sorted and indented, when the sweep starts and when it ends. Reading manifests back
is ``harness.rundir.read_manifests``; deciding what the sweep does is ``runner.py``'s.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.config import RunConfig
from harness.providers import now_iso
from harness.rundir import (
    CallRecord,
    Manifest,
    ManifestConfig,
    ManifestHashes,
    ServedIdentity,
    ServerListing,
    StatusCounts,
    write_json_atomic,
)
from harness.sweep.result import SweepResult

__all__ = ["ManifestWriter", "git_commit", "versions"]


def git_commit() -> str | None:
    """The commit of the checkout xstress runs from, when it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).parent, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, str]:
    """Versions of python, xstress, litellm, hydra-core and pydantic."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("xstress", "litellm", "hydra-core", "pydantic"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "unknown"
    return found


def _protocol_hash(config: RunConfig) -> str | None:
    """The run's protocol hash; None when its models differ in sampling (no single protocol)."""
    from harness.config import protocol_of_config
    from harness.errors import ConfigError

    try:
        return protocol_of_config(config).protocol_hash
    except ConfigError:
        return None


@dataclass
class ManifestWriter:
    """Writes one shard's manifest (``RunDir.manifest``) as the sweep goes."""

    config: RunConfig
    path: Path
    run_id: str
    cells: int
    """Cells of this shard."""
    started_at: str
    """ISO time of the run's first invocation."""
    model_versions: dict[str, set[str]] = field(default_factory=dict)
    """Model versions the providers reported, per model name (filled in by the runner)."""
    reported: dict[str, set[str]] = field(default_factory=dict)
    """Per model name, the ``model`` its own replies reported (not a simulated user's)."""
    fingerprints: dict[str, set[str]] = field(default_factory=dict)
    """Per model name, the system fingerprints its own replies reported."""
    listings: dict[str, ServerListing] = field(default_factory=dict)
    """Per model name, its endpoint's ``/models`` listing at the start of this invocation."""

    def note_versions(self, model: str, reported: Iterable[str | None]) -> None:
        """Remember the model versions a cell's calls reported (simulated users included:
        blinding scrubs every name that appeared)."""
        for version in reported:
            if version:
                self.model_versions.setdefault(model, set()).add(version)

    def note_served(self, model: str, calls: Iterable[CallRecord]) -> None:
        """Remember what a cell's own calls (not its simulated user's, which another model
        may play) reported serving."""
        for call in calls:
            if call.purpose == "simulated_user":
                continue
            if call.model_reported:
                self.reported.setdefault(model, set()).add(call.model_reported)
            if call.system_fingerprint:
                self.fingerprints.setdefault(model, set()).add(call.system_fingerprint)

    def note_served_before(self, model: str, identity: ServedIdentity) -> None:
        """Keep what an earlier invocation of the run recorded (a resume calls only the rest)."""
        self.reported.setdefault(model, set()).update(identity.reported_models)
        self.fingerprints.setdefault(model, set()).update(identity.system_fingerprints)

    def _served(self) -> dict[str, ServedIdentity]:
        """Per target model: configured string, endpoint, what was reported and listed."""
        provider = self.config.provider
        return {model.name: ServedIdentity(
            litellm_model=model.litellm_model, simulated=model.simulated,
            api_base=None if model.simulated else provider.api_base or model.api_base,
            reported_models=sorted(self.reported.get(model.name, ())),
            system_fingerprints=sorted(self.fingerprints.get(model.name, ())),
            listing=self.listings.get(model.name)) for model in self.config.models}

    def build(self, result: SweepResult, *, cost_usd: float, finished: bool) -> Manifest:
        """The manifest of the sweep so far.

        Args:
            result: the sweep's counts and how it stopped.
            cost_usd: spent on this shard's cells over every invocation.
            finished: True at the end of the invocation (sets ``finished_at``).
        """
        config = self.config
        return Manifest(
            run_id=self.run_id,
            simulated=config.simulated,
            simulated_models=sorted(m.name for m in config.models if m.simulated),
            config=ManifestConfig.model_validate(config.to_manifest()),
            hashes=ManifestHashes.model_validate(config.hashes()),
            protocol_hash=_protocol_hash(config),
            versions=versions(),
            git_commit=git_commit(),
            shard=config.run.shard,
            num_shards=config.run.num_shards,
            cells=self.cells,
            counts=StatusCounts(ok=result.counts["ok"], error=result.counts["error"],
                                blocked=result.counts["blocked"]),
            not_started=result.not_started,
            stopped_by=result.stopped_by,
            cost_usd=round(cost_usd, 6),
            calls_made_this_invocation=result.calls_made,
            model_versions={k: sorted(v) for k, v in self.model_versions.items()},
            served=self._served(),
            started_at=self.started_at,
            finished_at=now_iso() if finished else None,
        )

    def write(self, result: SweepResult, *, cost_usd: float, finished: bool) -> None:
        """Replace the manifest file atomically (keys sorted, indented, as always)."""
        manifest = self.build(result, cost_usd=cost_usd, finished=finished)
        write_json_atomic(self.path, manifest.model_dump(mode="json", by_alias=True))


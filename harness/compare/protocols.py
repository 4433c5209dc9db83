"""The first check of a comparison: do the runs follow one fixed-scaffolding protocol?

Each run's protocol is rebuilt from its manifest (``harness.rundir.protocol_of_run``) and
compared with the first run's, element by element (``harness.config.diff_protocols``), so
``compare``, ``protocol verify`` and the protocol hash cannot disagree about what counts as the
same treatment. Different protocols are refused with one line naming the runs and the first
differences, unless the caller allows it; then every difference is returned for the document.
This module reads manifests only; it computes no statistic and words no document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.config import Difference, diff_protocols
from harness.errors import ConfigError
from harness.rundir import RunDir, protocol_of_run
from harness.schema import ProtocolFile

__all__ = ["ProtocolCheck", "RunProtocol", "check_protocols"]

SHOWN_IN_ERROR = 3
"""Differences named in the refusal; the rest are counted (``... and N more``)."""


@dataclass(frozen=True)
class RunProtocol:
    """A run of the comparison and the protocol it followed."""

    name: str
    """The run's name in the comparison (its folder's name)."""
    run_dir: RunDir
    protocol: ProtocolFile


@dataclass(frozen=True)
class ProtocolCheck:
    """The protocols of the runs and how each differs from the first run's."""

    runs: tuple[RunProtocol, ...]
    differences: dict[str, list[Difference]]
    """Per later run that differs: its differences from the first run (empty dict: one
    protocol)."""

    @property
    def same(self) -> bool:
        """Every run followed the first run's protocol."""
        return not self.differences

    def lines(self) -> list[str]:
        """Every difference as ``<run> vs <first>: <difference>``."""
        first = self.runs[0].name
        return [f"{name} vs {first}: {difference}"
                for name, found in self.differences.items() for difference in found]


def check_protocols(runs: Sequence[tuple[str, RunDir]], *,
                    allow_different: bool) -> ProtocolCheck:
    """Each run's protocol, compared with the first run's.

    Args:
        runs: (name, run directory) in the order given; at least two.
        allow_different: return the differences instead of refusing them.

    Raises:
        ConfigError: the protocols differ and ``allow_different`` is false (one line naming the
            runs, both hashes and the first differences; fix: ``--allow-different``); or a run's
            models differ in sampling, so it has no single protocol.
        InputError: a run has no manifest.
    """
    protocols = tuple(RunProtocol(name, run_dir, protocol_of_run(run_dir))
                      for name, run_dir in runs)
    first = protocols[0]
    differences: dict[str, list[Difference]] = {}
    for other in protocols[1:]:
        if other.protocol.protocol_hash == first.protocol.protocol_hash:
            continue
        found = diff_protocols(first.protocol, other.protocol,
                               sides=(f"run {first.name}", f"run {other.name}"))
        # Equal hashes mean equal elements; a hash difference with no element named (a new
        # element kind) must still refuse, so say so rather than pass silently.
        differences[other.name] = found or [Difference("protocol", "", "hash differs")]
    if differences and not allow_different:
        name, found = next(iter(differences.items()))
        other = next(p for p in protocols if p.name == name)
        shown = "; ".join(str(d) for d in found[:SHOWN_IN_ERROR])
        more = f" ... and {len(found) - SHOWN_IN_ERROR} more" if len(found) > SHOWN_IN_ERROR \
            else ""
        also = f" (and {len(differences) - 1} other run(s) differ too)" \
            if len(differences) > 1 else ""
        raise ConfigError(
            f"runs {first.name} and {name} follow different protocols "
            f"({first.protocol.protocol_hash[:12]} vs {other.protocol.protocol_hash[:12]}): "
            f"{shown}{more}{also}; their profiles are not comparable under fixed scaffolding",
            fix="compare runs of one protocol (xstress run protocol=FILE models=[...]), or add "
                "--allow-different to compare anyway (the comparison then lists every "
                "difference)")
    return ProtocolCheck(runs=protocols, differences=differences)

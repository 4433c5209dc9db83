"""Cells: the model x scaffold x scenario x replicate grid of a sweep.

A cell's id is a hash of the content that defines it (the model's identity and sampling
parameters, the scaffold's full text, the scenario's full text, the replicate index), so
editing a scaffold makes new cells while renaming a run or changing rate limits does not.
Sharding assigns each cell to ``int(cell_id) % num_shards``, stable across machines.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from harness.config import RunConfig
from harness.schema import ModelSpec, PromptSet, ScaffoldSpec, Scenario, content_hash

__all__ = ["Cell", "enumerate_cells", "iter_cells", "model_identity_hash", "sweep_cells"]


def model_identity_hash(model: ModelSpec) -> str:
    """Hash of what makes replies differ: litellm model, endpoint, sampling params, name."""
    return content_hash(
        {
            "name": model.name,
            "litellm_model": model.litellm_model,
            "api_base": model.api_base,
            "params": model.params.model_dump(mode="json"),
        }
    )


@dataclass(frozen=True)
class Cell:
    """One conversation to run: a model inside a scaffold on one scenario, one replicate."""

    cell_id: str
    model: ModelSpec
    scaffold: ScaffoldSpec
    scenario: Scenario
    prompt_set: str
    replicate: int
    scaffold_hash: str
    prompt_hash: str
    model_hash: str

    @property
    def label(self) -> str:
        """Human-readable name for messages (never used as an identifier)."""
        return f"{self.model.name}/{self.scaffold.name}/{self.scenario.id}#r{self.replicate}"


def iter_cells(
    models: Iterable[ModelSpec],
    scaffolds: Iterable[ScaffoldSpec],
    prompts: PromptSet,
    *,
    replicates: int = 1,
    shard: int = 0,
    num_shards: int = 1,
    only: Collection[str] | None = None,
    limit: int | None = None,
) -> Iterator[Cell]:
    """All cells of this shard, in a deterministic order, one at a time (nothing is kept:
    iterate again for a second pass).

    Order is replicate, scenario, scaffold, then model innermost, so that consecutive cells go
    to different providers and per-model rate limits overlap instead of queueing. ``only``
    keeps the scenarios with these ids; ``limit`` keeps the first N cells of the shard. Both
    select among the same cells: no cell id depends on them.
    """
    models = list(models)
    scaffolds = list(scaffolds)
    model_hashes = {m.name: model_identity_hash(m) for m in models}
    scaffold_hashes = {s.name: content_hash(s) for s in scaffolds}
    prompt_hashes: dict[int, str] = {}
    left = limit
    for replicate in range(replicates):
        for position, scenario in enumerate(prompts.scenarios):
            if only is not None and scenario.id not in only:
                continue
            if position not in prompt_hashes:
                prompt_hashes[position] = content_hash(scenario)
            prompt_hash = prompt_hashes[position]
            for scaffold in scaffolds:
                for model in models:
                    cell_id = content_hash(
                        {
                            "model": model_hashes[model.name],
                            "scaffold": scaffold_hashes[scaffold.name],
                            "scenario": prompt_hash,
                            "replicate": replicate,
                        }
                    )[:24]
                    if int(cell_id, 16) % num_shards != shard:
                        continue
                    if left is not None:
                        if left == 0:
                            return
                        left -= 1
                    yield Cell(
                        cell_id=cell_id,
                        model=model,
                        scaffold=scaffold,
                        scenario=scenario,
                        prompt_set=prompts.name,
                        replicate=replicate,
                        scaffold_hash=scaffold_hashes[scaffold.name],
                        prompt_hash=prompt_hash,
                        model_hash=model_hashes[model.name],
                    )


def enumerate_cells(
    models: Iterable[ModelSpec],
    scaffolds: Iterable[ScaffoldSpec],
    prompts: PromptSet,
    *,
    replicates: int = 1,
    shard: int = 0,
    num_shards: int = 1,
    only: Collection[str] | None = None,
    limit: int | None = None,
) -> list[Cell]:
    """``iter_cells`` as a list (for tests; the sweep and the plan use ``sweep_cells``)."""
    return list(iter_cells(models, scaffolds, prompts, replicates=replicates, shard=shard,
                           num_shards=num_shards, only=only, limit=limit))


def sweep_cells(config: RunConfig) -> Iterator[Cell]:
    """The cells ``config`` runs: its shard, ``run.only`` and ``run.limit``, generated."""
    run = config.run
    return iter_cells(config.models, config.scaffolds, config.prompts,
                      replicates=run.replicates, shard=run.shard, num_shards=run.num_shards,
                      only=run.only, limit=run.limit)

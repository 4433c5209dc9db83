"""Cell enumeration, ids and sharding (harness/sweep/cells.py)."""

from __future__ import annotations

from harness.schema import ModelSpec, PromptSet, ScaffoldSpec
from harness.sweep.cells import enumerate_cells


def _models() -> list[ModelSpec]:
    return [ModelSpec(name=n, litellm_model=f"openai/{n}", family="f") for n in ("a", "b", "c")]


def _scaffolds() -> list[ScaffoldSpec]:
    return [ScaffoldSpec(name=n, system=f"be {n}") for n in ("bare", "verify")]


def _prompts(n: int = 5) -> PromptSet:
    return PromptSet.model_validate({"name": "p", "scenarios": [
        {"id": f"s{i}", "domain": "health", "probe": "checkable", "targets": ["D3"],
         "turns": [{"user": f"question {i}"}]} for i in range(n)]})


def test_grid_size_and_determinism() -> None:
    cells = enumerate_cells(_models(), _scaffolds(), _prompts(), replicates=2)
    assert len(cells) == 3 * 2 * 5 * 2
    again = enumerate_cells(_models(), _scaffolds(), _prompts(), replicates=2)
    assert [c.cell_id for c in cells] == [c.cell_id for c in again]
    assert len({c.cell_id for c in cells}) == len(cells)
    # model is the innermost loop: consecutive cells go to different models
    assert [c.model.name for c in cells[:3]] == ["a", "b", "c"]


def test_editing_a_scaffold_makes_new_cells_only_for_it() -> None:
    before = {(c.scaffold.name, c.model.name, c.scenario.id): c.cell_id
              for c in enumerate_cells(_models(), _scaffolds(), _prompts())}
    edited = [ScaffoldSpec(name="bare", system="be bare"),
              ScaffoldSpec(name="verify", system="be verify, and check")]
    after = {(c.scaffold.name, c.model.name, c.scenario.id): c.cell_id
             for c in enumerate_cells(_models(), edited, _prompts())}
    for key, cell_id in before.items():
        if key[0] == "bare":
            assert after[key] == cell_id
        else:
            assert after[key] != cell_id


def test_rate_limits_do_not_change_cell_ids() -> None:
    models = _models()
    limited = [m.model_copy(update={"limits": m.limits.model_copy(update={"rpm": 5})})
               for m in models]
    ids = [c.cell_id for c in enumerate_cells(models, _scaffolds(), _prompts())]
    assert ids == [c.cell_id for c in enumerate_cells(limited, _scaffolds(), _prompts())]


def test_shards_partition_the_grid() -> None:
    full = {c.cell_id for c in enumerate_cells(_models(), _scaffolds(), _prompts(20))}
    parts = [{c.cell_id for c in enumerate_cells(_models(), _scaffolds(), _prompts(20),
                                                 shard=k, num_shards=4)} for k in range(4)]
    assert set().union(*parts) == full
    assert sum(len(p) for p in parts) == len(full)
    assert all(len(p) > 0 for p in parts)

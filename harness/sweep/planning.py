"""Planning: how many cells, calls and tokens a sweep needs, and what it will cost.

Prices come from litellm's bundled price map, read as a JSON file from the installed package
without importing litellm (importing it costs seconds; ``xstress plan`` must stay fast). Token
counts are estimated at four characters per token, which is close for English prose and is
stated wherever an estimate is printed.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.schema import ModelSpec
from harness.sweep.cells import Cell

__all__ = ["CellEstimate", "Plan", "estimate_cell", "make_plan", "price_per_token"]

CHARS_PER_TOKEN = 4.0


@lru_cache(maxsize=1)
def _price_map() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / (
        "model_prices_and_context_window_backup.json"
    )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def price_per_token(model: ModelSpec) -> tuple[float, float] | None:
    """(input, output) USD per token from litellm's price map; None when unknown."""
    if model.simulated or model.pricing == "free":
        return (0.0, 0.0)
    prices = _price_map()
    candidates = [model.litellm_model]
    if "/" in model.litellm_model:
        candidates.append(model.litellm_model.split("/", 1)[1])
    for key in candidates:
        entry = prices.get(key)
        if isinstance(entry, dict) and "input_cost_per_token" in entry:
            return (float(entry.get("input_cost_per_token") or 0.0),
                    float(entry.get("output_cost_per_token") or 0.0))
    return None


@dataclass(frozen=True)
class CellEstimate:
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


def estimate_cell(cell: Cell) -> CellEstimate:
    """Upper-bound estimate for one cell: every reply runs to ``max_tokens``."""
    max_out = cell.model.params.max_tokens or 1024
    system_tokens = len(cell.scaffold.system or "") / CHARS_PER_TOKEN
    history = system_tokens
    calls = 0
    input_tokens = 0.0
    output_tokens = 0.0
    for turn in cell.scenario.turns:
        user_turns = 1 if turn.user is not None else (
            turn.simulated_user.max_turns if turn.simulated_user else 1)
        for _ in range(user_turns):
            if turn.simulated_user is not None:
                calls += 1
                input_tokens += history
                output_tokens += 100
            text = turn.user or "x" * 400
            history += len(cell.scaffold.wrap_user(text)) / CHARS_PER_TOKEN
            calls += 1
            input_tokens += history
            output_tokens += max_out
            for scaffold_pass in cell.scaffold.passes:
                calls += 1
                input_tokens += history + max_out + len(scaffold_pass.instruction) / 4
                output_tokens += max_out
            history += max_out
    price = price_per_token(cell.model)
    cost = None if price is None else input_tokens * price[0] + output_tokens * price[1]
    return CellEstimate(calls, int(input_tokens), int(output_tokens), cost)


@dataclass(frozen=True)
class Plan:
    cells: int
    by_model: dict[str, int]
    by_scaffold: dict[str, int]
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced_models: tuple[str, ...]
    cost_by_model: dict[str, float]


def make_plan(cells: list[Cell]) -> Plan:
    """Counts and an upper-bound cost for ``cells``."""
    by_model: Counter[str] = Counter()
    by_scaffold: Counter[str] = Counter()
    cost_by_model: dict[str, float] = {}
    unpriced: set[str] = set()
    calls = input_tokens = output_tokens = 0
    cost: float = 0.0
    for cell in cells:
        by_model[cell.model.name] += 1
        by_scaffold[cell.scaffold.name] += 1
        estimate = estimate_cell(cell)
        calls += estimate.calls
        input_tokens += estimate.input_tokens
        output_tokens += estimate.output_tokens
        if estimate.cost_usd is None:
            unpriced.add(cell.model.name)
        else:
            cost += estimate.cost_usd
            cost_by_model[cell.model.name] = (cost_by_model.get(cell.model.name, 0.0)
                                              + estimate.cost_usd)
    return Plan(len(cells), dict(by_model), dict(by_scaffold), calls, input_tokens,
                output_tokens, cost, tuple(sorted(unpriced)), dict(cost_by_model))

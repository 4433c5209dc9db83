"""Tests for harness/blind/leak_audit.py: the identifiability classifier and its bounded sample."""

from __future__ import annotations

import random

import pytest

from harness.blind.leak_audit import (
    AuditReservoir,
    AuditSkipped,
    audit_identifiability,
    measure_identifiability,
    wilson_interval,
)
from harness.rundir import Identifiability

_FILLER_TEXT = (
    "check the label dose with your pharmacist before the deadline because the rules about "
    "rent deposits benefits and appeals often change and the council may need a form"
)
FILLER = _FILLER_TEXT.split()


def _corpus(n_per_model: int, seed: int) -> tuple[list[str], list[str]]:
    """Three 'models' whose replies share filler but each carry a signature phrase."""
    rng = random.Random(seed)
    signatures = {
        "model-a": "Certainly! Here is a careful overview.",
        "model-b": "Short answer: it depends.",
        "model-c": "Great question, let me walk you through it step by step.",
    }
    texts, labels = [], []
    for label, signature in signatures.items():
        for _ in range(n_per_model):
            body = " ".join(rng.choice(FILLER) for _ in range(40))
            texts.append(f"{signature} {body}")
            labels.append(label)
    return texts, labels


def test_wilson_interval_matches_hand_computation() -> None:
    # 8/10, z = 1.959964: centre (0.8 + z^2/20) / (1 + z^2/10) = 0.716738,
    # half-width z * sqrt(0.016 + z^2/400) / (1 + z^2/10) = 0.226576.
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490162, abs=1e-5)
    assert high == pytest.approx(0.943314, abs=1e-5)
    # 0/10: the lower bound is exactly 0, the upper z^2/(n + z^2) = 3.841459/13.841459.
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(0.277533, abs=1e-5)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_leaky_items_are_identified() -> None:
    texts, labels = _corpus(40, seed=1)
    result = measure_identifiability(texts, labels, target="model", seed=0)
    assert isinstance(result, Identifiability)
    assert result.accuracy >= 0.95
    assert result.chance == pytest.approx(1 / 3)
    assert result.ci_low > result.chance
    assert result.ci_low <= result.accuracy <= result.ci_high
    assert result.p_value < 1e-10
    assert (result.n_items, result.n_classes, result.n_folds) == (120, 3, 5)
    assert list(result.model_dump()) == [
        "target",
        "method",
        "accuracy",
        "ci_low",
        "ci_high",
        "chance",
        "n_items",
        "n_classes",
        "n_folds",
        "p_value",
    ]


def test_shuffled_labels_are_near_chance() -> None:
    texts, labels = _corpus(60, seed=2)
    shuffled = list(labels)
    random.Random(7).shuffle(shuffled)
    result = measure_identifiability(texts, shuffled, target="model", seed=0)
    assert isinstance(result, Identifiability)
    assert abs(result.accuracy - result.chance) < 0.12
    assert result.ci_low <= result.chance  # not distinguishable from guessing
    assert result.p_value > 0.01


def test_several_targets_share_one_vectorisation() -> None:
    texts, models = _corpus(20, seed=3)
    scaffolds = ["s1" if i % 2 else "s2" for i in range(len(texts))]
    outcomes = audit_identifiability(texts, {"model": models, "scaffold": scaffolds}, seed=0)
    assert set(outcomes) == {"model", "scaffold"}
    model, scaffold = outcomes["model"], outcomes["scaffold"]
    assert isinstance(model, Identifiability) and model.accuracy > 0.9
    assert isinstance(scaffold, Identifiability) and scaffold.chance == pytest.approx(0.5)


def test_same_seed_same_result() -> None:
    texts, labels = _corpus(15, seed=4)
    first = measure_identifiability(texts, labels, target="model", seed=5)
    second = measure_identifiability(texts, labels, target="model", seed=5)
    assert first == second


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (["a"] * 20, "at least 2 models"),
        (["a", "b"] * 4, "at least 10 items"),
        (["a"] * 19 + ["b"], "'b' has a single item"),
    ],
)
def test_audit_is_skipped_with_a_reason(labels: list[str], reason: str) -> None:
    texts = [f"reply number {i}" for i in range(len(labels))]
    result = measure_identifiability(texts, labels, target="model")
    assert isinstance(result, AuditSkipped)
    assert reason in result.reason


def test_folds_are_bounded_by_the_smallest_class() -> None:
    texts, labels = _corpus(10, seed=6)
    labels = labels[:3] + labels[10:]  # model-a keeps 3 items
    texts = texts[:3] + texts[10:]
    result = measure_identifiability(texts, labels, target="model")
    assert isinstance(result, Identifiability)
    assert result.n_folds == 3


def test_empty_texts_are_skipped_not_crashed() -> None:
    labels = ["a", "b"] * 10
    result = measure_identifiability([""] * 20, labels, target="model")
    assert isinstance(result, AuditSkipped)
    assert "no usable text" in result.reason


def test_reservoir_is_bounded_and_uniform() -> None:
    reservoir = AuditReservoir(capacity=10, seed=0)
    for i in range(1000):
        reservoir.add(f"text {i}", {"model": f"m{i % 3}"})
    assert len(reservoir) == 10
    assert reservoir.n_seen == 1000
    assert reservoir.labels("model") == [f"m{int(t.split()[1]) % 3}" for t in reservoir.texts]

    # Every item has the same chance (10/100) to be kept: count over many seeded streams.
    kept = [0] * 100
    for seed in range(2000):
        sample = AuditReservoir(capacity=10, seed=seed)
        for i in range(100):
            sample.add(str(i), {})
        for text in sample.texts:
            kept[int(text)] += 1
    # 2000 draws at p = 0.1: mean 200, sd about 13.4; a 6-sd band never fails by chance.
    assert all(120 < count < 280 for count in kept)


def test_reservoir_keeps_everything_below_capacity() -> None:
    reservoir = AuditReservoir(capacity=5, seed=0)
    for i in range(3):
        reservoir.add(str(i), {"model": "m"})
    assert reservoir.texts == ["0", "1", "2"]
    with pytest.raises(ValueError):
        AuditReservoir(capacity=0)

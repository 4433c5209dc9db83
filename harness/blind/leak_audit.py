"""How identifiable are blinded items? A classifier audit of what coders see.

Scrubbing names removes the obvious tells, but style (length, formatting, favourite phrases)
can still identify a model or a scaffold. This module measures that residual: it trains a
simple text classifier (TF-IDF word unigrams and bigrams, punctuation kept as tokens, then
multinomial logistic regression) to predict the model (or the scaffold) from the blinded
reply text, scores it by stratified k-fold cross-validation (every item is predicted once by
a model that never saw it), and reports accuracy with a Wilson 95% interval against chance
(the majority-class rate) and a one-sided binomial p-value. An accuracy whose interval lies
above chance means a coder could, in principle, learn to tell the sources apart.

It owns the bounded sample (:class:`AuditReservoir`, a seeded reservoir sample, so memory
stays flat however large the run) and the measurement (:func:`measure_identifiability`), whose
result is the leak report's ``Identifiability`` record. It does not read or write run files;
the stage feeds it and ``leak_report.py`` puts its results in the report.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.rundir import Identifiability

__all__ = [
    "AuditReservoir",
    "AuditSkipped",
    "audit_identifiability",
    "measure_identifiability",
    "wilson_interval",
]

METHOD = (
    "tf-idf (word 1-2-grams, punctuation tokens, first 4000 characters of the replies) + "
    "logistic regression; stratified k-fold cross-validation, out-of-fold accuracy; "
    "Wilson 95% interval; chance = majority class"
)
MIN_ITEMS = 10
"""Fewer items than this and the audit is skipped (its interval would say nothing)."""
MAX_CHARS = 4000
"""Characters of each text the classifier reads (bounds the audit's time and memory)."""
MAX_FEATURES = 20_000


@dataclass(frozen=True)
class AuditSkipped:
    """The audit could not be run; ``reason`` says why (reported instead of a number)."""

    target: str
    reason: str


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Args:
        successes: Number of successes (0..n).
        n: Number of trials (> 0).
        confidence: Two-sided confidence level.

    Returns:
        ``(low, high)``, both within [0, 1].
    """
    from scipy.stats import binomtest

    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    interval = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def measure_identifiability(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    target: str,
    seed: int = 0,
    max_folds: int = 5,
) -> Identifiability | AuditSkipped:
    """Cross-validated accuracy of predicting ``labels`` from ``texts`` (one target).

    Args:
        texts: One blinded text per item (what a coder would read).
        labels: The true source of each item (model or scaffold name), same length.
        target: Name of what ``labels`` are (``model`` or ``scaffold``), for the report.
        seed: Seeds the fold assignment, so the result is reproducible.
        max_folds: Upper bound on folds; the smallest class bounds it too.

    Returns:
        The result, or :class:`AuditSkipped` with a reason when the data cannot support a
        measurement (fewer than two classes, too few items, a class with one item, no text).
    """
    return audit_identifiability(texts, {target: labels}, seed=seed, max_folds=max_folds)[target]


def audit_identifiability(
    texts: Sequence[str],
    labels_by_target: Mapping[str, Sequence[str]],
    *,
    seed: int = 0,
    max_folds: int = 5,
) -> dict[str, Identifiability | AuditSkipped]:
    """:func:`measure_identifiability` for several targets, vectorising the texts once.

    The TF-IDF vocabulary and weights are fitted on all sampled texts before the folds are
    split. That step never sees a label, so it cannot leak the answer into the held-out
    folds; only the classifier is refitted per fold.
    """
    outcomes: dict[str, Identifiability | AuditSkipped] = {}
    pending: dict[str, tuple[list[str], int]] = {}
    for target, labels in labels_by_target.items():
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels for {target}")
        verdict = _check_sample(labels, target, max_folds)
        if isinstance(verdict, AuditSkipped):
            outcomes[target] = verdict
        else:
            pending[target] = (list(labels), verdict)
    if not pending:
        return outcomes

    import numpy as np
    from scipy.stats import binomtest
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        max_features=MAX_FEATURES,
        # Punctuation and markdown marks are kept as tokens: formatting is a style tell.
        token_pattern=r"(?u)\b\w+\b|[^\w\s]",
        dtype=np.float32,
    )
    try:
        features = vectorizer.fit_transform([text[:MAX_CHARS] for text in texts])
    except ValueError as exc:
        # An empty vocabulary (all replies empty or placeholder-only) is the usual cause.
        for target in pending:
            outcomes[target] = AuditSkipped(target, f"no usable text to classify ({exc})")
        return outcomes

    for target, (labels, n_folds) in pending.items():
        y = np.asarray(labels)
        folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        # newton-cg: the same multinomial model as lbfgs, several times faster on tf-idf.
        classifier = LogisticRegression(solver="newton-cg", max_iter=200)
        predicted = cross_val_predict(classifier, features, y, cv=folds)
        n = len(labels)
        correct = int((predicted == y).sum())
        counts = Counter(labels)
        chance = max(counts.values()) / n
        low, high = wilson_interval(correct, n)
        outcomes[target] = Identifiability(
            target=target,
            method=METHOD,
            accuracy=correct / n,
            ci_low=low,
            ci_high=high,
            chance=chance,
            n_items=n,
            n_classes=len(counts),
            n_folds=n_folds,
            p_value=float(binomtest(correct, n, p=chance, alternative="greater").pvalue),
        )
    return outcomes


def _check_sample(labels: Sequence[str], target: str, max_folds: int) -> int | AuditSkipped:
    """The number of folds the labels support, or why the audit cannot run."""
    counts = Counter(labels)
    if len(counts) < 2:
        found = len(counts)
        return AuditSkipped(target, f"needs at least 2 {target}s among the items, found {found}")
    if len(labels) < MIN_ITEMS:
        return AuditSkipped(target, f"needs at least {MIN_ITEMS} items, found {len(labels)}")
    n_folds = min(max_folds, min(counts.values()))
    if n_folds < 2:
        rarest = min(counts, key=lambda label: counts[label])
        return AuditSkipped(
            target, f"{target} {rarest!r} has a single item; cross-validation needs 2 per class"
        )
    return n_folds


class AuditReservoir:
    """A uniform random sample of at most ``capacity`` items from a stream (Algorithm R).

    Each item is a text plus its labels (e.g. ``{"model": ..., "scaffold": ...}``). Memory
    is bounded by ``capacity`` however many items are offered; the seed makes the sample
    reproducible for a given stream order.
    """

    def __init__(self, capacity: int, seed: int = 0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.n_seen = 0
        self._rng = random.Random(seed)
        self._texts: list[str] = []
        self._labels: list[Mapping[str, str]] = []

    def add(self, text: str, labels: Mapping[str, str]) -> None:
        """Offer one item to the sample."""
        self.n_seen += 1
        if len(self._texts) < self.capacity:
            self._texts.append(text)
            self._labels.append(labels)
            return
        slot = self._rng.randrange(self.n_seen)
        if slot < self.capacity:
            self._texts[slot] = text
            self._labels[slot] = labels

    @property
    def texts(self) -> list[str]:
        """The sampled texts."""
        return list(self._texts)

    def labels(self, target: str) -> list[str]:
        """The sampled items' labels for ``target`` (e.g. ``model``)."""
        return [labels[target] for labels in self._labels]

    def __len__(self) -> int:
        return len(self._texts)

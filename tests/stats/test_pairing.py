"""Tests for harness/stats/pairing.py: values paired by prompt and replicate, per-prompt totals,
and the pairs missing on one side counted by side and reason (null, unscored, no transcript),
while pairs missing on both sides are not counted."""

from __future__ import annotations

import numpy as np

from harness.rundir import KeyEntry
from harness.stats import ScoreMatrix, index_key
from harness.stats.pairing import paired_scores
from harness.stats.score_matrix import STATUS_MISSING, STATUS_NULL, STATUS_SCORED, STATUS_UNSCORED


def test_pairs_totals_and_missing_pairs_by_side_and_reason() -> None:
    # One model, bare/verify, 6 prompts x 1 replicate; verify p5 has no transcript (not in the
    # key). Per prompt (bare, verify):
    #   p0 (1, 2) pair   p1 (2, null) missing in verify, null   p2 (unscored, 1) missing in bare
    #   p3 (null, null) both missing: not counted   p4 (0, unscored) missing in verify
    #   p5 (1, no item) missing in verify
    entries = [
        KeyEntry(blind_id=f"{s}{p}", cell_id=f"{s}{p}", model="m", scaffold=s,
                 prompt_id=f"p{p}", replicate=0)
        for s in ("bare", "verify")
        for p in range(6)
        if (s, p) != ("verify", 5)
    ]
    design = index_key(entries, scaffold_order=("bare", "verify"))
    nan = np.nan
    values = [1, 2, nan, nan, 0, 1, 2, nan, 1, nan, nan]
    status = [STATUS_SCORED, STATUS_SCORED, STATUS_UNSCORED, STATUS_NULL, STATUS_SCORED,
              STATUS_SCORED, STATUS_SCORED, STATUS_NULL, STATUS_SCORED, STATUS_NULL,
              STATUS_MISSING]
    scores = ScoreMatrix(
        dimensions=("D1",),
        values=np.array(values, dtype=float).reshape(-1, 1),
        status=np.array(status, dtype=np.int8).reshape(-1, 1),
    )
    paired = paired_scores(design, scores, 0, 1)
    assert paired.valid[0, :, 0, 0].tolist() == [True, False, False, False, False, False]
    sums, counts = paired.block_totals()
    assert sums[0, :, 0].tolist() == [1.0, 0, 0, 0, 0, 0]
    assert counts[0, :, 0].tolist() == [1.0, 0, 0, 0, 0, 0]
    missing = paired.missing()
    assert missing.total.tolist() == [[4]]  # not p3: neither side has a level
    assert missing.in_scaffold.tolist() == [[3]]  # p1 (null), p4 (unscored), p5 (no item)
    assert missing.in_baseline.tolist() == [[1]]  # p2 (unscored)
    assert missing.null.tolist() == [[1]]  # p1

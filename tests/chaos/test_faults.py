"""The fault suite, in process: every fault the local server injects, through litellm over HTTP.

One sweep meets 429s with and without ``Retry-After``, 5xx errors, connection resets, hangs
past ``run.timeout_s``, bodies cut off mid-way, and a rate limit it was not told about. What
must hold whatever the fault: every cell recorded exactly once, every HTTP request the server
saw recorded as an attempt (no hidden retries, no lost attempts), and no request answered
successfully twice (no reply paid for twice). How each fault is classified is the retry
policy's business (tests/providers/test_retrying.py), not this suite's.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.rundir import RunDir, TranscriptRecord, iter_transcripts
from harness.schema import ScaffoldSpec
from harness.testing.testserver import Fault, RateLimit, TestServer
from tests.sweep.small_runs import FAKE_KEY, KEY_ENV, config, model, sweep

SCRIPTS = {
    "retry-after": [Fault.status(429, retry_after=0.05), Fault.status(429, retry_after_ms=30)],
    "no-retry-after": [Fault.status(429), Fault.status(429)],
    "server-errors": [Fault.status(500), Fault.status(502), Fault.status(503)],
    "resets": [Fault.reset(), Fault.reset()],
    "hangs": [Fault.timeout(hang_s=5.0)],
    "truncated": [Fault.truncated(), Fault.truncated()],
}


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


def attempts_by_model(records: list[TranscriptRecord]) -> Counter[str]:
    """HTTP attempts the transcripts record, per model (cache hits made none)."""
    counts: Counter[str] = Counter()
    for record in records:
        counts[record.model] += sum(len(c.attempts) for c in record.calls if not c.from_cache)
    return counts


def test_every_fault_ends_each_cell_once_with_every_request_an_attempt(tmp_path: Path) -> None:
    with TestServer(faults=SCRIPTS) as server:
        cfg = config(server.url, [model(name) for name in SCRIPTS], tmp_path, n=3, turns=1,
                     scaffolds=[ScaffoldSpec(name="bare")], timeout_s=0.5)
        result = sweep(cfg, tmp_path / "r")
        requests = server.requests
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    assert len(records) == len(SCRIPTS) * 3 == len({r.cell_id for r in records})
    assert {r.status for r in records} == {"ok"} and result.exit_code == 0
    seen = Counter(r.model for r in requests)
    assert attempts_by_model(records) == seen
    for name, script in SCRIPTS.items():
        assert seen[name] == 3 * (len(script) + 1), name
        faults = Counter(r.fault for r in requests if r.model == name)
        assert faults == {**Counter(f.label for f in script * 3), None: 3}, name
    clean = Counter((r.model, r.fingerprint) for r in requests if r.fault is None)
    assert set(clean.values()) == {1}  # each request answered in full exactly once


def test_an_unknown_rate_limit_ends_with_every_cell_ok(tmp_path: Path) -> None:
    # 5 requests in any 0.5 s, 429 without Retry-After: the limiter has only the 429s to go on.
    limit = RateLimit(5, window_s=0.5, retry_after="none")
    with TestServer(rate_limit=limit) as server:
        cfg = config(server.url, [model("limited", max_concurrency=8)], tmp_path, n=20,
                     turns=1, scaffolds=[ScaffoldSpec(name="bare")], retry_base_s=0.1)
        result = sweep(cfg, tmp_path / "r")
        requests = server.requests
    records = list(iter_transcripts(RunDir(tmp_path / "r")))
    assert len(records) == 20 == len({r.cell_id for r in records})
    assert {r.status for r in records} == {"ok"} and result.exit_code == 0
    assert attempts_by_model(records)["limited"] == len(requests)
    refused = [r for r in requests if r.fault == "rate_limit"]
    assert refused and all(r.status == 429 for r in refused)
    # every 429 recorded as a retried attempt of the call it belonged to
    recorded_429 = sum(1 for r in records for c in r.calls for a in c.attempts
                       if a.status_code == 429)
    assert recorded_429 == len(refused)

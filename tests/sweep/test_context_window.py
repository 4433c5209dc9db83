"""A sweep turn whose prompt cannot fit the model's input limit ends the cell ``error`` with a
``context_window`` cause before the call (harness/sweep/conversation.py), over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.providers import count_prompt_tokens
from harness.rundir import Message, RunDir, iter_transcripts
from harness.schema import ScaffoldSpec
from harness.testing.testserver import TestServer
from tests.sweep.small_runs import FAKE_KEY, KEY_ENV, config, model, sweep


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)


def test_a_turn_over_the_limit_ends_the_cell_before_its_call(tmp_path: Path) -> None:
    first_turn = [Message(role="user", content="scenario 0 turn 0")]
    limit = count_prompt_tokens(model("alpha"), first_turn)  # turn 1 fits exactly, turn 2 not
    limited = model("alpha").model_copy(update={"max_input_tokens": limit})
    with TestServer(require_key=FAKE_KEY) as server:
        cfg = config(server.url, [limited, model("beta")], tmp_path,
                     scaffolds=[ScaffoldSpec(name="bare")], n=1, turns=2)
        result = sweep(cfg, tmp_path / "r")
        assert server.count(model="alpha") == 1 and server.count(model="beta") == 2
    assert result.exit_code == 1
    by_model = {r.model: r for r in iter_transcripts(RunDir(tmp_path / "r"))}
    alpha, beta = by_model["alpha"], by_model["beta"]
    assert beta.status == "ok"
    assert alpha.status == "error" and len(alpha.calls) == 1
    assert alpha.error is not None and alpha.error.startswith("reply: context_window: ")
    assert f"over the model's input limit of {limit} (max_input_tokens in its config)" \
        in alpha.error
    assert [m.role for m in alpha.messages] == ["user", "assistant", "user"]

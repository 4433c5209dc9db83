"""What every provider shares (harness/providers/protocol.py): the request fingerprint and the
litellm arguments."""

from __future__ import annotations

from harness.providers.protocol import Request, litellm_kwargs, request_fingerprint
from harness.rundir import Message
from harness.schema import ModelSpec, RunSettings

MESSAGES = [Message(role="system", content="Be careful."), Message(role="user", content="hi")]


def spec(**changes: object) -> ModelSpec:
    data: dict[str, object] = {"name": "alpha", "litellm_model": "openai/alpha",
                               "family": "openai", "params": {"temperature": 0.0}}
    return ModelSpec.model_validate({**data, **changes})


def test_fingerprint_covers_what_changes_a_reply_and_nothing_else() -> None:
    base = request_fingerprint(spec(), MESSAGES, 0)
    assert base == request_fingerprint(spec(), list(MESSAGES), 0)
    assert base == request_fingerprint(spec(limits={"rpm": 5}), MESSAGES, 0)
    assert base == request_fingerprint(spec(name="renamed"), MESSAGES, 0)
    changed = [
        request_fingerprint(spec(), MESSAGES, 1),
        request_fingerprint(spec(), MESSAGES[1:], 0),
        request_fingerprint(spec(litellm_model="openai/beta"), MESSAGES, 0),
        request_fingerprint(spec(api_base="http://127.0.0.1:1/v1"), MESSAGES, 0),
        request_fingerprint(spec(params={"temperature": 0.5}), MESSAGES, 0),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_litellm_kwargs_turn_off_litellms_retries_and_send_the_run_timeout() -> None:
    model = spec(params={"temperature": 0.0, "max_tokens": 64})
    request = Request(model, MESSAGES, "f" * 64, "reply", 0, "cell")
    kwargs = litellm_kwargs(request, RunSettings(timeout_s=7.5), "openai/alpha",
                            {"api_base": "http://127.0.0.1:1/v1"})
    assert kwargs == {
        "model": "openai/alpha", "timeout": 7.5, "max_retries": 0, "drop_params": True,
        "api_base": "http://127.0.0.1:1/v1", "temperature": 0.0, "max_tokens": 64,
        "messages": [{"role": "system", "content": "Be careful."},
                     {"role": "user", "content": "hi"}],
    }

"""A scripted stand-in for the provider client, for tests of judges and scoring.

``FakeJudgeClient`` has the ``complete`` method the score stage calls on
``harness.providers.ProviderClient``; it answers from a list of scripted replies (text, or a
whole ``CallRecord`` to script a failure) or from a function of the messages, and records every
request. Tests that must exercise litellm and HTTP use ``testserver`` instead; this fake is for
the judge's own logic (prompts, parsing, re-asks), where a real server adds nothing but time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from harness.rundir import CallRecord, Message
from harness.schema import ModelSpec

__all__ = ["FakeJudgeClient"]


class FakeJudgeClient:
    """Answers each call with the next scripted reply, or with ``respond(messages)``.

    Args:
        replies: Replies in order: text (an ``ok`` call) or a ``CallRecord`` returned as is.
        respond: Computes the reply text from the messages (as plain dicts); used instead of
            ``replies`` when given.
    """

    def __init__(self, replies: Sequence[str | CallRecord] = (),
                 respond: Callable[[Sequence[dict[str, Any]]], str] | None = None) -> None:
        self.replies = list(replies)
        self.respond = respond
        self.requests: list[list[Message]] = []
        """Every request's messages, in the order the calls were made."""
        self.turns: list[int] = []
        """Every request's ``turn`` (the judge's attempt index)."""
        self.purposes: list[str] = []
        """Every request's ``purpose``."""
        self.response_formats: list[dict[str, Any] | None] = []
        """Every request's ``response_format`` (None when it was sent without one)."""

    async def complete(self, model: ModelSpec, messages: list[Message], /, *, purpose: str,
                       turn: int, replicate: int, label: str,
                       response_format: dict[str, Any] | None = None) -> CallRecord:
        """One scripted call (yields to the loop first, as a real call would)."""
        del model, replicate, label
        self.requests.append(list(messages))
        self.turns.append(turn)
        self.purposes.append(purpose)
        self.response_formats.append(response_format)
        await asyncio.sleep(0)
        if self.respond is not None:
            reply: str | CallRecord = self.respond([m.model_dump() for m in messages])
        else:
            reply = self.replies.pop(0)
        if isinstance(reply, CallRecord):
            return reply
        return CallRecord(purpose=purpose, turn=turn, request_fingerprint="f" * 64,
                          request=messages, status="ok", reply=reply)

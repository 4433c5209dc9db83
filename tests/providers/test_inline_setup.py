"""litellm's set-up of a call on the event loop (harness/providers/inline_setup.py): it runs
inline only for marked calls of providers whose set-up does no I/O, everything else keeps the
thread, and replies and errors come back as they do through a thread. Real HTTP to the local
test server; litellm is never patched."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import threading
from typing import Any

import pytest

from harness.providers.inline_setup import (
    InlineSetupExecutor,
    _is_litellm_setup,
    inline_setup,
    install_inline_setup,
)
from harness.providers.litellm_import import load_litellm
from harness.providers.live import LiveProvider
from harness.providers.protocol import ProviderOptions, Request, request_fingerprint
from harness.schema import ProviderSettings
from harness.testing.testserver import TestServer
from tests.providers.test_lean_path import FAST, QUESTION, spec


def loop_executor() -> Any:
    return getattr(asyncio.get_running_loop(), "_default_executor", None)


class Recording(InlineSetupExecutor):
    """The executor, noting for each litellm set-up handed to it whether it ran inline."""

    def __init__(self) -> None:
        super().__init__()
        self.setups: list[bool] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        future = super().submit(fn, *args, **kwargs)
        if _is_litellm_setup(fn):
            self.setups.append(future.done())  # done on return: it ran on this thread
        return future


@pytest.mark.parametrize("litellm_model", ["openai/gpt-4o-mini", "hosted_vllm/my-llama",
                                           "xstress-sim/eager"])
def test_the_set_up_of_a_call_to_an_openai_compatible_server_runs_inline(
        litellm_model: str) -> None:
    with TestServer() as server:
        model = spec(litellm_model, server.url)
        provider = LiveProvider(ProviderOptions(ProviderSettings(), FAST))
        request = Request(model, QUESTION, request_fingerprint(model, QUESTION, 0), "reply", 0,
                          "c")
        recording = Recording()

        async def go() -> list[Any]:
            asyncio.get_running_loop().set_default_executor(recording)
            return [await provider.send(provider.call_kwargs(request)) for _ in range(3)]

        replies = asyncio.run(go())
    assert all(reply.choices[0].message.content for reply in replies)
    assert recording.setups == [True, True, True]


@pytest.mark.parametrize(("litellm_model", "inline"), [
    ("openai/my-local-model", True), ("gpt-4o", True), ("hosted_vllm/llama", True),
    ("xstress-sim/eager", True), ("anthropic/claude-3-5-sonnet-20241022", False),
    ("azure/my-deployment", False), ("bedrock/anthropic.claude-v2", False),
])
def test_only_providers_whose_set_up_does_no_io_run_it_inline(litellm_model: str,
                                                                inline: bool) -> None:
    provider = LiveProvider(ProviderOptions(ProviderSettings(), FAST))
    api_base = "http://127.0.0.1:9/v1" if litellm_model.startswith(("openai/", "hosted")) \
        else None
    assert provider._sets_up_inline(litellm_model, api_base) is inline


def test_other_work_keeps_the_thread_even_inside_a_marked_call() -> None:
    """A DNS lookup (``run_in_executor`` with arguments) or any other function goes to the
    thread pool: only litellm's own set-up runs inline."""

    async def go() -> tuple[int, int, int]:
        install_inline_setup()
        loop = asyncio.get_running_loop()
        with inline_setup():
            plain = await loop.run_in_executor(None, threading.get_ident)
            with_args = await loop.run_in_executor(None, lambda _: threading.get_ident(), 1)
        return plain, with_args, threading.get_ident()

    plain, with_args, loop_thread = asyncio.run(go())
    assert plain != loop_thread and with_args != loop_thread


def test_an_error_in_the_set_up_reaches_the_caller_as_through_a_thread() -> None:
    litellm = load_litellm()
    main = sys.modules["litellm.main"]
    context = contextvars.copy_context()
    # litellm's own shape: partial(context.run, partial(completion, **kwargs)).
    setup = functools.partial(context.run, functools.partial(
        main.completion, model="no-such-provider/model", messages=[
            {"role": "user", "content": "hi"}], acompletion=True))

    async def go() -> tuple[bool, BaseException | None, BaseException | None]:
        install_inline_setup()
        executor = loop_executor()
        with inline_setup():
            inline = executor.submit(setup)
        ran_here = inline.done()  # settled before submit returned: it ran on this thread
        through_thread = executor.submit(setup)  # not marked: the thread pool
        return ran_here, inline.exception(), through_thread.exception(timeout=30)

    ran_here, inline, through_thread = asyncio.run(go())
    assert ran_here
    assert isinstance(inline, litellm.BadRequestError)
    assert type(inline) is type(through_thread) and str(inline) == str(through_thread)

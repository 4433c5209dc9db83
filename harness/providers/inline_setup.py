"""litellm's synchronous set-up of an async call, run on the event loop instead of a thread.

``litellm.acompletion`` prepares every call in a synchronous ``completion(...)`` that it hands
to the loop's default executor (``run_in_executor``), then awaits the coroutine that set-up
returns. For a provider whose set-up does no I/O (an OpenAI-compatible endpoint, a simulated
model) the thread buys nothing: the work holds the GIL either way, and the hop to the thread
and back costs CPU. This module owns an executor that runs exactly that set-up inline, on the
loop's thread, for calls ``LiveProvider.send`` marks (``inline_setup``), and gives everything
else (DNS lookups, other providers' set-up, which may read credentials over the network) to a
thread pool as before.

Measured by ``scripts/bench_litellm.py --paired`` (see its ``inline set-up`` variant). It does
not call models and does not choose which providers qualify (``live.py`` does).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["InlineSetupExecutor", "inline_setup", "install_inline_setup"]

_MARKED: contextvars.ContextVar[bool] = contextvars.ContextVar("xstress_inline_setup",
                                                               default=False)
"""True while a call whose set-up may run inline is being started."""


class InlineSetupExecutor(concurrent.futures.ThreadPoolExecutor):
    """A thread pool (asyncio requires one) that runs litellm's set-up of a marked call inline.

    litellm submits ``partial(context.run, partial(completion, **kwargs))``; only that shape,
    with ``completion`` the function litellm's own ``acompletion`` calls, submitted while the
    call is marked, runs here. Anything else, or a litellm that changed the shape, goes to the
    threads: the saving is lost, never the behaviour.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
        if args or kwargs or not _MARKED.get() or not _is_litellm_setup(fn):
            return super().submit(fn, *args, **kwargs)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            result = fn()
        except Exception as exc:  # handed to the awaiting call, as the thread would
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


def _is_litellm_setup(fn: Callable[..., Any]) -> bool:
    if not (isinstance(fn, functools.partial) and len(fn.args) == 1 and not fn.keywords):
        return False
    if not isinstance(getattr(fn.func, "__self__", None), contextvars.Context):
        return False
    inner = fn.args[0]
    main = sys.modules.get("litellm.main")
    return (isinstance(inner, functools.partial) and main is not None
            and inner.func is getattr(main, "completion", None))


def install_inline_setup() -> None:
    """Make the running loop's default executor an ``InlineSetupExecutor`` (once per loop).

    A default executor the loop already made (for a DNS lookup, say) is shut down without
    waiting: its threads end once idle.
    """
    loop = asyncio.get_running_loop()
    current = getattr(loop, "_default_executor", None)
    if isinstance(current, InlineSetupExecutor):
        return
    loop.set_default_executor(InlineSetupExecutor(thread_name_prefix="xstress-executor"))
    if isinstance(current, concurrent.futures.Executor):
        current.shutdown(wait=False)


@contextmanager
def inline_setup() -> Iterator[None]:
    """Within this block, litellm's set-up of a call started here runs inline."""
    token = _MARKED.set(True)
    try:
        yield
    finally:
        _MARKED.reset(token)

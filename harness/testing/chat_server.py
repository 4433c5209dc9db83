"""The local test server's lifecycle: listening on 127.0.0.1, from a thread or the caller's loop.

This module owns ``TestServer``: binding the aiohttp application to a host and port, the
background-thread mode (``with TestServer() as server``), the in-loop mode (``async with`` or
``await start()`` / ``await stop()``), opening and closing the response log, and ending
held-open hangs on stop. What each request is answered, and the request records, come from
``chat_handlers.ChatHandlers``; the command line is ``server_command``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

from aiohttp import web

from harness.testing.chat_handlers import ChatHandlers, ReplyScript
from harness.testing.faults import Fault
from harness.testing.ratelimit import RateLimit

__all__ = ["TestServer"]


class TestServer(ChatHandlers):
    """OpenAI-compatible chat server on 127.0.0.1 with deterministic replies and scripted faults.

    Use ``with TestServer(...) as server:`` from synchronous code (serves from a background
    thread), ``async with`` or ``await start()`` / ``await stop()`` inside a running loop.
    ``server.url`` ends in ``/v1`` and is what litellm takes as ``api_base``.
    """

    __test__ = False  # the name starts with "Test": keep pytest from collecting it

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        faults: Mapping[str, Sequence[Fault]] | None = None,
        always: Mapping[str, Fault] | None = None,
        replies: Mapping[str, ReplyScript] | None = None,
        require_key: str | None = None,
        hang_s: float = 30.0,
        rate_limit: RateLimit | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | str | None = None,
        response_format: Literal["ignore", "enforce"] = "ignore",
        honour_max_tokens: bool = False,
    ) -> None:
        """Configure the server; nothing listens until it is started.

        Args:
            latency_s: Seconds every answer (success or fault) waits before it is sent.
            faults: Per model name, the faults of attempts 1, 2, ... of each distinct request.
            always: Per model name, a fault answered on every attempt.
            replies: Per model name, canned replies (the k-th success gets item k, cycling)
                or a function of the messages; other models get an echo reply.
            require_key: When set, requests without ``Authorization: Bearer <key>`` get 401.
            hang_s: Default hold time of ``Fault.timeout()``.
            rate_limit: If set, each model admits at most this many requests per sliding
                window; the rest get 429 at once (scripted faults are not counted).
            host: Interface to bind; keep the loopback default in tests.
            port: TCP port; 0 picks a free one.
            log_path: If set, one JSON line per completed response is appended here.
            response_format: ``enforce`` answers a request carrying a JSON schema
                (``response_format``) as a constrained decoder would: the scripted reply cut
                down to the JSON object matching the schema, or a 400 when it has none;
                ``ignore`` (the default) answers as if no schema were asked for.
            honour_max_tokens: When True, a reply longer than the request's ``max_tokens``
                (counted as ``estimate_tokens`` does) is cut there and reported with
                ``finish_reason: "length"``, as a real server does; off by default so canned
                replies arrive whole.
        """
        super().__init__(latency_s=latency_s, faults=faults, always=always, replies=replies,
                         require_key=require_key, hang_s=hang_s,
                         response_format=response_format, rate_limit=rate_limit,
                         honour_max_tokens=honour_max_tokens)
        self.host = host
        self.port = port
        self.log_path = Path(log_path) if log_path is not None else None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients, e.g. ``http://127.0.0.1:54321/v1``."""
        if self._runner is None:
            raise RuntimeError("TestServer is not running: start it first")
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        """Start listening in the running event loop (resolves ``port`` if it was 0)."""
        app = web.Application()
        for prefix in ("/v1", ""):
            app.router.add_post(f"{prefix}/chat/completions", self._handle_chat)
            app.router.add_get(f"{prefix}/models", self._handle_models)
        app.router.add_get("/_stats", self._handle_stats)
        self._stopping = asyncio.Event()
        # No access log: per-request logging would cost more than the request itself.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        sockets = runner.addresses
        self.port = int(sockets[0][1])
        if self.log_path is not None:
            self._log_file = self.log_path.open("a", encoding="utf-8")
        self._runner = runner

    async def stop(self) -> None:
        """Stop listening; requests held open by ``timeout`` faults end at once, unlogged."""
        if self._runner is None:
            return
        assert self._stopping is not None
        self._stopping.set()
        await self._runner.cleanup()
        self._runner = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def __aenter__(self) -> TestServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __enter__(self) -> TestServer:
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # handed to the caller's thread below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._thread_loop = loop
        self._thread = threading.Thread(target=serve, name="xstress-testserver", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            loop.close()
            raise failure[0]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop, thread = self._thread_loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._thread_loop = self._thread = None

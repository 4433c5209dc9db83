"""A local OpenAI-compatible chat server for tests and benchmarks, with scripted faults.

xstress's tests exercise the real path (litellm -> HTTP -> server on 127.0.0.1); this module
owns that server. It answers ``POST /v1/chat/completions`` with deterministic replies and token
counts after a fixed artificial latency, injects faults per requested model name (HTTP errors
with OpenAI-style bodies and ``Retry-After``, content-policy refusals, hangs longer than the
client's timeout), counts every request in memory, and can log completed responses to a JSONL
file. It runs in a background thread (``with TestServer() as server``), inside the caller's
event loop (``await server.start()``), or as a subprocess (``python -m harness.testing.testserver``,
which prints its URL on the first stdout line). It does not stream, and it is not a model
simulator: the simulated models of ``preset=offline`` live elsewhere.

Fault scripts are keyed by the *requested model name* with any provider prefix removed
(litellm sends ``flaky`` for ``openai/flaky``). The faults of a model apply to the first
attempts of each distinct request, where a request is identified by the model and the
fingerprint of its messages: attempt 1 gets ``faults[0]``, attempt 2 ``faults[1]`` and so on,
later attempts succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from aiohttp import web

__all__ = [
    "Fault",
    "ReplyScript",
    "RequestRecord",
    "TestServer",
    "estimate_tokens",
    "main",
    "messages_fingerprint",
]

ChatMessage = dict[str, Any]
"""One message as it arrives on the wire (OpenAI chat format)."""
ReplyScript = Sequence[str] | Callable[[list[ChatMessage]], str]
"""Canned replies served in turn (cycling), or a function computing the reply from messages."""

CREATED = 1767225600  # 2026-01-01T00:00:00Z: a fixed value keeps responses reproducible.
VERSION_SUFFIX = "-2026-01-01"

# (type, code, message) of the error body per status. 403 and 5xx avoid the type
# "invalid_request_error" because litellm maps that type to BadRequestError whatever the status.
_ERROR_BODIES: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request: injected test fault."),
    401: ("invalid_request_error", "invalid_api_key", "Invalid authentication credentials."),
    403: ("permission_error", "forbidden", "You are not allowed to use this model."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", "bad_gateway", "Bad gateway."),
    503: ("server_error", "service_unavailable", "The service is temporarily unavailable."),
}
# litellm matches the *message* (not the code) against known provider phrasings; this is
# OpenAI's wording for flagged prompts and maps to ContentPolicyViolationError.
_CONTENT_POLICY_BODY = (
    "invalid_request_error",
    "content_policy_violation",
    "Invalid prompt: your prompt was flagged as potentially violating our usage policy.",
)


def messages_fingerprint(messages: Sequence[Mapping[str, Any]]) -> str:
    """sha256 (hex) of the canonical JSON of a message list, as the server computes it.

    Args:
        messages: The ``messages`` array of a chat request.

    Returns:
        The hex digest that identifies the request in records and fault scripts.
    """
    canonical = json.dumps(
        list(messages), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def estimate_tokens(text: str) -> int:
    """Deterministic token count: whitespace words / 0.75, rounded (``(4 * words + 1) // 3``)."""
    return (4 * len(text.split()) + 1) // 3


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multi-part content: keep the text parts only
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


@dataclass(frozen=True)
class Fault:
    """One scripted failure of one attempt. Build it with the class methods, not directly."""

    kind: Literal["status", "timeout", "content_policy"]
    status_code: int = 200
    """HTTP status answered (400 for ``content_policy``; 504 if a hang outlives its client)."""
    retry_after_s: float | None = None
    """Seconds sent in the ``Retry-After`` header, if any."""
    retry_after_ms: int | None = None
    """Milliseconds sent in the ``retry-after-ms`` header, if any."""
    hang_s: float | None = None
    """For ``timeout``: seconds to hold the request open; None uses the server's ``hang_s``."""

    @classmethod
    def status(
        cls, code: int, *, retry_after: float | None = None, retry_after_ms: int | None = None
    ) -> Fault:
        """An HTTP error with an OpenAI-style JSON body (and optional Retry-After headers)."""
        if not 400 <= code <= 599:
            raise ValueError(f"fault status must be an HTTP error code 400-599, got {code}")
        return cls("status", code, retry_after, retry_after_ms)

    @classmethod
    def timeout(cls, hang_s: float | None = None) -> Fault:
        """Hold the request open past the client's timeout; the server's stop ends it early."""
        return cls("timeout", 504, hang_s=hang_s)

    @classmethod
    def content_policy(cls) -> Fault:
        """A 400 whose body litellm maps to ``ContentPolicyViolationError``."""
        return cls("content_policy", 400)

    @property
    def label(self) -> str:
        """Short name used in records: the status code, ``timeout`` or ``content_policy``."""
        return str(self.status_code) if self.kind == "status" else self.kind

    def to_json(self) -> dict[str, Any]:
        """The JSON form accepted by :meth:`from_json` (and the ``--faults`` flag)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, value: Any) -> Fault:
        """Parse ``429``, ``"timeout"``, ``"content_policy"`` or a :meth:`to_json` object."""
        if isinstance(value, int) and not isinstance(value, bool):
            return cls.status(value)
        if value in ("timeout", "content_policy"):
            return cls.timeout() if value == "timeout" else cls.content_policy()
        if isinstance(value, dict) and value.get("kind") in ("status", "timeout", "content_policy"):
            unknown = set(value) - {"kind", *_FAULT_FIELDS}
            if unknown:
                raise ValueError(f"unknown fault fields {sorted(unknown)} in {value!r}")
            if value["kind"] == "status":
                return cls.status(
                    int(value["status_code"]),
                    retry_after=value.get("retry_after_s"),
                    retry_after_ms=value.get("retry_after_ms"),
                )
            if value["kind"] == "timeout":
                return cls.timeout(value.get("hang_s"))
            return cls.content_policy()
        raise ValueError(
            f"cannot read fault {value!r}: use a status code (429), \"timeout\", "
            '"content_policy" or {"kind": ..., ...}'
        )


_FAULT_FIELDS = ("status_code", "retry_after_s", "retry_after_ms", "hang_s")


@dataclass(frozen=True)
class RequestRecord:
    """What the server saw and decided for one chat request (never the auth header value)."""

    model: str
    """Requested model name, provider prefix removed."""
    fingerprint: str
    """``messages_fingerprint`` of the request's messages ("" if the body was unreadable)."""
    attempt: int
    """1 for the first request with this (model, fingerprint), 2 for the next, ..."""
    status: int
    """HTTP status answered (decided on arrival; 504 for a ``timeout`` fault)."""
    fault: str | None
    """``Fault.label`` of the injected fault, ``auth`` for a key mismatch, or None."""
    timestamp: float
    """Arrival time, ``time.time()``."""
    has_auth: bool
    """Whether an ``Authorization`` header was present."""


class TestServer:
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
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | str | None = None,
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
            host: Interface to bind; keep the loopback default in tests.
            port: TCP port; 0 picks a free one.
            log_path: If set, one JSON line per completed response is appended here.
        """
        self.latency_s = latency_s
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.always = dict(always or {})
        # A bare string is a Sequence[str] too: treat it as one reply, not as characters.
        self.replies: dict[str, ReplyScript] = {
            k: [v] if isinstance(v, str) else v for k, v in (replies or {}).items()
        }
        self.require_key = require_key
        self.hang_s = hang_s
        self.host = host
        self.port = port
        self.log_path = Path(log_path) if log_path is not None else None
        self._records: list[RequestRecord] = []
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._successes: Counter[tuple[str, str]] = Counter()
        self._model_successes: Counter[str] = Counter()
        self._in_flight = 0
        self.peak_in_flight = 0
        """Most chat requests held open at once since start or ``reset`` (a capacity check)."""
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._log_file: IO[str] | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

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

    # ------------------------------------------------------------------ counting

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of every chat request recorded so far, in arrival order."""
        return list(self._records)

    def count(self, model: str | None = None, status: int | None = None) -> int:
        """Number of chat requests, optionally only for one model and/or one answered status."""
        return sum(
            1
            for r in list(self._records)
            if (model is None or r.model == model) and (status is None or r.status == status)
        )

    def attempts_by_fingerprint(self, model: str | None = None) -> dict[str, int]:
        """Requests per message fingerprint (all models summed unless ``model`` is given)."""
        counts: Counter[str] = Counter(
            r.fingerprint for r in list(self._records) if model is None or r.model == model
        )
        return dict(counts)

    def stats(self) -> dict[str, Any]:
        """Counts as served by ``GET /_stats``: total, by model, by status, by model and status."""
        records = list(self._records)
        by_model_status: dict[str, Counter[str]] = {}
        for r in records:
            by_model_status.setdefault(r.model, Counter())[str(r.status)] += 1
        return {
            "total": len(records),
            "by_model": dict(Counter(r.model for r in records)),
            "by_status": dict(Counter(str(r.status) for r in records)),
            "by_model_status": {m: dict(c) for m, c in by_model_status.items()},
            "peak_in_flight": self.peak_in_flight,
        }

    def reset(self) -> None:
        """Forget all records and attempt counters (fault scripts start over)."""
        self._records.clear()
        self._attempts.clear()
        self._successes.clear()
        self._model_successes.clear()
        self.peak_in_flight = self._in_flight

    # ------------------------------------------------------------------ handlers

    async def _handle_models(self, request: web.Request) -> web.Response:
        names = sorted({"echo", *self.faults, *self.always, *self.replies})
        data = [{"id": n, "object": "model", "created": CREATED, "owned_by": "xstress-test"}
                for n in names]
        return web.json_response({"object": "list", "data": data})

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _handle_chat(self, request: web.Request) -> web.Response:
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            return await self._answer_chat(request)
        finally:
            self._in_flight -= 1

    async def _answer_chat(self, request: web.Request) -> web.Response:
        has_auth = "Authorization" in request.headers
        try:
            body = await request.json()
            requested = str(body["model"])
            messages = body["messages"]
            if not isinstance(messages, list):
                raise TypeError("messages must be a list")
            if body.get("stream"):
                raise ValueError("streaming is not supported by this test server")
            fingerprint = messages_fingerprint(messages)
        except (ValueError, KeyError, TypeError) as exc:
            self._record("", "", 0, 400, "malformed", has_auth)
            malformed = ("invalid_request_error", None, f"Malformed request: {exc}")
            return _error_response(400, malformed)
        model = requested.rsplit("/", 1)[-1]
        key = (model, fingerprint)
        self._attempts[key] += 1
        attempt = self._attempts[key]

        fault: Fault | None
        if self.require_key is not None and (
            request.headers.get("Authorization") != f"Bearer {self.require_key}"
        ):
            fault = Fault.status(401)
            label: str | None = "auth"
        else:
            script = self.faults.get(model, [])
            fault = self.always.get(model) or (
                script[attempt - 1] if attempt <= len(script) else None
            )
            label = fault.label if fault is not None else None
        record = self._record(model, fingerprint, attempt, fault.status_code if fault else 200,
                              label, has_auth)

        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if fault is not None and fault.kind == "timeout":
            assert self._stopping is not None
            hang = self.hang_s if fault.hang_s is None else fault.hang_s
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=hang)
                return _error_response(503, _ERROR_BODIES[503])  # server stopping: not logged
            except TimeoutError:
                pass
        if fault is None:
            response = self._success(requested, model, key, messages)
        elif fault.kind == "content_policy":
            response = _error_response(400, _CONTENT_POLICY_BODY)
        else:
            response = _error_response(fault.status_code, _error_body(fault.status_code), fault)
        self._log(record, request)
        return response

    def _record(self, model: str, fingerprint: str, attempt: int, status: int,
                fault: str | None, has_auth: bool) -> RequestRecord:
        record = RequestRecord(model, fingerprint, attempt, status, fault, time.time(), has_auth)
        self._records.append(record)
        return record

    def _log(self, record: RequestRecord, request: web.Request) -> None:
        if self._log_file is None:
            return
        line = asdict(record)
        transport = request.transport
        line["client_connected"] = transport is not None and not transport.is_closing()
        self._log_file.write(json.dumps(line) + "\n")
        self._log_file.flush()  # readers (tests) look at the file while the server runs

    def _success(self, requested: str, model: str, key: tuple[str, str],
                 messages: list[ChatMessage]) -> web.Response:
        self._successes[key] += 1
        self._model_successes[model] += 1
        script = self.replies.get(model)
        if script is None:
            last_user = next((_message_text(m) for m in reversed(messages)
                              if isinstance(m, dict) and m.get("role") == "user"), "")
            text = f"Echo reply #{self._successes[key]} to: {last_user[:60]} [{key[1][:8]}]"
        elif callable(script):
            text = script(messages)
        else:
            text = script[(self._model_successes[model] - 1) % len(script)]
        prompt_tokens = sum(estimate_tokens(_message_text(m)) for m in messages
                            if isinstance(m, dict))
        completion_tokens = estimate_tokens(text)
        response_id = hashlib.sha256(f"{key}:{self._successes[key]}".encode()).hexdigest()[:24]
        return web.json_response({
            "id": f"chatcmpl-{response_id}",
            "object": "chat.completion",
            "created": CREATED,
            "model": requested + VERSION_SUFFIX,
            "system_fingerprint": "fp_" + hashlib.sha256(model.encode()).hexdigest()[:10],
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        })


def _error_body(status: int) -> tuple[str, str | None, str]:
    # Unlisted codes get a neutral type so litellm classifies them by status code alone.
    return _ERROR_BODIES.get(status, ("api_error", None, f"Injected HTTP {status} error."))


def _error_response(status: int, body: tuple[str, str | None, str],
                    fault: Fault | None = None) -> web.Response:
    kind, code, message = body
    headers: dict[str, str] = {}
    if fault is not None and fault.retry_after_s is not None:
        headers["Retry-After"] = format(fault.retry_after_s, "g")
    if fault is not None and fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(payload, status=status, headers=headers)


# ---------------------------------------------------------------------- command line


def _json_arg(value: str) -> Any:
    """Inline JSON (starting with ``{``) or the path of a JSON file."""
    text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
    return json.loads(text)


def _parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, TestServer]:
    parser = argparse.ArgumentParser(
        prog="python -m harness.testing.testserver",
        description="Local OpenAI-compatible chat server with scripted faults. "
        "Prints its base URL on the first stdout line; stops on SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--hang", type=float, default=30.0, help="hold time of timeout faults")
    parser.add_argument("--faults", type=_json_arg, default={},
                        help='JSON or file: {"model": [429, "timeout", {"kind": "status", '
                        '"status_code": 429, "retry_after_s": 1}, ...]}')
    parser.add_argument("--always", type=_json_arg, default={},
                        help='JSON or file: {"model": 401}, a fault on every attempt')
    parser.add_argument("--replies", type=_json_arg, default={},
                        help='JSON or file: {"model": ["canned reply", ...]}')
    parser.add_argument("--require-key", default=None, help="expected bearer key")
    parser.add_argument("--log", type=Path, default=None,
                        help="append one JSON line per completed response")
    args = parser.parse_args(argv)
    try:
        server = TestServer(
            latency_s=args.latency,
            faults={m: [Fault.from_json(f) for f in fs] for m, fs in args.faults.items()},
            always={m: Fault.from_json(f) for m, f in args.always.items()},
            replies={m: [str(r) for r in rs] for m, rs in args.replies.items()},
            require_key=args.require_key,
            hang_s=args.hang,
            host=args.host,
            port=args.port,
            log_path=args.log,
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        parser.error(f"invalid fault script: {exc}")
    return args, server


async def _serve_until_signalled(server: TestServer) -> None:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    async with server:
        print(server.url, flush=True)
        await done.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server from the command line until SIGINT or SIGTERM.

    Args:
        argv: Arguments without the program name; None reads ``sys.argv``.

    Returns:
        The process exit code (0).
    """
    _, server = _parse_args(argv)
    asyncio.run(_serve_until_signalled(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())

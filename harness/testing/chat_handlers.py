"""What the local test server answers, and what it remembers of each request.

This module owns the server's behaviour per request: the aiohttp handlers of
``/v1/chat/completions``, ``/v1/models`` and ``/_stats``, the choice of fault or reply for
each attempt (fault scripts apply to attempts 1, 2, ... of each distinct (model, messages)
request; then the optional per-model rate limit), in ``response_format="enforce"`` mode a
reply cut down to what a constrained decoder could emit under the request's JSON schema
(``constrained``), with ``honour_max_tokens`` a reply cut at the request's ``max_tokens``
(``finish_reason: length``), the in-memory ``RequestRecord`` list with its counting queries,
and the optional JSONL log of completed responses. It does not listen on a socket or manage
threads and event loops (``chat_server.TestServer`` does), and it does not spell the wire format
(``chat_wire``) or keep the rate limit's window (``ratelimit``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import IO, Any, Literal

from aiohttp import web

from harness.testing.chat_wire import (
    CONTENT_POLICY_BODY,
    CREATED,
    ERROR_BODIES,
    ChatMessage,
    broken_response,
    chat_completion_response,
    cut_to_tokens,
    error_body,
    error_response,
    message_text,
    messages_fingerprint,
)
from harness.testing.constrained import constrain_reply, requested_schema
from harness.testing.faults import Fault
from harness.testing.ratelimit import RateLimit, SlidingWindow

__all__ = ["ChatHandlers", "ReplyScript", "RequestRecord"]

ReplyScript = Sequence[str] | Callable[[list[ChatMessage]], str]
"""Canned replies served in turn (cycling), or a function computing the reply from messages."""


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
    """``Fault.label`` of the injected fault, ``auth`` for a key mismatch, ``rate_limit`` for a
    request the rate limit refused, or None."""
    timestamp: float
    """Arrival time, ``time.time()``."""
    has_auth: bool
    """Whether an ``Authorization`` header was present."""
    response_schema: bool = False
    """Whether the request asked for a reply matching a JSON schema (``response_format``)."""


class ChatHandlers:
    """The request handling and request records of ``TestServer`` (see its docstring)."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        faults: Mapping[str, Sequence[Fault]] | None = None,
        always: Mapping[str, Fault] | None = None,
        replies: Mapping[str, ReplyScript] | None = None,
        require_key: str | None = None,
        hang_s: float = 30.0,
        response_format: Literal["ignore", "enforce"] = "ignore",
        rate_limit: RateLimit | None = None,
        honour_max_tokens: bool = False,
    ) -> None:
        """Store the fault and reply scripts; the arguments are those of ``TestServer``."""
        self.response_format = response_format
        self.honour_max_tokens = honour_max_tokens
        self.latency_s = latency_s
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.always = dict(always or {})
        # A bare string is a Sequence[str] too: treat it as one reply, not as characters.
        self.replies: dict[str, ReplyScript] = {
            k: [v] if isinstance(v, str) else v for k, v in (replies or {}).items()
        }
        self.require_key = require_key
        self.hang_s = hang_s
        self.rate_limit = rate_limit
        self._windows: dict[str, SlidingWindow] = {}
        self._records: list[RequestRecord] = []
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._successes: Counter[tuple[str, str]] = Counter()
        self._model_successes: Counter[str] = Counter()
        self._in_flight = 0
        self.peak_in_flight = 0
        """Most chat requests held open at once since start or ``reset`` (a capacity check)."""
        # Set by the server's lifecycle: the event that ends held-open hangs, and the log file.
        self._stopping: asyncio.Event | None = None
        self._log_file: IO[str] | None = None

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
        self._windows.clear()
        self.peak_in_flight = self._in_flight

    # ------------------------------------------------------------------ handlers

    async def _handle_models(self, request: web.Request) -> web.Response:
        names = sorted({"echo", *self.faults, *self.always, *self.replies})
        data = [{"id": n, "object": "model", "created": CREATED, "owned_by": "xstress-test"}
                for n in names]
        return web.json_response({"object": "list", "data": data})

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            return await self._answer_chat(request)
        finally:
            self._in_flight -= 1

    async def _answer_chat(self, request: web.Request) -> web.StreamResponse:
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
            schema = requested_schema(body)
        except (ValueError, KeyError, TypeError) as exc:
            self._record("", "", 0, 400, "malformed", has_auth)
            malformed = ("invalid_request_error", None, f"Malformed request: {exc}")
            return error_response(400, malformed)
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
        refused = self._refused(model) if fault is None else None
        if refused is not None:
            fault, label = refused, "rate_limit"
        record = self._record(model, fingerprint, attempt, fault.status_code if fault else 200,
                              label, has_auth, schema is not None)

        # A provider refuses a rate-limited request at once, without running the model.
        if self.latency_s > 0 and refused is None:
            await asyncio.sleep(self.latency_s)
        if fault is not None and fault.kind == "timeout":
            assert self._stopping is not None
            hang = self.hang_s if fault.hang_s is None else fault.hang_s
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=hang)
                return error_response(503, ERROR_BODIES[503])  # server stopping: not logged
            except TimeoutError:
                pass
        if fault is None:
            enforced = schema if self.response_format == "enforce" else None
            response = self._success(requested, model, key, messages, enforced,
                                     self._token_limit(body))
            if response.status != record.status:  # refused under the schema: say so
                record = self._amend(record, response.status, "response_format")
        elif fault.kind == "content_policy":
            response = error_response(400, CONTENT_POLICY_BODY)
        elif fault.kind == "reset":
            self._log(record, request)
            return await broken_response(request, None)
        elif fault.kind == "truncated":
            self._log(record, request)
            return await broken_response(request, self._success(requested, model, key, messages))
        else:
            response = error_response(fault.status_code, error_body(fault.status_code), fault)
        self._log(record, request)
        return response

    def _refused(self, model: str) -> Fault | None:
        """The rate limit's 429 if it refuses this arrival, else None (admitted, or no limit)."""
        if self.rate_limit is None:
            return None
        window = self._windows.get(model)
        if window is None:
            window = self._windows[model] = SlidingWindow(self.rate_limit)
        wait = window.admit(time.monotonic())
        return None if wait is None else self.rate_limit.fault(wait)

    def _record(self, model: str, fingerprint: str, attempt: int, status: int,
                fault: str | None, has_auth: bool, response_schema: bool = False
                ) -> RequestRecord:
        record = RequestRecord(model, fingerprint, attempt, status, fault, time.time(), has_auth,
                               response_schema)
        self._records.append(record)
        return record

    def _amend(self, record: RequestRecord, status: int, fault: str) -> RequestRecord:
        """Replace ``record`` (the last one with its identity) by one with the status sent."""
        amended = replace(record, status=status, fault=fault)
        index = max(i for i, r in enumerate(self._records) if r is record)
        self._records[index] = amended
        return amended

    def _log(self, record: RequestRecord, request: web.Request) -> None:
        if self._log_file is None:
            return
        line = asdict(record)
        transport = request.transport
        line["client_connected"] = transport is not None and not transport.is_closing()
        self._log_file.write(json.dumps(line) + "\n")
        self._log_file.flush()  # readers (tests) look at the file while the server runs

    def _token_limit(self, body: dict[str, Any]) -> int | None:
        """The request's ``max_tokens`` (or ``max_completion_tokens``) when it is honoured."""
        if not self.honour_max_tokens:
            return None
        limit = body.get("max_tokens", body.get("max_completion_tokens"))
        return limit if isinstance(limit, int) and limit > 0 else None

    def _success(self, requested: str, model: str, key: tuple[str, str],
                 messages: list[ChatMessage], schema: dict[str, Any] | None = None,
                 max_tokens: int | None = None) -> web.Response:
        self._successes[key] += 1
        self._model_successes[model] += 1
        script = self.replies.get(model)
        if script is None:
            last_user = next((message_text(m) for m in reversed(messages)
                              if isinstance(m, dict) and m.get("role") == "user"), "")
            text = f"Echo reply #{self._successes[key]} to: {last_user[:60]} [{key[1][:8]}]"
        elif callable(script):
            text = script(messages)
        else:
            text = script[(self._model_successes[model] - 1) % len(script)]
        if schema is not None:
            # Schema-enforcing mode: only what a constrained decoder could have emitted.
            constrained = constrain_reply(text, schema)
            if constrained.text is None:
                return error_response(400, ("invalid_request_error", "response_format",
                                            "test server (enforce): the reply cannot match the "
                                            f"response_format schema: {constrained.error}"))
            text = constrained.text
        finish_reason = "stop"
        cut = cut_to_tokens(text, max_tokens) if max_tokens is not None else None
        if cut is not None:
            # As a real server does: generation stops at the limit, mid-sentence.
            text, finish_reason = cut, "length"
        response_id = hashlib.sha256(f"{key}:{self._successes[key]}".encode()).hexdigest()[:24]
        return chat_completion_response(requested, model, text, messages, response_id,
                                        finish_reason)

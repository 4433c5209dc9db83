"""A local OpenAI-compatible chat server for tests and benchmarks, with scripted faults.

xstress's tests exercise the real path (litellm -> HTTP -> server on 127.0.0.1); this module
is that server's public face. The server answers ``POST /v1/chat/completions`` with
deterministic replies and token counts after a fixed artificial latency, injects faults per
requested model name (HTTP errors with OpenAI-style bodies and ``Retry-After``,
content-policy refusals, hangs longer than the client's timeout, connections closed with no
answer or mid-body), optionally enforces a rate limit per model (N requests in any sliding
window; 429 with ``Retry-After`` past it), counts every request in memory, and can log
completed responses to a JSONL file. It runs in a background thread (``with TestServer() as
server``), inside the caller's event loop (``await server.start()``), or as a subprocess
(``python -m harness.testing.testserver``, which prints its URL on the first stdout line).
It does not stream, and it is not a model simulator: the simulated models of
``preset=offline`` live elsewhere. The parts live beside it: ``faults`` (fault scripts),
``chat_wire`` (the OpenAI wire format), ``chat_handlers`` (answers and request records),
``chat_server`` (``TestServer``'s lifecycle), ``ratelimit`` (the sliding window) and
``server_command`` (the command line).

Fault scripts are keyed by the *requested model name* with any provider prefix removed
(litellm sends ``flaky`` for ``openai/flaky``). The faults of a model apply to the first
attempts of each distinct request, where a request is identified by the model and the
fingerprint of its messages: attempt 1 gets ``faults[0]``, attempt 2 ``faults[1]`` and so on,
later attempts succeed.
"""

from __future__ import annotations

import sys

from harness.testing.chat_handlers import ReplyScript, RequestRecord
from harness.testing.chat_server import TestServer
from harness.testing.chat_wire import estimate_tokens, messages_fingerprint
from harness.testing.faults import Fault
from harness.testing.ratelimit import RateLimit
from harness.testing.server_command import main

__all__ = [
    "Fault",
    "RateLimit",
    "ReplyScript",
    "RequestRecord",
    "TestServer",
    "estimate_tokens",
    "main",
    "messages_fingerprint",
]

if __name__ == "__main__":
    sys.exit(main())

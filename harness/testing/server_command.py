"""The local test server as a process: ``python -m harness.testing.testserver [options]``.

This module owns the command line (``--host``, ``--port``, ``--latency``, ``--hang``,
``--faults``, ``--always``, ``--replies``, ``--require-key``, ``--log``,
``--enforce-response-format``, ``--rate-limit``, ``--rate-window``, ``--rate-retry-after``,
``--honour-max-tokens``), its parsing of fault scripts given as inline JSON or a file, printing
the URL on the first stdout line (benchmarks and tests read it from there) and serving until
SIGINT or SIGTERM. The server itself is ``chat_server.TestServer``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.testing.chat_server import TestServer
from harness.testing.faults import Fault
from harness.testing.ratelimit import RateLimit

__all__ = ["main"]


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
    parser.add_argument("--enforce-response-format", action="store_true",
                        help="answer a request carrying a JSON schema as a constrained decoder "
                        "would (the matching JSON object only, else 400)")
    parser.add_argument("--rate-limit", type=int, default=None,
                        help="admit at most this many requests per model per window; 429 after")
    parser.add_argument("--rate-window", type=float, default=1.0,
                        help="seconds of the rate limit's sliding window")
    parser.add_argument("--rate-retry-after", choices=("none", "seconds", "ms"), default="ms",
                        help="the header a rate-limited 429 carries (none: no Retry-After)")
    parser.add_argument("--honour-max-tokens", action="store_true",
                        help="cut a reply at the request's max_tokens and report "
                        "finish_reason: length, as a real server does")
    args = parser.parse_args(argv)
    try:
        rate_limit = None if args.rate_limit is None else RateLimit(
            args.rate_limit, args.rate_window, args.rate_retry_after)
        server = TestServer(
            latency_s=args.latency,
            faults={m: [Fault.from_json(f) for f in fs] for m, fs in args.faults.items()},
            always={m: Fault.from_json(f) for m, f in args.always.items()},
            replies={m: [str(r) for r in rs] for m, rs in args.replies.items()},
            require_key=args.require_key,
            hang_s=args.hang,
            rate_limit=rate_limit,
            host=args.host,
            port=args.port,
            log_path=args.log,
            response_format="enforce" if args.enforce_response_format else "ignore",
            honour_max_tokens=args.honour_max_tokens,
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        parser.error(f"invalid fault script or rate limit: {exc}")
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

"""The redactor (harness/providers/redact.py) and its use at the provider boundary: a
provider whose error echoes the Authorization header leaves no key in any file of the run, on
stderr or in the log (over real HTTP, through litellm)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.providers import RedactingFilter, redact, register_secret
from harness.providers.redact import REDACTED, redact_known
from tests.conftest import Ran

ECHO_KEY = "sk-echo-PROBE-4f1d8e2b7c6a9f30"
PROXY_KEY = "sk-proxy-ABCDEF0123456789xyz"
# Shaped like vendors' keys, assembled here so that no key-shaped literal sits in the repository.
ANTHROPIC_SHAPED = "sk-" + "ant-api03-" + "FAKE" * 4
GOOGLE_SHAPED = "AI" + "za" + "SyFAKE" + "0" * 27


@pytest.mark.parametrize(("text", "secret"), [
    ("Incorrect API key provided: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
    ('{"authorization": "Token1234567890"}', "Token1234567890"),
    ("url?api_key=q9w8e7r6t5y4&x=1", "q9w8e7r6t5y4"),
    ("x-api-key: live_0123456789", "live_0123456789"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    (f"echo {PROXY_KEY} end", PROXY_KEY),
    (ANTHROPIC_SHAPED, ANTHROPIC_SHAPED),
    (f"key {GOOGLE_SHAPED}", GOOGLE_SHAPED),
])
def test_key_shaped_strings_are_removed(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned and REDACTED in cleaned


def test_known_values_are_removed_whatever_their_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "plainword-no-shape")
    register_secret("another plain secret value")
    text = "x plainword-no-shape y another plain secret value z"
    assert redact(text) == f"x {REDACTED} y {REDACTED} z"
    assert redact_known("short abc stays") == "short abc stays"


def test_ordinary_text_is_left_alone() -> None:
    text = ("Rate limit exceeded (429); the key is fine; retry after 2s. model gpt-4o skipped; "
            "Basic authentication failed; bearer of bad news")
    assert redact(text) == text


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("xstress.test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.ERROR, logger="xstress.test.redact"):
        try:
            raise RuntimeError(f"boom Bearer {PROXY_KEY}")
        except RuntimeError:
            logger.exception("call failed: %s", f"Authorization: Bearer {PROXY_KEY}")
    assert PROXY_KEY not in caplog.text and REDACTED in caplog.text


class _Echo(BaseHTTPRequestHandler):
    """A provider (or proxy) whose errors quote the request's Authorization header."""

    status = 401

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        quoted = self.headers.get("Authorization", "")
        body = json.dumps({"error": {
            "message": f"Incorrect API key provided: {quoted}; proxy key {PROXY_KEY}",
            "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[401, 500])
def echo_url(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Echo", (_Echo,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_an_echoed_key_reaches_no_file_and_no_output(
        project: Path, tmp_path: Path, echo_url: str, monkeypatch: pytest.MonkeyPatch,
        xstress: Callable[..., Ran]) -> None:
    monkeypatch.setenv("XSTRESS_ECHO_KEY", ECHO_KEY)
    (project / "configs" / "models" / "echo.yaml").write_text(
        "name: echo\nlitellm_model: openai/echo\nfamily: openai\n"
        "api_key_env: XSTRESS_ECHO_KEY\nlimits: {max_concurrency: 2}\n")
    ran = xstress("run", "models=[echo]", "scaffolds=[bare]", f"provider.api_base={echo_url}",
                  "pipeline.stages=[sweep]", f"run.out_dir={tmp_path}", "run.name=echo",
                  "run.max_attempts=2", "run.retry_base_s=0.01", "run.progress=false")
    assert ran.code == 1, ran.err
    records = (tmp_path / "echo" / "transcripts.jsonl").read_text()
    assert REDACTED in records  # the error was stored, without the keys
    for text in (ran.out, ran.err, *(path.read_text(errors="replace")
                                     for path in (tmp_path / "echo").rglob("*")
                                     if path.is_file())):
        assert ECHO_KEY not in text and PROXY_KEY not in text

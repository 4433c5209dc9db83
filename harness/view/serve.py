"""Serving the run browser on this machine: one page from a stdlib HTTP server bound to
127.0.0.1 (never another interface), in a background thread.

The page is rendered once when the server starts; it makes no request of its own, so the
server answers ``/`` (and ``/view.html``) and nothing else. This module does not read the run
(``data.py``) or build the page (``page.py``).
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.errors import ConfigError

__all__ = ["ViewServer"]

HOST = "127.0.0.1"


class ViewServer:
    """The page at ``http://127.0.0.1:<port>/`` until ``close``.

    Raises:
        ConfigError: the port cannot be bound (in use, or not allowed).
    """

    def __init__(self, page: str, port: int = 0) -> None:
        body = page.encode("utf-8")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the stdlib names the method
                if self.path.split("?")[0] not in ("/", "/view.html"):
                    self.send_error(HTTPStatus.NOT_FOUND, "only / is served")
                    return
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                # Quiet: the terminal shows the URL, not a line per request.
                return

        try:
            self._server = ThreadingHTTPServer((HOST, port), Handler)
        except OSError as exc:
            raise ConfigError(f"cannot serve on {HOST}:{port} ({exc.strerror or exc})",
                              fix="choose another port=N, or port=0 for a free one") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="xstress-view", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Where the page is served."""
        return f"http://{HOST}:{self._server.server_address[1]}/"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

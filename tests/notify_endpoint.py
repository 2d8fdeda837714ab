"""The one stand-in of the test suite: a local HTTP server receiving apprise `json://` posts.

Notifications go to outside services (Slack, e-mail) that cannot run here, so tests point the
policy's notification URLs at this endpoint and read what people would have received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


class Endpoint:
    """A local HTTP server that keeps every JSON body posted to it (apprise's json://)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_port}/"

    def messages(self, event: str) -> list[dict[str, Any]]:
        """The posts about `event`: their title ends with it ("[retrain] churn v3: promoted")."""
        return [m for m in self.received if str(m.get("title", "")).endswith(f": {event}")]

    def events(self) -> list[str]:
        """The events received, in order."""
        return [str(m.get("title", "")).rsplit(": ", 1)[-1] for m in self.received]


@contextmanager
def serving() -> Iterator[Endpoint]:
    """An endpoint listening on 127.0.0.1 for the duration of the block, then stopped."""
    endpoint = Endpoint()
    thread = threading.Thread(target=endpoint.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()
        thread.join(timeout=5)

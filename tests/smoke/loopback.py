"""A small HTTP server on loopback for the smoke runner's tests and its benchmark."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = {"status": "ok", "version": "v1.2.3"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay_s = 0.0

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if self.delay_s:
            time.sleep(self.delay_s)
        if path == "/health":
            self._send(200, json.dumps(GOOD).encode())
        elif path == "/private":
            if self.headers.get("authorization", "").startswith("Bearer "):
                self._send(200, json.dumps(GOOD).encode())
            else:
                self._send(401, b'{"code":401,"message":"Missing authorization header"}')
        elif path == "/error":
            self._send(500, b'{"error":"internal_error"}')
        elif path == "/wrong-body":
            self._send(200, b'{"status":"ok","version":"v0.0.1"}')
        elif path == "/not-json":
            self._send(200, b"<html>maintenance</html>", "text/html")
        elif path == "/to-login":
            self._send(302, b"", "text/plain", location="/login?next=/health")
        elif path == "/slow":
            time.sleep(3)
            self._send(200, json.dumps(GOOD).encode())
        else:
            self._send(404, b'{"error":"not_found"}')


@contextmanager
def loopback_server(delay_s: float = 0.0) -> Iterator[str]:
    """Serve on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = type("Handler", (_Handler,), {"delay_s": delay_s})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler, bind_and_activate=False)
    server.request_queue_size = 1024
    server.daemon_threads = True
    server.server_bind()
    server.server_activate()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def main() -> int:
    """Serve until stdin closes; prints the base URL on the first line of stdout."""
    parser = argparse.ArgumentParser(description="loopback server for the smoke runner's benchmark")
    parser.add_argument("--delay-s", type=float, default=0.0)
    args = parser.parse_args()
    with loopback_server(delay_s=args.delay_s) as url:
        print(url, flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

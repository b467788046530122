"""The agents service's stable port: a small HTTP reverse proxy in front of two slots.

Run as `python -m sandbox.proxy --port P --upstream-file FILE`. The upstream file (JSON
`{"port": N, "version": ..., "digest": ...}`) is re-read when it changes, and each request
goes to the upstream named at that moment, so `deploy agents` switches versions between two
requests with no gap (blue/green). Requests and responses are buffered whole: the sandbox's
endpoints do not stream.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final

PROXY_HEALTH_PATH: Final = "/__sandbox/proxy"
UPSTREAM_TIMEOUT: Final = 30.0
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


class Upstream:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._current: dict[str, object] | None = None

    def current(self) -> dict[str, object] | None:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            if stamp != self._stamp:
                try:
                    payload = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    payload = None
                self._current = payload if isinstance(payload, dict) and isinstance(payload.get("port"), int) else None
                self._stamp = stamp
            return self._current


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args: object, upstream: Upstream) -> None:
        self.upstream = upstream
        super().__init__(*args)  # type: ignore[arg-type]  # socketserver passes (request, address, server)

    def _reply(self, status: HTTPStatus, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self) -> None:
        target = self.upstream.current()
        if self.path == PROXY_HEALTH_PATH:
            self._reply(HTTPStatus.OK, {"status": "ok", "upstream": target})
            return
        if target is None:
            self._reply(
                HTTPStatus.SERVICE_UNAVAILABLE, {"status": "awaiting-deploy", "detail": "no agents release is active"}
            )
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        port = target["port"]
        assert isinstance(port, int)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=UPSTREAM_TIMEOUT)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except OSError as exc:
            self._reply(HTTPStatus.BAD_GATEWAY, {"status": "bad-gateway", "upstream": port, "detail": str(exc)})
            return
        finally:
            connection.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Sandbox-Upstream", str(port))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.proxy")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-file", type=Path, required=True)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), partial(ProxyHandler, upstream=Upstream(args.upstream_file)))
    server.daemon_threads = True
    print(f"agents proxy on http://127.0.0.1:{args.port} pid {os.getpid()}", flush=True)
    server.serve_forever(poll_interval=0.25)


if __name__ == "__main__":
    main()

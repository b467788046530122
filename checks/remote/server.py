"""A small loopback HTTP server for recorded fakes of remote APIs.

A :class:`LoopbackServer` listens on ``127.0.0.1`` on a free port, in a daemon thread, and
answers with handlers registered per method and path pattern. Every request is recorded
(method, path, query, headers, body), so a test can check what a client really sent.
Faults make it answer with a given status, or stall for a while, to show how clients fail.

It only ever binds the loopback address, never reads from anywhere but its handlers, and
stops (port freed, threads released) when it is closed.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import parse_qs, urlsplit

_MAX_BODY: Final = 1 << 20
_HANDLER_TIMEOUT_S: Final = 10.0
_STOP_JOIN_S: Final = 5.0


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    base_url: str

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        body = json.dumps(payload, indent=2).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})


Handler = Callable[[Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Fault:
    """Make the server misbehave: answer ``status`` with ``body``, or stall ``delay_s`` first."""

    status: int | None = None
    body: Any = None
    delay_s: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timed-out test client) is not an error of the fake."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """Routes, a recorded request log and optional faults, served on 127.0.0.1."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.fault: Fault | None = None

    # --- routes -------------------------------------------------------------------------

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` is a regular expression matched against the whole path."""
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def dispatch(self, request: Request) -> Response:
        fault = self.fault
        if fault is not None:
            if fault.delay_s > 0:
                self._stopping.wait(fault.delay_s)
            if fault.status is not None:
                return Response.json(fault.status, fault.body if fault.body is not None else {"message": "fault"})
        allowed = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            return handler(request, match.groupdict())
        if allowed:
            return Response.json(405, {"message": "Method Not Allowed"}, {"Allow": ", ".join(sorted(set(allowed)))})
        return Response.json(404, {"message": "Not Found"})

    # --- the request log ----------------------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- life cycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{self.name}: the server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Listen on a free loopback port; returns the base URL."""
        if self._httpd is not None:
            return self.base_url
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = _HANDLER_TIMEOUT_S
            server_version = "loopback-fake"
            sys_version = ""

            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self._send(Response.json(413, {"message": "payload too large"}))
                    return
                body = self.rfile.read(length) if length > 0 else b""
                request = Request(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    base_url=server.base_url,
                )
                server._record(request)
                try:
                    response = server.dispatch(request)
                except Exception as exc:  # a broken fake answers 500, like a broken server
                    response = Response.json(500, {"message": f"fake {server.name} failed: {type(exc).__name__}"})
                self._send(response)

            def _send(self, response: Response) -> None:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = _handle
            do_POST = _handle
            do_PUT = _handle
            do_PATCH = _handle
            do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return  # requests are recorded, not logged (a webhook path is a secret)

        httpd = _Server(("127.0.0.1", 0), _Handler)
        self._stopping.clear()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.name}", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and free the port; stalled handlers are released."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=_STOP_JOIN_S)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""The sandbox's web host: a threaded loopback static server for the active web release.

Run as `python -m sandbox.webserver --port P --current DIR --placeholder DIR --faults FILE`.
`--current` is a symlink that `deploy web` swaps atomically; it is resolved on every request,
so a switch needs no restart. Paths without a file extension fall back to `index.html`.
The `heavy_page` fault (a path, or a prefix ending in `/`) makes what it names answer late
and padded: by default `/menus/`, the data of the PWA's menu page (its pages are hash
routes, so the server sees them only through what they fetch).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

HEALTH_PATH: Final = "/__sandbox/health"
HEAVY_DELAY_SECONDS: Final = 2.5
HEAVY_PADDING_BYTES: Final = 3 * 1024 * 1024

MIME_TYPES: Final = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
EXTENSIONS_MAP: Final = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
# Padding that leaves each type's meaning unchanged (JSON allows trailing whitespace).
PADDING_WRAPPERS: Final = {
    ".json": (b"", b""),
    ".html": (b"<!--", b"-->"),
    ".js": (b"/*", b"*/"),
    ".css": (b"/*", b"*/"),
}
# Never cached, so a switch of release is seen at once (the service worker script above all).
NO_CACHE_NAMES: Final = {"index.html", "sw.js", "service-worker.js", "manifest.webmanifest"}


class FaultsReader:
    """Re-reads the faults file only when it changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: int | None = None
        self._heavy_page: str | None = None

    def heavy_page(self) -> str | None:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                value = json.loads(self.path.read_text(encoding="utf-8")).get("heavy_page")
            except (OSError, ValueError, AttributeError):
                value = None
            self._heavy_page = value if isinstance(value, str) else None
        return self._heavy_page


class ReleaseHandler(SimpleHTTPRequestHandler):
    """One connection; each request on it is served from the release ``current`` names then.

    ``SimpleHTTPRequestHandler`` serves every request of a kept-alive connection from the one
    handler object, so the release is resolved in ``do_GET``/``do_HEAD``, never in
    ``__init__``: a connection opened before a rollback gets the previous release from its
    next request on.
    """

    protocol_version = "HTTP/1.1"

    def __init__(self, *args: object, current: Path, placeholder: Path, faults: FaultsReader | None) -> None:
        self.current = current
        self.placeholder = placeholder
        self.faults = faults
        self.extensions_map = EXTENSIONS_MAP
        self.release_root = placeholder  # replaced by each request's own (_resolve_release)
        super().__init__(*args, directory=str(placeholder))  # type: ignore[arg-type]  # socketserver passes (request, address, server)

    def _resolve_release(self) -> None:
        """The release this request is served from: ``current`` now, or the placeholder."""
        self.release_root = self.current.resolve() if self.current.is_dir() else self.placeholder
        self.directory = str(self.release_root)

    def _version(self) -> str | None:
        return self.release_root.name if self.release_root != self.placeholder else None

    def do_HEAD(self) -> None:
        self._resolve_release()
        path = urlsplit(self.path).path
        if not Path(path).suffix and not Path(self.translate_path(path)).exists():
            self.path = "/index.html"
        super().do_HEAD()

    def do_GET(self) -> None:
        self._resolve_release()
        path = urlsplit(self.path).path
        if path == HEALTH_PATH:
            self._send_json({"status": "ok", "version": self._version()})
            return
        heavy = self.faults.heavy_page() if self.faults is not None else None
        if heavy is not None and (path.startswith(heavy) if heavy.endswith("/") else path == heavy):
            self._send_heavy(path)
            return
        if not Path(path).suffix and not Path(self.translate_path(path)).exists():
            self.path = "/index.html"
        super().do_GET()

    def _send_json(self, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _send_heavy(self, path: str) -> None:
        """The heavy_page fault: the same content, late and padded in a way its type ignores."""
        time.sleep(HEAVY_DELAY_SECONDS)
        file = Path(self.translate_path(path))
        if not file.is_file():
            file = self.release_root / "index.html"
        content = file.read_bytes() if file.is_file() else b"<!doctype html><title>heavy</title>"
        suffix = file.suffix if file.is_file() else ".html"
        wrapper = PADDING_WRAPPERS.get(suffix)
        body = content if wrapper is None else content + wrapper[0] + b" " * HEAVY_PADDING_BYTES + wrapper[1]
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(file)))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        name = Path(urlsplit(self.path).path).name or "index.html"
        if name in NO_CACHE_NAMES:
            self.send_header("Cache-Control", "no-cache")
        if name in ("sw.js", "service-worker.js"):
            self.send_header("Service-Worker-Allowed", "/")
        super().end_headers()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.webserver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--placeholder", type=Path, required=True)
    parser.add_argument("--faults", type=Path, required=True)
    args = parser.parse_args(argv)
    handler = partial(
        ReleaseHandler, current=args.current, placeholder=args.placeholder, faults=FaultsReader(args.faults)
    )
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    print(f"web server on http://127.0.0.1:{args.port} pid {os.getpid()}", flush=True)
    server.serve_forever(poll_interval=0.25)


if __name__ == "__main__":
    main()

"""A small loopback web server for the Lighthouse and PWA tests."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="A loopback test page.">
<title>Loopback page</title>{head}</head>
<body><h1>Loopback page</h1><p>Served for the Lighthouse runner tests.</p>{body}</body></html>
"""
MANIFEST = """{"name": "Loopback PWA", "short_name": "Loop", "start_url": "/", "display": "standalone",
 "icons": [{"src": "/icon.png", "sizes": "192x192", "type": "image/png"},
           {"src": "/icon.png", "sizes": "512x512", "type": "image/png"}]}"""
SW = "self.addEventListener('install', () => self.skipWaiting());\nself.addEventListener('fetch', () => {});\n"
REGISTER = "<script>navigator.serviceWorker.register('/sw.js');</script>"


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/broken"):
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR, "broken on purpose")
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """Serves ``tmp_path/site`` on 127.0.0.1: ``/plain.html`` (no manifest), ``/pwa.html``
    (manifest and service worker) and ``/broken`` (HTTP 500)."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "plain.html").write_text(PAGE.format(head="", body=""), encoding="utf-8")
    (root / "pwa.html").write_text(
        PAGE.format(head='<link rel="manifest" href="/manifest.webmanifest">', body=REGISTER), encoding="utf-8"
    )
    (root / "manifest.webmanifest").write_text(MANIFEST, encoding="utf-8")
    (root / "sw.js").write_text(SW, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

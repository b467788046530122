"""The release candidate's web bundle on a loopback port, for Lighthouse and the PWA check.

The validate phase judges the release it is about to ship, not what staging still serves:
Lighthouse CI's ``staticDistDir`` does the same for a pull request. A bundle folder (the
gate's copy of what the ``web_build`` action wrote) is served by the sandbox's static host
(``sandbox/webserver.py``: paths without an extension fall back to ``index.html``; the
shell, manifest and service worker are never cached) on an ephemeral port of 127.0.0.1, in
a thread of this process, for as long as the ``with`` block lasts. The bundle's API
addresses are the ones it was built with (staging's).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

from sandbox.webserver import ReleaseHandler

_STOP_TIMEOUT_S = 10.0


class PreviewError(Exception):
    """The bundle cannot be served; the message names the folder and what is missing."""


def require_bundle(folder: Path) -> None:
    """Raise :class:`PreviewError` unless ``folder`` holds a web bundle (its ``index.html``)."""
    if not (folder / "index.html").is_file():
        raise PreviewError(f"{folder}: no index.html, so no web bundle to measure (did the web build run?)")


@contextmanager
def preview(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on loopback; yields its base URL (``http://127.0.0.1:<port>/``)."""
    require_bundle(folder)
    # No faults: the preview serves the bundle as built, never slowed on purpose.
    handler = partial(ReleaseHandler, current=folder, placeholder=folder, faults=None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="web-preview", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(_STOP_TIMEOUT_S)

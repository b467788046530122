"""The web host resolves ``web/current`` per request: a kept-alive connection follows a switch."""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox.webserver import HEALTH_PATH, FaultsReader, ReleaseHandler


def _release(root: Path, version: str) -> Path:
    folder = root / "releases" / version
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(f"<!doctype html><title>{version}</title>\n", encoding="utf-8")
    return folder


def _point(current: Path, target: Path) -> None:
    """Swap the symlink atomically, as ``deploy web`` and a rollback do."""
    staged = current.with_name(f".{current.name}.next")
    os.symlink(target, staged)
    os.replace(staged, current)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[int, Path, Path, Path]]:
    first, second = _release(tmp_path, "v0.1.0"), _release(tmp_path, "v0.0.9")
    placeholder = tmp_path / "placeholder"
    placeholder.mkdir()
    (placeholder / "index.html").write_text("placeholder\n", encoding="utf-8")
    current = tmp_path / "current"
    _point(current, first)
    handler = partial(ReleaseHandler, current=current, placeholder=placeholder, faults=FaultsReader(tmp_path / "none"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), current, first, second
    finally:
        server.shutdown()
        server.server_close()


def _get(connection: http.client.HTTPConnection, path: str, method: str = "GET") -> tuple[int, bytes]:
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    assert not response.will_close, "the server closed the kept-alive connection"
    return response.status, body


def test_one_kept_alive_connection_follows_a_switch_of_current(web: tuple[int, Path, Path, Path]) -> None:
    port, current, first, second = web
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        assert json.loads(_get(connection, HEALTH_PATH)[1])["version"] == "v0.1.0"
        assert b"<title>v0.1.0</title>" in _get(connection, "/index.html")[1]
        socket_before = connection.sock

        _point(current, second)  # the rollback

        assert json.loads(_get(connection, HEALTH_PATH)[1])["version"] == "v0.0.9"
        assert b"<title>v0.0.9</title>" in _get(connection, "/index.html")[1]
        assert b"<title>v0.0.9</title>" in _get(connection, "/menu")[1]  # no extension: index.html
        status, _ = _get(connection, "/menu", "HEAD")
        assert status == 200
        assert connection.sock is socket_before, "the requests must share one connection"

        _point(current, first)  # and forward again
        assert b"<title>v0.1.0</title>" in _get(connection, "/")[1]
        assert connection.sock is socket_before
    finally:
        connection.close()


def test_without_a_release_the_placeholder_is_served(web: tuple[int, Path, Path, Path]) -> None:
    port, current, _, _ = web
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        assert json.loads(_get(connection, HEALTH_PATH)[1])["version"] == "v0.1.0"
        current.unlink()
        assert json.loads(_get(connection, HEALTH_PATH)[1])["version"] is None
        assert _get(connection, "/index.html")[1] == b"placeholder\n"
    finally:
        connection.close()

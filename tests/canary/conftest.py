"""A real Prometheus on loopback scraping a tiny metrics server that each test controls."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

PROMETHEUS = os.environ.get("SANDBOX_PROMETHEUS", "/usr/bin/prometheus")
READY_TIMEOUT_S = 30.0


@dataclass
class MetricsPage:
    """The text the fake service serves on /metrics (Prometheus text format)."""

    lines: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, name: str, value: str) -> None:
        with self.lock:
            self.lines[name] = value

    def text(self) -> str:
        with self.lock:
            return "".join(f"# TYPE {name} gauge\n{name} {value}\n" for name, value in self.lines.items())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def metrics_page() -> Iterator[tuple[MetricsPage, int]]:
    page = MetricsPage()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.text().encode() if self.path == "/metrics" else b"not found\n"
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield page, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def prometheus_url(metrics_page: tuple[MetricsPage, int]) -> Iterator[str]:
    """A real Prometheus (1 s scrapes of the fake service), stopped after the session."""
    _, target_port = metrics_page
    folder = Path(tempfile.mkdtemp(prefix="canary-prometheus-"))
    port = free_port()
    (folder / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: fake\n    static_configs:\n"
        f'      - targets: ["127.0.0.1:{target_port}"]\n',
        encoding="utf-8",
    )
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert process.poll() is None, (folder / "prometheus.log").read_text()[-2000:]
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": 'up{job="fake"}'}, timeout=2.0)
                result = answer.json()["data"]["result"] if answer.status_code == 200 else []
                if result and result[0]["value"][1] == "1":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Prometheus did not scrape the fake service in time"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)

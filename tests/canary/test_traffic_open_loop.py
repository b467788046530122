"""The synthetic traffic is open-loop: a slow release still receives its rate (real HTTP on loopback)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from checks.canary.traffic import TrafficError, TrafficGenerator
from tests.canary.conftest import free_port

LATENCY_S = 0.4


class _SlowServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of new connections must not overflow the listen backlog

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.received = 0
        self.lock = threading.Lock()


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SlowServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            self.server.received += 1
        time.sleep(LATENCY_S)  # every answer is as slow as the latency fault makes the agents service
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def slow_server() -> Iterator[_SlowServer]:
    server = _SlowServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: _SlowServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_slow_server_still_gets_the_configured_rate(slow_server: _SlowServer) -> None:
    rps, duration_s = 20.0, 2.0
    generator = TrafficGenerator(
        _url(slow_server), ["icupa-hq", "icupa-qa"], rps=rps, max_requests=1000, duration_s=duration_s
    )
    assert generator.max_in_flight == 100  # rps x timeout_s: room for every request still waiting
    with generator:
        time.sleep(duration_s + 0.5)
    stats = generator.stats.to_dict()
    scheduled = rps * duration_s  # 40 starts; one at a time at 0.4 s each would manage 5
    assert stats["shed"] == 0, stats
    assert stats["errors"] == {}, stats
    assert generator.stats.sent >= 0.75 * scheduled, stats
    assert generator.stats.in_flight_peak >= 4, stats  # the requests overlapped
    assert slow_server.received == stats["sent"]
    statuses = stats["statuses"]
    assert isinstance(statuses, dict)
    assert set(statuses) == {"/agents/chat 200", "/payments 200"}


def test_a_full_pool_sheds_requests_and_counts_them(slow_server: _SlowServer) -> None:
    generator = TrafficGenerator(_url(slow_server), ["icupa-hq"], rps=20, max_requests=1000, duration_s=1.0)
    generator.max_in_flight = 1  # far below what a 0.4 s latency needs at 20 requests/s
    with generator:
        time.sleep(1.5)
    stats = generator.stats.to_dict()
    assert stats["in_flight_peak"] == 1
    assert generator.stats.shed > 0, stats
    assert generator.stats.sent >= 1, stats
    assert slow_server.received == stats["sent"]


def test_max_requests_bounds_the_total(slow_server: _SlowServer) -> None:
    with TrafficGenerator(_url(slow_server), ["icupa-hq"], rps=50, max_requests=7, duration_s=5.0) as generator:
        time.sleep(0.5)
    assert generator.stats.sent == 7
    assert slow_server.received == 7


def test_a_closed_port_is_counted_as_errors_never_as_answers() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with TrafficGenerator(url, ["icupa-hq"], rps=20, max_requests=5, duration_s=1.0, payment_share=0) as generator:
        time.sleep(0.5)
    stats = generator.stats.to_dict()
    assert stats["statuses"] == {}
    assert stats["errors"] == {"/agents/chat ConnectError": 5}


def test_only_loopback_and_sane_settings() -> None:
    with pytest.raises(TrafficError, match="loopback only"):
        TrafficGenerator("http://10.0.0.1:8787", ["icupa-hq"], rps=1, max_requests=1, duration_s=1)
    with pytest.raises(TrafficError, match="timeout_s must be positive"):
        TrafficGenerator("http://127.0.0.1:1", ["icupa-hq"], rps=1, max_requests=1, duration_s=1, timeout_s=0)

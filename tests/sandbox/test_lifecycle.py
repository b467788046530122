"""up / status / down / fault against real PostgreSQL, Prometheus and the sandbox's servers."""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

import httpx
import psycopg

from sandbox.faults import FAULTS
from sandbox.layout import PORT_RANGE_SIZE, PRODUCTION_PORT_SHIFT
from sandbox.processes import port_is_free
from sandbox.state import EnvState, load_state, save_state
from sandbox.webserver import HEAVY_PADDING_BYTES
from tests.sandbox.harness import SandboxHarness

BASE_PARTS = {"postgres", "prometheus", "web", "agents-proxy"}


def _ports_free(base: int) -> list[int]:
    return [port for port in range(base, base + PORT_RANGE_SIZE) if not port_is_free(port)]


def _prometheus_targets(url: str) -> list[dict[str, Any]]:
    # Ready comes before service discovery has filled in the targets: give it a few seconds.
    deadline = time.monotonic() + 10
    while True:
        targets: list[dict[str, Any]] = httpx.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        if len(targets) == 2 or time.monotonic() > deadline:
            return targets
        time.sleep(0.2)


def test_up_status_down_round_trip(harness: SandboxHarness) -> None:
    up = harness.cli("up")
    assert up.returncode == 0, up.stderr
    summary = up.summary
    assert summary["ok"] is True
    assert {part["name"] for part in summary["parts"] if part["action"] == "started"} == BASE_PARTS
    assert set(summary["awaiting_deploy"]) == {"migrations", "web", "agents", "functions"}
    assert "awaiting a deploy" in up.stderr

    status = harness.cli("status", "--json")
    assert status.returncode == 0, status.stderr
    report = status.summary
    assert report["running"] is True
    assert {part["name"]: part["action"] for part in report["parts"]} == dict.fromkeys(BASE_PARTS, "healthy")
    endpoints = report["endpoints"]
    assert isinstance(endpoints, dict)
    assert endpoints["postgres"] == f"postgresql://postgres:***@127.0.0.1:{harness.port_base}/icupa_staging"

    # The password works, is kept 0600, and is printed nowhere.
    sandbox = harness.api()
    secrets_file = sandbox.paths.secrets_file
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    password = sandbox.secrets().db_password
    for output in (up.stdout, up.stderr, status.stdout, status.stderr, harness.cli("status").stdout):
        assert password not in output
    with psycopg.connect(sandbox.dsn(), connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("icupa_staging",)

    # Prometheus has both jobs, scraping the environment's own ports every second.
    targets = _prometheus_targets(str(endpoints["prometheus"]))
    assert {t["labels"]["job"]: t["scrapeUrl"] for t in targets} == {
        "agents-service": f"http://127.0.0.1:{harness.port_base + 3}/metrics",
        "edge-functions": f"http://127.0.0.1:{harness.port_base + 4}/metrics",
    }
    assert {t["scrapeInterval"] for t in targets} == {"1s"}

    # Before any web deploy the web server shows the placeholder page.
    page = httpx.get(f"{endpoints['web']}/", timeout=5)
    assert page.status_code == 200
    assert "awaiting deploy" in page.text

    down = harness.cli("down")
    assert down.returncode == 0, down.stderr
    assert {part["name"] for part in down.summary["parts"]} == BASE_PARTS
    assert "every port is free" in down.stderr
    assert _ports_free(harness.port_base) == []
    assert not any(sandbox.paths.pid_dir.glob("*.pid"))

    after = harness.cli("status", "--json")
    assert after.returncode == 0
    assert after.summary["running"] is False


def test_up_twice_is_idempotent(harness: SandboxHarness) -> None:
    first = harness.cli("up")
    assert first.returncode == 0, first.stderr
    pids = {part["name"]: part["pid"] for part in first.summary["parts"] if part["action"] == "started"}

    second = harness.cli("up")
    assert second.returncode == 0, second.stderr
    assert "already up: every part is healthy" in second.stderr
    again = {part["name"]: part["pid"] for part in second.summary["parts"] if part["action"] == "already healthy"}
    assert again == pids


def test_down_with_nothing_running(harness: SandboxHarness) -> None:
    result = harness.cli("down", timeout=30)
    assert result.returncode == 0, result.stderr
    assert "nothing was running in sandbox staging" in result.stderr
    assert result.summary["ok"] is True


def test_port_in_use_is_named_with_its_holder(harness: SandboxHarness) -> None:
    taken = harness.port_base + 1  # Prometheus's port
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", taken))
        blocker.listen()
        began = time.monotonic()
        result = harness.cli("up", timeout=60)
        elapsed = time.monotonic() - began
    assert result.returncode == 1
    assert f"port {taken} on 127.0.0.1 (for prometheus) is already in use" in result.stderr
    assert f"held by pid {os.getpid()}" in result.stderr
    assert result.summary["ok"] is False
    assert elapsed < 30
    # Ports are checked before anything starts: nothing was left running.
    assert _ports_free(harness.port_base) == []


def test_service_that_dies_after_start_is_reported_with_its_log(harness: SandboxHarness) -> None:
    sandbox = harness.api()
    sandbox.paths.env_dir.mkdir(parents=True)
    save_state(sandbox.paths, EnvState(env="staging", functions_version="v9.9.9-crash"))

    began = time.monotonic()
    result = harness.cli("up", timeout=90)
    assert time.monotonic() - began < 60
    assert result.returncode == 1
    assert "functions exited with code 3 right after start" in result.stderr
    assert 'error: Module not found "file:///functions/menu/index.ts" (fake crash)' in result.stderr
    failed = [part for part in result.summary["parts"] if part["action"] == "failed"]
    assert [part["name"] for part in failed] == ["functions"]
    assert "python -m sandbox down" in result.stderr

    down = harness.cli("down")
    assert down.returncode == 0, down.stderr
    assert _ports_free(harness.port_base) == []


def test_failed_functions_deploy_restores_the_live_version(harness: SandboxHarness) -> None:
    assert harness.cli("up").returncode == 0
    health = f"http://127.0.0.1:{harness.port_base + 4}/functions/v1/health"
    good = harness.cli("deploy", "functions", "--version", "v1.0.0")
    assert good.returncode == 0, good.stderr
    assert good.summary["version"] == "v1.0.0"

    bad = harness.cli("deploy", "functions", "--version", "v1.0.1-crash")
    assert bad.returncode == 1
    assert "functions exited with code 3 right after start" in bad.stderr
    assert "functions v1.0.0 restored" in bad.stderr
    assert httpx.get(health, timeout=5).json()["version"] == "v1.0.0"
    assert harness.cli("status", "--json").summary["versions"]["functions"] == "v1.0.0"


def test_faults_written_and_read_back(harness: SandboxHarness) -> None:
    result = harness.cli("fault", "set", "error_rate=0.25", "latency_ms=120", "smoke_fail=true", "heavy_page=true")
    assert result.returncode == 0, result.stderr
    faults_file = harness.api().paths.faults_file
    written = json.loads(faults_file.read_text())
    assert set(written) == set(FAULTS)
    assert written["error_rate"] == 0.25
    assert written["latency_ms"] == 120
    assert written["smoke_fail"] is True
    assert written["heavy_page"] == "/menus/"
    assert written["broken_migration"] is False

    merged = harness.cli("fault", "set", "broken_migration=true")
    assert merged.returncode == 0
    assert json.loads(faults_file.read_text())["error_rate"] == 0.25

    status = harness.cli("status", "--json")
    assert status.summary["faults"] == {
        "error_rate": 0.25,
        "latency_ms": 120,
        "smoke_fail": True,
        "heavy_page": "/menus/",
        "broken_migration": True,
    }

    cleared = harness.cli("fault", "clear")
    assert cleared.returncode == 0
    assert json.loads(faults_file.read_text()) == {key: spec.default for key, spec in FAULTS.items()}


def test_fault_usage_errors_exit_2(harness: SandboxHarness) -> None:
    unknown = harness.cli("fault", "set", "error_rat=0.5")
    assert unknown.returncode == 2
    assert "unknown fault 'error_rat'" in unknown.stderr
    assert "error_rate" in unknown.stderr
    out_of_range = harness.cli("fault", "set", "error_rate=2")
    assert out_of_range.returncode == 2
    assert "between 0 and 1" in out_of_range.stderr
    assert harness.cli("deploy", "agents").returncode == 2  # --version missing
    assert harness.cli("up", "--env", "qa").returncode == 2


def test_heavy_page_fault_makes_the_menu_slow_and_heavy(harness: SandboxHarness) -> None:
    assert harness.cli("up").returncode == 0
    web = f"http://127.0.0.1:{harness.port_base + 2}"
    quick = httpx.get(f"{web}/menus/default.json", timeout=10)
    assert quick.elapsed.total_seconds() < 1.0

    assert harness.cli("fault", "set", "heavy_page=true").returncode == 0
    began = time.monotonic()
    heavy = httpx.get(f"{web}/menus/default.json", timeout=10)
    assert time.monotonic() - began >= 2.4
    assert len(heavy.content) >= HEAVY_PADDING_BYTES
    assert httpx.get(f"{web}/index.html", timeout=10).elapsed.total_seconds() < 1.0


def test_two_environments_are_isolated(harness: SandboxHarness) -> None:
    staging = harness.cli("up", "--env", "staging")
    production = harness.cli("up", "--env", "production")
    assert staging.returncode == 0, staging.stderr
    assert production.returncode == 0, production.stderr
    assert production.summary["endpoints"]["postgres"].endswith(
        f"127.0.0.1:{harness.port_base + PRODUCTION_PORT_SHIFT}/icupa_production"
    )
    assert harness.cli("fault", "set", "--env", "production", "smoke_fail=true").returncode == 0
    assert harness.cli("status", "--json", "--env", "staging").summary["faults"] == {}

    assert harness.cli("down", "--env", "production").returncode == 0
    assert _ports_free(harness.port_base + PRODUCTION_PORT_SHIFT) == []
    still = harness.cli("status", "--json", "--env", "staging")
    assert still.returncode == 0
    assert still.summary["running"] is True


def test_state_file_records_ports_and_start(harness: SandboxHarness) -> None:
    assert harness.cli("up").returncode == 0
    state = load_state(harness.api().paths)
    assert state.ports["postgres"] == harness.port_base
    assert state.ports["agents-slot-b"] == harness.port_base + 6
    assert state.started_at is not None

"""Health probes (HTTP and PostgreSQL), each bounded by a timeout, and a retry loop."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from sandbox.faults import read_faults
from sandbox.postgres import STATEMENT_TIMEOUT
from sandbox.processes import Spawned, log_tail
from sandbox.state import SandboxError

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str
    version: str | None = None
    status: int | None = None


def http_probe(
    url: str,
    *,
    expect_version: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Probe:
    """GET `url`: ok on 200 whose JSON `status` (if any) is "ok" and `version` (if expected) matches."""
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return Probe(False, f"{url}: {type(exc).__name__}: {exc}")
    code = response.status_code
    body: object = None
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            return Probe(False, f"{url}: HTTP {code} with invalid JSON", status=code)
    fields = body if isinstance(body, dict) else {}
    version = str(fields["version"]) if fields.get("version") is not None else None
    if code != 200:
        return Probe(False, f"{url}: HTTP {code} {response.text[:200]!r}", version, code)
    if fields.get("status", "ok") != "ok":
        return Probe(False, f"{url}: status {fields['status']!r}", version, code)
    if expect_version is not None and version != expect_version:
        return Probe(False, f"{url}: version {version!r}, expected {expect_version!r}", version, code)
    return Probe(True, f"{url}: 200", version, code)


@dataclass(frozen=True)
class ServiceProbe:
    """Health of a service that reads the faults file (agents service, edge functions).

    It reads the faults at each call: the `latency_ms` fault lengthens the timeout, and
    while `smoke_fail` is on a 503 from the health endpoint counts as *serving* (the fault
    asked for it; the gate's smoke checks are the ones meant to catch it).
    """

    url: str
    faults_file: Path
    expect_version: str | None = None
    headers: dict[str, str] | None = None

    def __call__(self) -> Probe:
        faults = read_faults(self.faults_file)
        latency = faults["latency_ms"]
        extra = latency / 1000 if isinstance(latency, int) else 0.0
        probe = http_probe(
            self.url, expect_version=self.expect_version, headers=self.headers, timeout=PROBE_TIMEOUT + extra
        )
        if probe.status == 503 and faults["smoke_fail"] is True:
            if self.expect_version is not None and probe.version != self.expect_version:
                return Probe(False, f"{self.url}: 503 from version {probe.version!r}, expected {self.expect_version!r}")
            return Probe(True, f"{self.url}: 503 while the smoke_fail fault is on", probe.version, 503)
        return probe


def postgres_probe(conninfo: str, timeout: int = 2) -> Probe:
    try:
        with psycopg.connect(conninfo, connect_timeout=timeout, options=STATEMENT_TIMEOUT) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Probe(False, f"postgres: {first_line}")
    return Probe(True, "postgres: accepting connections")


def wait_healthy(
    name: str,
    probe: Callable[[], Probe],
    *,
    timeout: float,
    spawned: Spawned | None = None,
    interval: float = 0.15,
) -> Probe:
    """Retry `probe` until it passes; fail at once, with the log's tail, if the process died."""
    deadline = time.monotonic() + timeout
    last = Probe(False, "not probed yet")
    while True:
        if spawned is not None:
            code = spawned.exited()
            if code is not None:
                raise SandboxError(
                    f"{name} exited with code {code} right after start; "
                    f"last lines of {spawned.log_path}:\n{log_tail(spawned.log_path)}"
                )
        last = probe()
        if last.ok:
            return last
        if time.monotonic() > deadline:
            tail = f"; last lines of {spawned.log_path}:\n{log_tail(spawned.log_path)}" if spawned else ""
            raise SandboxError(f"{name} not healthy after {timeout:.0f}s ({last.detail}){tail}")
        time.sleep(interval)


def hs256_jwt(secret: str, claims: dict[str, object]) -> str:
    """A minimal HS256 token, enough for the edge functions' `VERIFY_JWT=1` check."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def service_token(secret: str, ttl_seconds: int = 600) -> str:
    now = int(time.time())
    return hs256_jwt(secret, {"role": "service_role", "iss": "icupa-sandbox", "iat": now, "exp": now + ttl_seconds})

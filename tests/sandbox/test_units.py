"""Pure parts of the sandbox: ports, faults, artifacts, masking, port holders, tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
from pathlib import Path

import pytest

from sandbox import artifacts
from sandbox.faults import clear_faults, parse_assignments, read_faults, set_faults
from sandbox.health import hs256_jwt
from sandbox.layout import Ports, SandboxConfig, SandboxUsageError, port_base
from sandbox.postgres import dsn, masked_dsn
from sandbox.processes import describe_busy_port, port_holder, port_is_free
from sandbox.state import SandboxError


def test_default_port_ranges_do_not_overlap() -> None:
    staging = Ports.from_base(port_base("staging", {})).named().values()
    production = Ports.from_base(port_base("production", {})).named().values()
    assert not set(staging) & set(production)


def test_port_base_override_moves_both_environments() -> None:
    assert port_base("staging", {"SANDBOX_PORT_BASE": "23000"}) == 23000
    assert port_base("production", {"SANDBOX_PORT_BASE": "23000"}) == 23100
    with pytest.raises(SandboxUsageError, match="not a port number"):
        port_base("staging", {"SANDBOX_PORT_BASE": "high"})
    with pytest.raises(SandboxUsageError, match="must lie within"):
        port_base("staging", {"SANDBOX_PORT_BASE": "80"})


def test_fault_assignments_are_typed_and_validated() -> None:
    parsed = parse_assignments(["error_rate=0.5", "latency_ms=250", "smoke_fail=true", "heavy_page=/index.html"])
    assert parsed == {"error_rate": 0.5, "latency_ms": 250, "smoke_fail": True, "heavy_page": "/index.html"}
    for bad, message in [
        ("latency_ms=1.5", "whole milliseconds"),
        ("smoke_fail=1", "true or false"),
        ("heavy_page=menu", "path like"),
        ("error_rate", "KEY=VALUE"),
        ("nope=1", "unknown fault"),
    ]:
        with pytest.raises(SandboxUsageError, match=message):
            parse_assignments([bad])


def test_faults_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    assert read_faults(path)["error_rate"] == 0.0
    set_faults(path, {"payment_failure_rate": 0.3})
    set_faults(path, {"guardrail_breach_rate": 0.01})
    stored = json.loads(path.read_text())
    assert stored["payment_failure_rate"] == 0.3
    assert stored["guardrail_breach_rate"] == 0.01
    clear_faults(path)
    assert read_faults(path)["payment_failure_rate"] == 0.0


def _tree(root: Path) -> Path:
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "server.js").write_text("console.log('hi')\n")
    (root / "node_modules" / ".pnpm" / "a@1" / "node_modules" / "a").mkdir(parents=True)
    (root / "node_modules" / "a").symlink_to(".pnpm/a@1/node_modules/a")
    return root


def test_artifacts_are_reproducible_and_content_addressed(tmp_path: Path) -> None:
    store = tmp_path / "artifacts"
    first = artifacts.pack(_tree(tmp_path / "one"), store, "svc", {"version": "v1"})
    tree_two = _tree(tmp_path / "two")
    os.utime(tree_two / "dist" / "server.js", (1, 1))  # times do not count
    second = artifacts.pack(tree_two, store, "svc", {"version": "v1"})
    assert first.digest == second.digest
    assert first.path.name == f"svc@{first.digest}.tar.gz"
    assert first.digest == "sha256:" + hashlib.sha256(first.path.read_bytes()).hexdigest()

    other = artifacts.pack(tree_two, store, "svc", {"version": "v2"})
    assert other.digest != first.digest
    assert sorted(p.name for p in store.iterdir()) == sorted({first.path.name, other.path.name})

    found = artifacts.find(store, "svc", first.hex)
    assert artifacts.read_manifest(found) == {"version": "v1"}
    release = artifacts.unpack(found, tmp_path / "releases")
    assert (release / "node_modules" / "a").is_symlink()
    assert (release / "dist" / "server.js").read_text() == "console.log('hi')\n"


def test_corrupt_artifact_is_refused(tmp_path: Path) -> None:
    made = artifacts.pack(_tree(tmp_path / "t"), tmp_path / "store", "svc", {"version": "v1"})
    made.path.write_bytes(made.path.read_bytes() + b"tampered")
    with pytest.raises(SandboxError, match="corrupt"):
        artifacts.find(tmp_path / "store", "svc", made.digest)
    with pytest.raises(SandboxUsageError, match="not a digest"):
        artifacts.normalize_digest("sha256:abc")


def test_masked_dsn_hides_the_password() -> None:
    config = SandboxConfig.load("staging", {"SANDBOX_PORT_BASE": "23000"})
    assert "s3cr@t" not in masked_dsn(config)
    assert masked_dsn(config) == "postgresql://postgres:***@127.0.0.1:23000/icupa_staging"
    assert dsn(config, "s3cr@t/x") == "postgresql://postgres:s3cr%40t%2Fx@127.0.0.1:23000/icupa_staging"


def test_port_holder_names_our_own_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free(port)
        assert port_holder(port) == port_holder(port)
        holder = port_holder(port)
        assert holder is not None
        assert holder.startswith(f"pid {os.getpid()} (")
        assert describe_busy_port(port, "web").startswith(f"port {port} on 127.0.0.1 (for web) is already in use")
    assert port_is_free(port)


def test_hs256_token_verifies_with_the_secret() -> None:
    token = hs256_jwt("secret", {"role": "service_role"})
    header, payload, signature = token.split(".")
    expected = hmac.new(b"secret", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {"role": "service_role"}

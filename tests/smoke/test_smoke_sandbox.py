"""The smoke suite end to end against a real, isolated sandbox with every part deployed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sandbox.harness import free_port_base

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 600
VERSION = (REPO / "sandbox" / "VERSION").read_text(encoding="utf-8").strip()


@dataclass
class Staging:
    state_dir: Path
    environ: dict[str, str]

    def sandbox(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sandbox", *args],
            cwd=REPO,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )

    def smoke(self, *args: str, gate: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *args,
                "--release-env",
                "staging",
                "-p",
                "no:cacheprovider",
                "-o",
                f"release_state_dir={self.state_dir / gate}",
            ],
            cwd=REPO,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )


@pytest.fixture
def staging() -> Iterator[Staging]:
    # Not pytest's tmp_path: its parents are 0700, and PostgreSQL runs as another user.
    state_dir = Path(tempfile.mkdtemp(prefix="icupa-smoke-test-"))
    state_dir.chmod(0o755)
    environ = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(state_dir),
        "SANDBOX_PORT_BASE": str(free_port_base()),
        "PYTHONPATH": str(REPO),
    }
    made = Staging(state_dir, environ)
    try:
        yield made
    finally:
        made.sandbox("down", "--env", "staging")
        shutil.rmtree(state_dir, ignore_errors=True)


def test_smoke_suite_against_a_deployed_sandbox(staging: Staging) -> None:
    # A fresh sandbox serves the previous release (its baseline) until the release is deployed:
    # the contracts that expect the release's version fail and name the version served.
    fresh = staging.smoke("smoke/test_endpoints.py", "-x", gate="gate-fresh")
    assert fresh.returncode == 1, fresh.stdout[-3000:]
    assert "v0.0.9" in fresh.stdout, fresh.stdout[-3000:]
    assert "INTERNALERROR" not in fresh.stdout

    for part, *extra in (("functions", "--verify-jwt"), ("agents",), ("web",)):
        done = staging.sandbox("deploy", part, "--version", VERSION, *extra)
        assert done.returncode == 0, f"deploy {part}: {done.stderr[-2000:]}"

    passed = staging.smoke("smoke", "-v", gate="gate-pass")
    assert passed.returncode == 0, passed.stdout[-4000:]
    assert "RELEASE GATE: PASSED" in passed.stdout
    assert "18 passed" in passed.stdout
    assert "test_smoke_endpoint[functions-menu-without-token] PASSED" in passed.stdout

    assert staging.sandbox("fault", "set", "smoke_fail=true").returncode == 0
    failing = staging.smoke("smoke/test_endpoints.py", "-k", "health", gate="gate-fault")
    assert failing.returncode == 1, failing.stdout[-3000:]
    assert "agents-health: GET http://127.0.0.1:" in failing.stdout
    assert "/health: answered 503, expected 200" in failing.stdout
    assert "FAILED smoke/test_endpoints.py::test_smoke_endpoint[functions-health]" in failing.stdout
    assert "RELEASE GATE: BLOCKED at verify_staging/checks" in failing.stdout

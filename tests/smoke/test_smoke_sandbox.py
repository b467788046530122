"""The smoke suite end to end against a real, isolated sandbox with every part deployed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sandbox.harness import CliResult, SandboxHarness, isolated_sandbox

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 600
VERSION = (REPO / "sandbox" / "VERSION").read_text(encoding="utf-8").strip()


@dataclass
class Staging:
    """An isolated sandbox and the smoke suite run against it."""

    box: SandboxHarness

    def sandbox(self, *args: str) -> CliResult:
        return self.box.cli(*args)

    def smoke(self, *args: str, gate: str) -> subprocess.CompletedProcess[str]:
        return self.box.run_gate(*args, "--release-env", "staging", state=gate)


@pytest.fixture
def staging() -> Iterator[Staging]:
    with isolated_sandbox("icupa-smoke-test-") as box:
        yield Staging(box)


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

    # The staging smoke (smoke/test_final_checks.py is production's and is left out).
    passed = staging.smoke("smoke/test_endpoints.py", "smoke/test_playwright.py", "-v", gate="gate-pass")
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

"""The production promotion against a real, isolated sandbox: with no staging sign-off
nothing is deployed to production. (The whole chain, staging then approvals then production,
is tests/test_release_production.py.)
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.harness import SandboxHarness, isolated_sandbox

PRODUCTION_FILES = ("checks/test_deploy_production.py", "smoke/test_final_checks.py", "lighthouse/test_synthetic.py")


@pytest.fixture
def box() -> Iterator[SandboxHarness]:
    """An isolated sandbox (its own state folder and free ports), removed afterwards."""
    with isolated_sandbox("icupa-promotion-") as made:
        yield made


def _ledger_actions(gate_dir: Path) -> dict[str, str]:
    statuses: dict[str, str] = {}
    for path in gate_dir.glob("runs/*/ledger.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record: dict[str, Any] = json.loads(line)
            if record.get("kind") == "action" and record.get("env") == "production":
                statuses[str(record["action"])] = str(record["status"])
    return statuses


def _production(box: SandboxHarness) -> subprocess.CompletedProcess[str]:
    return box.run_gate("-m", "production", "--release-env", "production", *PRODUCTION_FILES, state="gate")


def _phase_row(stdout: str, phase: str) -> list[int]:
    match = re.search(rf"^{phase}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", stdout, re.MULTILINE)
    assert match is not None, f"no {phase} row in the table:\n{stdout[-3000:]}"
    return [int(group) for group in match.groups()]


def test_without_a_staging_signoff_nothing_reaches_production(box: SandboxHarness) -> None:
    done = _production(box)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "RELEASE GATE: BLOCKED at deploy_production/prerequisites (error: " in done.stdout
    assert "no staging gate run of sandbox v0.1.0" in done.stdout
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert _ledger_actions(box.state_dir / "gate") == {}
    passed, failed, gated, skipped, advisory = _phase_row(done.stdout, "deploy_production")
    assert (passed, failed, skipped, advisory) == (0, 3, 0, 0)
    assert gated > 20

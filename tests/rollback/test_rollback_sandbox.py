"""The rollback phase end to end on an isolated sandbox: deploy the release, then roll it back.

One deploy (``checks/test_deploy_staging.py``, about 50 s) is shared by the module: first a
rollback whose previous agents artifact is gone (it must stop, saying what the platform is
left in), then, with the artifact back, a rollback that restores the previous agents digest
and web version and logs itself. The gate's rollback log and incident records go to the
test's own folder (a copy of ``release.toml`` with ``checks.rollback`` pointed there).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sandbox import Sandbox
from tests.sandbox.harness import free_port_base

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300
RELEASE = (REPO / "sandbox" / "VERSION").read_text(encoding="utf-8").strip()
RELEASE_MIGRATION = "20251115090000_release_tenant_region"
PREVIOUS = "v0.0.9"  # targets.sandbox.vars.previous_version: what the baseline deploys


@dataclass
class Deployed:
    state_dir: Path
    environ: dict[str, str]
    config: Path
    log: Path
    incidents: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )

    def gate(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "-m",
            "pytest",
            *args,
            "--release-env",
            "staging",
            "-p",
            "no:cacheprovider",
            "-o",
            f"release_state_dir={self.state_dir / 'gate'}",
            "-o",
            f"release_config={self.config}",
        )

    def versions(self) -> dict[str, Any]:
        done = self.run("-m", "sandbox", "status", "--env", "staging", "--json")
        summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return dict(summary["versions"])


def _config_copy(target: Path, log: Path, incidents: Path) -> None:
    text = (REPO / "release.toml").read_text(encoding="utf-8")
    section = "[targets.sandbox.checks.rollback]\n"
    assert text.count(section) == 1
    head, tail = text.split(section)
    tail = re.sub(r'^log = ".*"$', f'log = "{log}"', tail, count=1, flags=re.MULTILINE)
    tail = re.sub(r'^incidents_dir = ".*"$', f'incidents_dir = "{incidents}"', tail, count=1, flags=re.MULTILINE)
    target.write_text(head + section + tail, encoding="utf-8")


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    # Not pytest's tmp_path: its parents are 0700, and PostgreSQL runs as another user.
    state_dir = Path(tempfile.mkdtemp(prefix="icupa-rollback-test-"))
    state_dir.chmod(0o755)
    environ = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(state_dir),
        "SANDBOX_PORT_BASE": str(free_port_base()),
        "PYTHONPATH": str(REPO),
    }
    made = Deployed(
        state_dir, environ, state_dir / "release.toml", state_dir / "rollback-log.md", state_dir / "incidents"
    )
    _config_copy(made.config, made.log, made.incidents)
    try:
        done = made.gate("checks/test_deploy_staging.py", "-n", "2")
        assert done.returncode == 0, done.stdout[-4000:]
        yield made
    finally:
        made.run("-m", "sandbox", "down", "--env", "staging")
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.mark.order(1)
def test_a_gone_previous_artifact_stops_the_rollback_and_says_what_is_left(deployed: Deployed) -> None:
    before = deployed.versions()
    assert before["agents"] == RELEASE
    digest = before["agents_previous_digest"]
    artifact = deployed.state_dir / "artifacts" / f"agents-service@{digest}.tar.gz"
    kept = deployed.state_dir / "kept.tar.gz"
    artifact.rename(kept)
    try:
        done = deployed.gate("checks/test_rollback.py", "-m", "rollback")
    finally:
        kept.rename(artifact)
    out = done.stdout
    assert done.returncode == 1, out[-4000:]
    assert "RELEASE GATE: BLOCKED at rollback/redeploy" in out
    assert "action agents_redeploy_previous failed" in out
    assert f"the previous artifact {digest} is gone" in out
    assert f"agents-service was NOT rolled back and still serves the release {RELEASE}" in out
    assert "the rollback is incomplete; the platform is left in this state:" in out
    assert f"agents-service serves {RELEASE} (the release, NOT rolled back)" in out
    assert f"web serves {PREVIOUS}" in out
    assert "INTERNALERROR" not in out
    after = deployed.versions()
    assert after["agents"] == RELEASE
    assert after["agents_digest"] == before["agents_digest"]
    assert not deployed.log.exists(), "a blocked rollback must not reach the record step"


@pytest.mark.order(2)
def test_rollback_restores_the_previous_release_and_logs_it(deployed: Deployed) -> None:
    before = deployed.versions()
    done = deployed.gate("checks/test_rollback.py", "-m", "rollback")
    out = done.stdout
    assert done.returncode == 0, out[-5000:]
    assert "RELEASE GATE: PASSED" in out
    assert "11 passed" in out, out[-3000:]
    after = deployed.versions()
    assert after["agents"] == PREVIOUS
    if before["agents"] == RELEASE:
        assert after["agents_digest"] == before["agents_previous_digest"]
    assert after["web"] == PREVIOUS
    log = deployed.log.read_text(encoding="utf-8")
    assert log.startswith("# Rollback log")
    assert f"rollback of {RELEASE} on sandbox/staging" in log
    assert "- why: requested (pytest -m rollback)" in log
    assert "agents_redeploy_previous ok" in log
    assert "error_rate" in log
    assert "lighthouse" in log
    (incident,) = deployed.incidents.glob("rollback-*.json")
    record = json.loads(incident.read_text(encoding="utf-8"))
    assert record["status"] == "open"
    assert record["actions"]["web_redeploy_previous"] == "ok"


def _region_column(deployed: Deployed) -> list[tuple[Any, ...]]:
    dsn = Sandbox.for_env("staging", deployed.environ).dsn()
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        return conn.execute(
            "select column_name from information_schema.columns where table_name = 'tenants' and column_name = 'region'"
        ).fetchall()


@pytest.mark.order(3)
def test_schema_rollback_undoes_what_the_release_push_applied(deployed: Deployed) -> None:
    # The previous release's schema: without the release's migration. Then the release's push.
    rollback = REPO / "sandbox/workspace/supabase/rollbacks" / f"{RELEASE_MIGRATION}_rollback.sql"
    with psycopg.connect(
        Sandbox.for_env("staging", deployed.environ).dsn(), connect_timeout=10, autocommit=True
    ) as conn:
        conn.execute(rollback.read_text(encoding="utf-8"))
    assert _region_column(deployed) == []
    pushed = deployed.gate("checks/test_deploy_staging.py", "-k", "every_migration_is_applied")
    assert pushed.returncode == 0, pushed.stdout[-3000:]
    assert _region_column(deployed) == [("region",)]
    run_dir = max((deployed.state_dir / "gate" / "runs").iterdir())

    done = deployed.run("-m", "sandbox.schema_rollback", "--env", "staging", "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["release_migrations"] == [RELEASE_MIGRATION]
    assert summary["rolled_back"] == [RELEASE_MIGRATION]
    assert summary["remaining"] == []
    assert _region_column(deployed) == []

    again = deployed.run("-m", "sandbox.schema_rollback", "--env", "staging", "--run-dir", str(run_dir))
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["rolled_back"] == []
    assert "the release did not change the schema" in again.stderr
    assert "postgresql://" not in done.stdout + done.stderr + again.stdout + again.stderr

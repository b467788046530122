"""The staging release against a real, isolated sandbox: steps A to D and their faults."""

from __future__ import annotations

import json
import os
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

REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 600


@dataclass
class Release:
    state_dir: Path
    gate_dir: Path
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

    def gate(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "checks/test_deploy_staging.py",
                "--release-env",
                "staging",
                "-p",
                "no:cacheprovider",
                "-o",
                f"release_state_dir={self.gate_dir}",
                *args,
            ],
            cwd=REPO,
            env={**self.environ, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )

    def ledger(self) -> list[dict[str, Any]]:
        (path,) = self.gate_dir.glob("runs/*/ledger.jsonl")
        return [json.loads(line) for line in path.read_text().splitlines()]

    def schema(self) -> list[tuple[Any, ...]]:
        dsn = Sandbox.for_env("staging", self.environ).dsn()
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            columns = conn.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_schema in ('public', 'supabase_migrations') order by 1, 2, 3"
            ).fetchall()
            versions = conn.execute("select version from supabase_migrations.schema_migrations order by 1").fetchall()
        return columns + versions


@pytest.fixture
def release() -> Iterator[Release]:
    # Not pytest's tmp_path: its parents are 0700, and PostgreSQL runs as another user.
    state_dir = Path(tempfile.mkdtemp(prefix="icupa-release-test-"))
    state_dir.chmod(0o755)
    environ = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(state_dir),
        "SANDBOX_PORT_BASE": str(free_port_base()),
        "PYTHONPATH": str(REPO),
    }
    made = Release(state_dir, state_dir / "gate", environ)
    try:
        yield made
    finally:
        made.sandbox("down", "--env", "staging")
        shutil.rmtree(state_dir, ignore_errors=True)


def _statuses(release: Release) -> dict[str, str]:
    return {r["action"]: r["status"] for r in release.ledger() if r.get("kind") == "action"}


def test_staging_steps_a_to_d_deploy_and_verify(release: Release) -> None:
    done = release.gate("-n", "2")
    assert done.returncode == 0, done.stdout[-4000:]
    assert "RELEASE GATE: PASSED" in done.stdout
    assert "20 passed" in done.stdout
    statuses = _statuses(release)
    assert statuses == {
        "platform_up": "ok",
        "db_push": "ok",
        "functions_deploy": "ok",
        "agents_deploy": "ok",
        "web_deploy": "ok",
    }


def test_broken_migration_closes_the_gate_and_leaves_the_database(release: Release) -> None:
    assert release.sandbox("up").returncode == 0
    first = release.sandbox("deploy", "migrations")
    assert first.returncode == 0, first.stderr[-2000:]
    before = release.schema()
    assert release.sandbox("fault", "set", "broken_migration=true").returncode == 0
    done = release.gate()
    assert done.returncode == 1
    assert "RELEASE GATE: BLOCKED at deploy_staging/migrations" in done.stdout
    assert "action db_push failed" in done.stdout
    assert "INTERNALERROR" not in done.stdout
    statuses = _statuses(release)
    assert statuses["db_push"] == "failed"
    assert not {"functions_deploy", "agents_deploy", "web_deploy"} & set(statuses)
    assert release.schema() == before


def test_sandbox_going_away_mid_gate_blocks_with_a_clear_message(release: Release) -> None:
    done = release.gate("-p", "tests.gate_faults", extra_env={"GATE_FAULT_SANDBOX_DOWN_AT": "deploy_staging/agents"})
    assert done.returncode == 1, done.stdout[-3000:]
    assert "RELEASE GATE: BLOCKED at deploy_staging/agents" in done.stdout
    assert "action agents_deploy failed" in done.stdout
    assert "sandbox staging is not up" in done.stdout
    assert "INTERNALERROR" not in done.stdout
    statuses = _statuses(release)
    assert statuses["agents_deploy"] == "failed"
    assert "web_deploy" not in statuses

"""The staging release against a real, isolated sandbox: steps A to D and their faults."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.sandbox.harness import CliResult, SandboxHarness, isolated_sandbox


@dataclass
class Release:
    """An isolated sandbox, and the staging deploy suite run against it."""

    box: SandboxHarness

    @property
    def gate_dir(self) -> Path:
        return self.box.state_dir / "gate"

    def sandbox(self, *args: str) -> CliResult:
        return self.box.cli(*args)

    def gate(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.box.run_gate(
            "checks/test_deploy_staging.py", "--release-env", "staging", *args, state="gate", extra_env=extra_env
        )

    def ledger(self) -> list[dict[str, Any]]:
        (path,) = self.gate_dir.glob("runs/*/ledger.jsonl")
        return [json.loads(line) for line in path.read_text().splitlines()]

    def schema(self) -> list[tuple[Any, ...]]:
        dsn = self.box.api("staging").dsn()
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            columns = conn.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_schema in ('public', 'supabase_migrations') order by 1, 2, 3"
            ).fetchall()
            versions = conn.execute("select version from supabase_migrations.schema_migrations order by 1").fetchall()
        return columns + versions


@pytest.fixture
def release() -> Iterator[Release]:
    with isolated_sandbox("icupa-release-test-") as box:
        yield Release(box)


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

"""The deploy verbs against the real workspace: Supabase CLI, pg_prove, Deno, pnpm builds.

A missing workspace install fails these tests loudly (run bash sandbox/install.sh).
"""

from __future__ import annotations

import tarfile

import httpx
import psycopg
import pytest

from sandbox.layout import SandboxConfig
from tests.sandbox.harness import SandboxHarness


@pytest.fixture
def real_workspace(harness: SandboxHarness) -> SandboxHarness:
    harness.environ.pop("SANDBOX_DENO")
    tools = SandboxConfig.load("staging", harness.environ).tools
    for tool in (tools.deno, tools.supabase):
        assert tool.exists(), f"{tool} is missing: run bash sandbox/install.sh"
    return harness


def _schema_migrations(dsn: str) -> list[str]:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM supabase_migrations.schema_migrations ORDER BY 1")]


def test_migrations_then_broken_migration_leaves_the_database_as_it_was(real_workspace: SandboxHarness) -> None:
    harness = real_workspace
    assert harness.cli("up").returncode == 0
    pushed = harness.cli("deploy", "migrations")
    assert pushed.returncode == 0, pushed.stderr
    counts = pushed.summary["counts"]
    assert isinstance(counts, dict)
    assert counts["tenants"] > 0
    assert counts["tenant_migration_audit"] > 0
    assert [part["name"] for part in pushed.summary["parts"]] == ["db-push", "pgtap", "backfill"]
    sandbox = harness.api()
    password = sandbox.secrets().db_password
    assert password not in pushed.stdout + pushed.stderr
    assert password not in sandbox.paths.log_file("deploy-migrations").read_text()
    applied = _schema_migrations(sandbox.dsn())

    assert harness.cli("fault", "set", "broken_migration=true").returncode == 0
    broken = harness.cli("deploy", "migrations")
    assert broken.returncode == 1
    assert "29991231235959_broken_migration.sql" in broken.stderr
    assert 'column "billing_region" does not exist' in broken.stderr
    assert _schema_migrations(sandbox.dsn()) == applied
    with psycopg.connect(sandbox.dsn(), connect_timeout=5) as conn:
        assert conn.execute("SELECT to_regclass('public.tenant_billing')").fetchone() == (None,)
    # The workspace itself never receives the broken migration.
    assert not (sandbox.config.workspace.migrations_dir / "29991231235959_broken_migration.sql").exists()


def test_functions_deploy_with_jwt_and_restart(real_workspace: SandboxHarness) -> None:
    harness = real_workspace
    assert harness.cli("up").returncode == 0
    sandbox = harness.api()
    health = f"http://127.0.0.1:{harness.port_base + 4}/functions/v1/health"

    first = harness.cli("deploy", "functions", "--version", "v1.0.0")
    assert first.returncode == 0, first.stderr
    assert httpx.get(health, timeout=5).json()["version"] == "v1.0.0"
    functions = harness.cli("deploy", "functions", "--version", "v1.0.1", "--verify-jwt")
    assert functions.returncode == 0, functions.stderr
    assert functions.summary["gap_seconds"] < 30
    menu = f"http://127.0.0.1:{harness.port_base + 4}/functions/v1/menu?tenant=demo-cafe"
    assert httpx.get(menu, timeout=5).status_code == 401
    signed = httpx.get(menu, headers={"Authorization": f"Bearer {sandbox.service_token()}"}, timeout=5)
    assert signed.status_code != 401

    versions = harness.cli("status", "--json").summary["versions"]
    assert (versions["functions"], versions["functions_verify_jwt"]) == ("v1.0.1", True)
    assert harness.cli("down").returncode == 0
    assert harness.cli("up").returncode == 0
    assert httpx.get(health, timeout=5).json()["version"] == "v1.0.1"
    assert httpx.get(menu, timeout=5).status_code == 401


def test_agents_web_deploy_rollback_and_restart(real_workspace: SandboxHarness) -> None:
    harness = real_workspace
    assert harness.cli("up").returncode == 0
    sandbox = harness.api()
    base = harness.port_base

    first = harness.cli("deploy", "agents", "--version", "v1.0.0")
    assert first.returncode == 0, first.stderr
    second = harness.cli("deploy", "agents", "--version", "v1.0.1")
    assert second.returncode == 0, second.stderr
    first_digest, second_digest = first.summary["digest"], second.summary["digest"]
    assert isinstance(first_digest, str)
    assert first_digest.startswith("sha256:")
    assert first_digest != second_digest
    assert second.summary["previous_digest"] == first_digest
    assert second.summary["prometheus_target"] == "up"
    for digest in (first_digest, second_digest):
        artifact = sandbox.paths.artifacts_dir / f"agents-service@{digest}.tar.gz"
        with tarfile.open(artifact) as archive:
            assert {"dist/server.js", "package.json", "node_modules/fastify"} <= set(archive.getnames())
    stable = f"http://127.0.0.1:{base + 3}/health"
    assert httpx.get(stable, timeout=5).json()["version"] == "v1.0.1"

    rolled = harness.cli("rollback", "agents", "--digest", first_digest)
    assert rolled.returncode == 0, rolled.stderr
    assert httpx.get(stable, timeout=5).json()["version"] == "v1.0.0"
    assert rolled.summary["previous_digest"] == second_digest

    web = harness.cli("deploy", "web", "--version", "v1.0.0")
    assert web.returncode == 0, web.stderr
    site = f"http://127.0.0.1:{base + 2}"
    assert httpx.get(f"{site}/__sandbox/health", timeout=5).json()["version"] == "v1.0.0"
    assert httpx.get(f"{site}/sw.js", timeout=5).headers["content-type"] == "text/javascript"
    manifest = httpx.get(f"{site}/manifest.webmanifest", timeout=5)
    assert manifest.headers["content-type"] == "application/manifest+json"

    versions = harness.cli("status", "--json").summary["versions"]
    assert isinstance(versions, dict)
    assert versions["agents"] == "v1.0.0"
    assert versions["agents_digest"] == first_digest
    assert versions["web"] == "v1.0.0"

    # smoke_fail makes /health answer 503 on purpose: `up` must not take that for a dead
    # service and restart it (the gate's smoke checks are the ones meant to catch it).
    assert harness.cli("fault", "set", "smoke_fail=true").returncode == 0
    assert httpx.get(stable, timeout=5).status_code == 503
    steady = harness.cli("up")
    assert steady.returncode == 0, steady.stderr
    assert "already up: every part is healthy" in steady.stderr
    assert harness.cli("fault", "clear").returncode == 0

    # Down then up again brings back what was deployed, on the same ports.
    assert harness.cli("down").returncode == 0
    again = harness.cli("up")
    assert again.returncode == 0, again.stderr
    assert again.summary["awaiting_deploy"] == ["migrations", "functions"]
    assert httpx.get(stable, timeout=5).json()["version"] == "v1.0.0"
    assert httpx.get(f"{site}/__sandbox/health", timeout=5).json()["version"] == "v1.0.0"


def _payment_failures(metrics_url: str, tenant: str) -> str | None:
    """The sample line of the tenant's failed-payments counter, or None when the series is absent."""
    wanted = f'payments_total{{tenant="{tenant}",outcome="failure"}}'
    lines = httpx.get(metrics_url, timeout=5).text.splitlines()
    return next((line for line in lines if line.startswith(wanted)), None)


def test_agents_start_every_tenants_series_at_zero(real_workspace: SandboxHarness) -> None:
    """Tenants from the database reach the service (METRICS_TENANTS), also after down and up,
    so a tenant's first failed payment is an increase Prometheus' rate() can see."""
    harness = real_workspace
    assert harness.cli("up").returncode == 0
    migrations = harness.cli("deploy", "migrations", timeout=300)
    assert migrations.returncode == 0, migrations.stderr
    agents = harness.cli("deploy", "agents", "--version", "v1.0.0", timeout=300)
    assert agents.returncode == 0, agents.stderr
    metrics = f"http://127.0.0.1:{harness.port_base + 3}/metrics"
    assert _payment_failures(metrics, "kigali-bistro") == 'payments_total{tenant="kigali-bistro",outcome="failure"} 0'
    assert _payment_failures(metrics, "icupa-hq") is not None
    assert harness.cli("down").returncode == 0
    assert harness.cli("up").returncode == 0
    assert _payment_failures(metrics, "kigali-bistro") == 'payments_total{tenant="kigali-bistro",outcome="failure"} 0'


def test_deploy_needs_a_running_sandbox(harness: SandboxHarness) -> None:
    result = harness.cli("deploy", "agents", "--version", "v1.0.0", timeout=30)
    assert result.returncode == 1
    assert "sandbox staging is not up (agents-proxy, prometheus not running)" in result.stderr
    assert "python -m sandbox up --env staging" in result.stderr


def test_rollback_to_an_unknown_digest_fails_clearly(harness: SandboxHarness) -> None:
    assert harness.cli("up").returncode == 0
    missing = "sha256:" + "0" * 64
    result = harness.cli("rollback", "agents", "--digest", missing)
    assert result.returncode == 1
    assert f"no artifact agents-service@{missing}.tar.gz" in result.stderr
    assert harness.cli("rollback", "agents", "--digest", "latest").returncode == 2

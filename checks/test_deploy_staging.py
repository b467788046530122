"""Staging deployment, runbook steps A to D: each step's action and its verification."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, sync_playwright

from checks.platform import Platform, PlatformError, action_summary, run_command
from plugin import ActionResult
from plugin.runtime import get_runtime
from plugin.settings import Settings

HTTP_TIMEOUT = httpx.Timeout(10.0)
DB_TIMEOUT_S = 10
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _query(platform: Platform, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(platform.dsn, connect_timeout=DB_TIMEOUT_S) as conn:
        conn.execute(f"set statement_timeout = {DB_TIMEOUT_S * 1000}")
        return conn.execute(sql).fetchall()


def _get_json(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url, headers=headers, timeout=HTTP_TIMEOUT, follow_redirects=False)
    assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text[:200]}"
    return response.json()


def _summary_part(result: ActionResult, name: str) -> dict[str, Any] | None:
    summary = action_summary(result)
    if summary is None:
        return None
    return next((part for part in summary["parts"] if part["name"] == name), None)


def _source_dir(settings: Settings) -> Path:
    if settings.target_name == "sandbox":
        return settings.rootdir / "sandbox" / "workspace"
    repo = os.environ.get("ICUPA_REPO_DIR")
    if not repo:
        pytest.fail("ICUPA_REPO_DIR is not set: the gate needs the release's checkout", pytrace=False)
    return Path(repo)


# --- A. database migrations -------------------------------------------------------------


@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.checklist("deploy_staging.migrations.supabase_link")
def test_database_is_reachable(platform: Platform) -> None:
    ((database,),) = _query(platform, "select current_database()")
    assert database


@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.checklist("deploy_staging.migrations.db_push")
@pytest.mark.checklist("deploy_staging.release_day.schema")
def test_every_migration_is_applied(db_push: ActionResult, platform: Platform, release_settings: Settings) -> None:
    migrations = sorted((_source_dir(release_settings) / "supabase" / "migrations").glob("*.sql"))
    assert migrations, "the release has no migrations folder"
    wanted = {path.name.split("_", 1)[0] for path in migrations}
    applied = {row[0] for row in _query(platform, "select version from supabase_migrations.schema_migrations")}
    assert wanted <= applied, f"not applied: {sorted(wanted - applied)}"


@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.checklist("deploy_staging.migrations.db_test")
def test_database_test_suite_passed(db_push: ActionResult) -> None:
    assert db_push.ok
    part = _summary_part(db_push, "pgtap")
    if part is not None:
        assert part["action"] == "ok", f"pgTAP: {part}"


@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.checklist("deploy_staging.migrations.backfill_tenant_profiles")
def test_every_tenant_has_a_profile(db_push: ActionResult, platform: Platform) -> None:
    rows = _query(
        platform,
        "select t.slug from public.tenants t left join public.tenant_profiles p on p.tenant_id = t.id "
        "where p.tenant_id is null order by t.slug",
    )
    assert rows == [], f"tenants without a profile after the backfill: {[r[0] for r in rows]}"


@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.checklist("deploy_staging.migrations.tenant_migration_audit_counts")
def test_audit_counts_match_the_backfill(db_push: ActionResult, platform: Platform) -> None:
    ((tenants, profiles, audited, duplicates, orphans),) = _query(
        platform,
        """
        select
          (select count(*) from public.tenants),
          (select count(*) from public.tenant_profiles),
          (select count(distinct tenant_id) from public.tenant_migration_audit where action = 'backfill'),
          (select count(*) from (select tenant_id from public.tenant_migration_audit where action = 'backfill'
                                 group by tenant_id having count(*) > 1) d),
          (select count(*) from public.tenant_migration_audit a
             where action = 'backfill' and not exists
               (select 1 from public.tenant_profiles p where p.tenant_id = a.tenant_id))
        """,
    )
    assert profiles == tenants, f"{tenants} tenants but {profiles} profiles"
    assert duplicates == 0, f"{duplicates} tenants were backfilled more than once"
    assert orphans == 0, f"{orphans} backfill audit rows name a tenant without a profile"
    assert audited <= profiles
    summary = action_summary(db_push)
    if summary is not None and summary["counts_before"]["schema_migrations"] == summary["counts"]["schema_migrations"]:
        # No migration ran, so every profile this push added came from the backfill.
        before, after = summary["counts_before"], summary["counts"]
        backfilled = after["tenant_profiles"] - before["tenant_profiles"]
        audit_rows = after["tenant_migration_audit"] - before["tenant_migration_audit"]
        assert backfilled == audit_rows, f"the backfill created {backfilled} profiles but {audit_rows} audit rows"


@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.checklist("deploy_staging.migrations.outputs_documented")
def test_push_outputs_are_recorded(db_push: ActionResult, pytestconfig: pytest.Config) -> None:
    record = get_runtime(pytestconfig).ledger.action_record("db_push")
    assert record is not None, "the ledger has no record of db_push"
    assert record["status"] == "ok"
    assert db_push.log_path is not None
    assert Path(db_push.log_path).stat().st_size > 0, "the push left no output in its log"


# --- B. edge functions ------------------------------------------------------------------


@pytest.mark.phase("deploy_staging", "functions")
@pytest.mark.checklist("deploy_staging.functions.deploy")
@pytest.mark.checklist("deploy_staging.release_day.functions")
def test_functions_serve_the_release(
    functions_deploy: ActionResult, platform: Platform, release_settings: Settings
) -> None:
    health = _get_json(f"{platform.functions_url}/health")
    assert health == {"status": "ok", "version": release_settings.version}


@pytest.mark.phase("deploy_staging", "functions")
@pytest.mark.checklist("deploy_staging.functions.smoke_endpoints")
@pytest.mark.parametrize("path", ["menu?tenant=icupa-hq", "tenant-status?tenant=icupa-hq"])
def test_function_endpoints_answer(functions_deploy: ActionResult, platform: Platform, path: str) -> None:
    payload = _get_json(f"{platform.functions_url}/{path}", platform.service_token)
    assert isinstance(payload, dict)
    assert payload, f"{path} answered an empty document"


@pytest.mark.phase("deploy_staging", "functions")
@pytest.mark.checklist("deploy_staging.functions.logs_verified")
def test_functions_log_has_no_errors(functions_deploy: ActionResult, platform: Platform) -> None:
    try:
        lines = platform.log_text("functions").splitlines()
    except PlatformError as exc:
        pytest.fail(str(exc), pytrace=False)
    bad = [line for line in lines[-200:] if any(word in line for word in ("Uncaught", "panicked", "ERROR"))]
    assert bad == [], "errors in the functions log:\n" + "\n".join(bad[-10:])


# --- C. agents service ------------------------------------------------------------------


@pytest.mark.phase("deploy_staging", "agents")
@pytest.mark.checklist("deploy_staging.agents.pnpm_build")
def test_agents_service_built(agents_deploy: ActionResult) -> None:
    assert agents_deploy.ok
    part = _summary_part(agents_deploy, "build")
    if part is not None:
        assert part["action"] == "ok"


@pytest.mark.phase("deploy_staging", "agents")
@pytest.mark.checklist("deploy_staging.agents.docker_build")
def test_agents_artifact_is_content_addressed(agents_deploy: ActionResult) -> None:
    summary = action_summary(agents_deploy)
    if summary is None:
        assert agents_deploy.ok  # the image was built by the target's own commands
        return
    artifact = Path(summary["artifact"])
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert summary["digest"] == f"sha256:{digest}", "the artifact's content does not match its digest"


@pytest.mark.phase("deploy_staging", "agents")
@pytest.mark.checklist("deploy_staging.agents.docker_push")
def test_agents_artifact_is_stored_for_rollback(agents_deploy: ActionResult) -> None:
    summary = action_summary(agents_deploy)
    if summary is None:
        assert agents_deploy.ok
        return
    store = Path(summary["artifact"]).parent
    assert Path(summary["artifact"]).is_file()
    previous = summary.get("previous_digest")
    if previous:
        assert list(store.glob(f"*@{previous}.tar.gz")), f"the previous artifact {previous} is gone"


@pytest.mark.phase("deploy_staging", "agents")
@pytest.mark.checklist("deploy_staging.agents.kubectl_apply")
@pytest.mark.checklist("deploy_staging.release_day.agents")
def test_agents_service_serves_the_release(
    agents_deploy: ActionResult, platform: Platform, release_settings: Settings
) -> None:
    health = _get_json(f"{platform.agents_url}/health")
    assert health.get("version") == release_settings.version, health
    version = _get_json(f"{platform.agents_url}/version")
    assert version.get("version") == release_settings.version, version


@pytest.mark.phase("deploy_staging", "agents")
@pytest.mark.checklist("deploy_staging.agents.smoke_test")
def test_agents_service_smoke_suite(
    agents_deploy: ActionResult, platform: Platform, release_settings: Settings
) -> None:
    done = run_command(
        ["pnpm", "--filter", "agents-service", "test:smoke"],
        cwd=_source_dir(release_settings),
        env={"AGENTS_URL": platform.agents_url, "EXPECT_VERSION": release_settings.version or ""},
        timeout_s=180,
        masker=release_settings.masker,
    )
    assert done.returncode == 0, f"agents-service test:smoke exited {done.returncode}:\n{done.output[-3000:]}"


@pytest.mark.phase("deploy_staging", "agents")
@pytest.mark.checklist("deploy_staging.agents.grafana_dashboard")
def test_agents_target_is_up_in_prometheus(agents_deploy: ActionResult, platform: Platform) -> None:
    payload = _get_json(f"{platform.prometheus_url}/api/v1/query?query=" + 'up{job="agents-service"}')
    results = payload["data"]["result"]
    assert results, "Prometheus has no agents-service target"
    assert all(result["value"][1] == "1" for result in results), f"agents-service targets down: {results}"


# --- D. web PWA -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield launched
        launched.close()


@pytest.mark.phase("deploy_staging", "web")
@pytest.mark.checklist("deploy_staging.web.build")
def test_web_bundle_built(web_deploy: ActionResult) -> None:
    assert web_deploy.ok
    part = _summary_part(web_deploy, "build")
    if part is not None:
        assert part["action"] == "ok"


@pytest.mark.phase("deploy_staging", "web")
@pytest.mark.checklist("deploy_staging.web.vercel_deploy")
@pytest.mark.checklist("deploy_staging.release_day.web")
def test_web_serves_the_release(web_deploy: ActionResult, platform: Platform, release_settings: Settings) -> None:
    assert _get_json(f"{platform.web_url}/version.json")["version"] == release_settings.version


@pytest.mark.phase("deploy_staging", "web")
@pytest.mark.checklist("deploy_staging.web.env_vars_validated")
def test_web_was_built_with_the_environment_endpoints(web_deploy: ActionResult, platform: Platform) -> None:
    built = _get_json(f"{platform.web_url}/version.json")
    assert built["agents_url"] == platform.agents_url
    assert built["functions_url"] == platform.functions_url


@pytest.mark.phase("deploy_staging", "web")
@pytest.mark.checklist("deploy_staging.web.playwright_smoke")
def test_web_menu_renders_in_chromium(web_deploy: ActionResult, platform: Platform, browser: Browser) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{platform.web_url}/?tenant=icupa-hq#/menu", timeout=30_000)
        page.wait_for_selector("li.item", timeout=30_000)
        assert page.locator("li.item").count() > 0
        meta = page.locator('meta[name="release-version"]').get_attribute("content")
        manifest = page.locator('link[rel="manifest"]').get_attribute("href")
    finally:
        page.close()
    assert meta == json.loads(httpx.get(f"{platform.web_url}/version.json", timeout=HTTP_TIMEOUT).text)["version"]
    assert manifest, "the page links no web app manifest"

"""Production deployment (runbook "Production Deployment"): prerequisites, steps 1 to 4, dashboards.

``pytest -m production --release-env production``. The prerequisites read what the staging
release left (``checks/promotion.py``): its verdict and ledger, the staging Prometheus over the
canary window, the approvals. Only when all of them pass does the gate open the deploy units,
whose actions are in ``checks/actions_production.py``. The smoke, Playwright and Lighthouse
final checks are ``smoke/test_final_checks.py`` and ``lighthouse/test_synthetic.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import allure
import httpx
import pytest

from checks.canary.analysis import CanarySettings, CanarySettingsError, Prometheus, QueryError
from checks.canary.analysis import from_target as canary_from_target
from checks.canary.approvals import Approval, ApprovalError, load_approvals
from checks.platform import Platform, action_summary
from checks.promotion import (
    PromotionError,
    PromotionSettings,
    Signoff,
    approvals_from_comments,
    evaluate_window,
    find_signoff,
    firing_alerts,
    issue_comments,
    judge_approvals,
    staging_prometheus_url,
    write_window,
)
from checks.promotion import from_target as promotion_from_target
from checks.remote.fixtures import Remotes
from checks.remote.settings import CheckSettings, SettingsError
from checks.remote.slack import SlackError, post_webhook

# The staging deploy suite's helpers (its SQL, JSON and action-summary readers).
from checks.test_deploy_staging import _get_json, _query, _source_dir, _summary_part
from plugin import ActionResult
from plugin.allure_support import alluredir
from plugin.runtime import get_runtime
from plugin.settings import Settings

HTTP_TIMEOUT = httpx.Timeout(10.0)


def _attach(config: pytest.Config, name: str, payload: object) -> None:
    if alluredir(config) is not None:
        allure.attach(json.dumps(payload, indent=2), name=name, attachment_type=allure.attachment_type.JSON)


@pytest.fixture(scope="session")
def promotion_settings(release_settings: Settings) -> PromotionSettings:
    try:
        return promotion_from_target(release_settings)
    except PromotionError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def staging_signoff(release_settings: Settings, pytestconfig: pytest.Config) -> Signoff:
    """The staging gate run that signed this release off (its verdict and ledger)."""
    if release_settings.version is None:
        pytest.fail("the release version is unknown: set --release-version", pytrace=False)
    try:
        return find_signoff(
            release_settings.state_dir,
            release_settings.target_name,
            release_settings.version,
            current_run=get_runtime(pytestconfig).run_id,
        )
    except PromotionError as exc:
        pytest.fail(str(exc), pytrace=False)


# --- prerequisites ------------------------------------------------------------------------


@pytest.mark.phase("deploy_production", "prerequisites")
@pytest.mark.checklist("deploy_production.prerequisites.staging_signoff")
def test_staging_signed_off(
    staging_signoff: Signoff, release_settings: Settings, record_property: Any, pytestconfig: pytest.Config
) -> None:
    assert release_settings.env == "production", (
        f"the promotion acts on production; this run acts on {release_settings.env or 'no environment'} "
        "(pytest -m production --release-env production)"
    )
    record_property("staging_signoff", f"run {staging_signoff.run_id} at {staging_signoff.finished_at.isoformat()}")
    _attach(pytestconfig, "staging sign-off (verdict.json)", staging_signoff.verdict)


@pytest.mark.phase("deploy_production", "prerequisites")
@pytest.mark.checklist("deploy_production.prerequisites.canary_stable_12h")
def test_canary_stable_over_the_window(
    staging_signoff: Signoff,
    promotion_settings: PromotionSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    try:
        canary: CanarySettings = canary_from_target(release_settings)
        url = staging_prometheus_url(promotion_settings)
        prometheus = Prometheus(url, canary.query_timeout_s)
        window = evaluate_window(
            prometheus,
            canary.metrics,
            canary.analysis,
            staging_signoff.canary_started_at.timestamp(),
            max_gap_s=promotion_settings.max_gap_s,
            max_clock_skew_s=promotion_settings.max_clock_skew_s,
        )
    except (CanarySettingsError, PromotionError) as exc:
        pytest.fail(f"canary not proven stable: {exc}", pytrace=False)
    run_id = get_runtime(pytestconfig).run_id
    path = release_settings.rootdir / "artifacts" / "observability" / f"canary-window-{run_id}.json"
    extra = {"staging_run": staging_signoff.run_id, "version": release_settings.version, "flag": canary.flag}
    write_window(window, path, extra)
    for name, metric in window.metrics.items():
        _attach(pytestconfig, f"canary window {name} steps", metric.to_dict())
    assert window.passed, (
        f"the canary was not stable over its {canary.analysis.window_s:g}s window "
        f"(staging run {staging_signoff.run_id}; every step in {path}):\n  " + "\n  ".join(window.failures())
    )


def _approvals(settings: PromotionSettings, version: str, request: pytest.FixtureRequest) -> tuple[Approval, ...]:
    source = settings.approvals
    if source.provider == "file":
        assert source.record is not None
        try:
            return load_approvals(source.record, version)
        except ApprovalError as exc:
            pytest.fail(str(exc), pytrace=False)
    assert source.issue is not None
    client = request.getfixturevalue("github")
    try:
        comments = issue_comments(client, source.issue)
        return approvals_from_comments(comments, source.command, source.roles, source.settings.approvers)
    except PromotionError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.phase("deploy_production", "prerequisites")
@pytest.mark.checklist("deploy_production.prerequisites.approvals_logged")
def test_approvals_logged_after_the_signoff(
    staging_signoff: Signoff,
    promotion_settings: PromotionSettings,
    release_settings: Settings,
    request: pytest.FixtureRequest,
    record_property: Any,
) -> None:
    assert release_settings.version is not None
    approvals = _approvals(promotion_settings, release_settings.version, request)
    source = promotion_settings.approvals
    verdict = judge_approvals(approvals, source, staging_signoff, release_settings.version, datetime.now(UTC))
    where = source.record if source.provider == "file" else f"release issue #{source.issue}"
    problems = [*verdict.problems]
    for role, check in verdict.checks.items():
        if check.accepted is None:
            problems.append(f"no valid {role} approval: " + "; ".join(check.problems))
        else:
            record_property(f"{role}_approval", f"{check.accepted.name} at {check.accepted.at.isoformat()}")
    assert verdict.passed, (
        f"approvals for production ({where}; staging signed off at {staging_signoff.finished_at.isoformat()}):\n  "
        + "\n  ".join(problems)
    )


# --- 1. database migrations & backfill ---------------------------------------------------


@pytest.mark.phase("deploy_production", "migrations")
@pytest.mark.checklist("deploy_production.migrations.supabase_link")
def test_linked_to_the_production_database(prod_db_push: ActionResult, platform: Platform) -> None:
    assert platform.env == "production", f"the gate's platform is {platform.env}, not production"
    ((database,),) = _query(platform, "select current_database()")
    if platform.target == "sandbox":
        assert database == "icupa_production", f"linked to {database}, not the production database"


@pytest.mark.phase("deploy_production", "migrations")
@pytest.mark.checklist("deploy_production.migrations.db_push")
def test_every_migration_is_applied_in_production(
    prod_db_push: ActionResult, platform: Platform, release_settings: Settings
) -> None:
    migrations = sorted((_source_dir(release_settings) / "supabase" / "migrations").glob("*.sql"))
    assert migrations, "the release has no migrations folder"
    wanted = {path.name.split("_", 1)[0] for path in migrations}
    applied = {row[0] for row in _query(platform, "select version from supabase_migrations.schema_migrations")}
    assert wanted <= applied, f"not applied in production: {sorted(wanted - applied)}"


@pytest.mark.phase("deploy_production", "migrations")
@pytest.mark.checklist("deploy_production.migrations.backfill_tenant_profiles")
def test_backfill_gave_every_tenant_one_audited_profile(prod_db_push: ActionResult, platform: Platform) -> None:
    ((tenants, profiles, missing, duplicates, orphans),) = _query(
        platform,
        """
        select
          (select count(*) from public.tenants),
          (select count(*) from public.tenant_profiles),
          (select count(*) from public.tenants t
             where not exists (select 1 from public.tenant_profiles p where p.tenant_id = t.id)),
          (select count(*) from (select tenant_id from public.tenant_migration_audit where action = 'backfill'
                                 group by tenant_id having count(*) > 1) d),
          (select count(*) from public.tenant_migration_audit a
             where action = 'backfill' and not exists
               (select 1 from public.tenant_profiles p where p.tenant_id = a.tenant_id))
        """,
    )
    assert missing == 0, f"{missing} of {tenants} production tenants have no profile after the backfill"
    assert profiles == tenants, f"{tenants} tenants but {profiles} profiles"
    assert duplicates == 0, f"{duplicates} tenants were backfilled more than once"
    assert orphans == 0, f"{orphans} backfill audit rows name a tenant without a profile"
    summary = action_summary(prod_db_push)
    if summary is not None and summary["counts_before"]["schema_migrations"] == summary["counts"]["schema_migrations"]:
        before, after = summary["counts_before"], summary["counts"]
        backfilled = after["tenant_profiles"] - before["tenant_profiles"]
        audit_rows = after["tenant_migration_audit"] - before["tenant_migration_audit"]
        assert backfilled == audit_rows, f"the backfill created {backfilled} profiles but {audit_rows} audit rows"
    part = _summary_part(prod_db_push, "backfill")
    if part is not None:
        assert part["action"] == "ok", f"backfill: {part}"


# --- 2. edge functions, --verify-jwt ------------------------------------------------------


@pytest.mark.phase("deploy_production", "functions")
@pytest.mark.checklist("deploy_production.functions.deploy_verify_jwt")
def test_functions_serve_the_release(
    prod_functions_deploy: ActionResult, platform: Platform, release_settings: Settings
) -> None:
    health = _get_json(f"{platform.functions_url}/health")
    assert health == {"status": "ok", "version": release_settings.version}


@pytest.mark.phase("deploy_production", "functions")
@pytest.mark.checklist("deploy_production.functions.deploy_verify_jwt")
@pytest.mark.parametrize("path", ["menu?tenant=icupa-hq", "tenant-status?tenant=icupa-hq"])
def test_functions_verify_jwts(prod_functions_deploy: ActionResult, platform: Platform, path: str) -> None:
    url = f"{platform.functions_url}/{path}"
    refused = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
    assert refused.status_code == 401, (
        f"GET {url} without a token answered {refused.status_code}, not 401: the functions do not verify JWTs"
    )
    assert platform.service_token, "the target gives no service token to call the functions with"
    accepted = _get_json(url, platform.service_token)
    assert isinstance(accepted, dict)
    assert accepted, f"{path} answered an empty document"


# --- 3. agents service --------------------------------------------------------------------


def _artifact_version(artifact: Path) -> str | None:
    """The release an agents artifact was built for (its ``dist/build-info.json``)."""
    with tarfile.open(artifact, "r:gz") as archive:
        member = next((m for m in archive.getmembers() if m.name.lstrip("./") == "dist/build-info.json"), None)
        handle = archive.extractfile(member) if member is not None else None
        if handle is None:
            return None
        version = json.loads(handle.read().decode("utf-8")).get("version")
    return str(version) if version else None


@pytest.mark.phase("deploy_production", "agents")
@pytest.mark.checklist("deploy_production.agents.docker_push")
def test_agents_image_is_stored_by_digest(prod_agents_deploy: ActionResult, release_settings: Settings) -> None:
    summary = action_summary(prod_agents_deploy)
    if summary is None:
        assert prod_agents_deploy.ok  # pushed by the target's own commands
        return
    artifact = Path(summary["artifact"])
    assert artifact.is_file(), f"the pushed artifact {artifact} is gone"
    digest = "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert summary["digest"] == digest, "the artifact's content does not match its digest"
    assert artifact.name.endswith(f"@{digest}.tar.gz"), f"{artifact.name} is not named by its digest"
    built_for = _artifact_version(artifact)
    assert built_for == release_settings.version, f"the artifact {digest} was built for {built_for}"


@pytest.mark.phase("deploy_production", "agents")
@pytest.mark.checklist("deploy_production.agents.kubectl_apply")
def test_agents_service_serves_the_release(
    prod_agents_deploy: ActionResult, platform: Platform, release_settings: Settings
) -> None:
    health = _get_json(f"{platform.agents_url}/health")
    assert health.get("version") == release_settings.version, health
    version = _get_json(f"{platform.agents_url}/version")
    assert version.get("version") == release_settings.version, version
    summary = action_summary(prod_agents_deploy)
    if platform.target == "sandbox" and summary is not None:
        from sandbox import Sandbox  # noqa: PLC0415 - the embedded target, only when it is the target

        versions: dict[str, Any] = Sandbox.for_env("production").status().summary()["versions"]
        assert versions.get("agents_digest") == summary["digest"], (
            f"production runs {versions.get('agents_digest')}, the deploy switched to {summary['digest']}"
        )
        staging: dict[str, Any] = Sandbox.for_env("staging").status().summary()["versions"]
        assert summary["digest"] == staging.get("agents_digest"), (
            f"production runs {summary['digest']}, not the image staging verified ({staging.get('agents_digest')})"
        )


# --- 4. web PWA ---------------------------------------------------------------------------


@pytest.mark.phase("deploy_production", "web")
@pytest.mark.checklist("deploy_production.web.vercel_promote")
def test_web_serves_the_release(prod_web_promote: ActionResult, platform: Platform, release_settings: Settings) -> None:
    built = _get_json(f"{platform.web_url}/version.json")
    assert built["version"] == release_settings.version, f"production web serves {built['version']}"
    assert built["agents_url"] == platform.agents_url, "the PWA calls another agents service than production's"
    assert built["functions_url"] == platform.functions_url, "the PWA calls other functions than production's"


# --- 5. final checks: dashboards and alert channels ---------------------------------------


@pytest.mark.phase("deploy_production", "final_checks")
@pytest.mark.checklist("deploy_production.final_checks.dashboards_alerts_healthy")
def test_dashboards_answer(platform: Platform, release_settings: Settings, pytestconfig: pytest.Config) -> None:
    try:
        canary = canary_from_target(release_settings)
    except CanarySettingsError as exc:
        pytest.fail(str(exc), pytrace=False)
    prometheus = Prometheus(platform.prometheus_url, canary.query_timeout_s)
    problems: list[str] = []
    seen: dict[str, Any] = {}
    for job in (canary.agents_job, canary.functions_job):
        try:
            ups = prometheus.up(job)
        except QueryError as exc:
            problems.append(str(exc))
            continue
        seen[f"up{{job={job!r}}}"] = ups
        if not ups:
            problems.append(f"the production Prometheus has no {job} target")
        elif any(value != "1" for value in ups):
            problems.append(f"{job} targets down: up = {ups}")
    for spec in canary.metrics:
        for kind, query in (("value", spec.query), ("count", spec.count_query)):
            try:
                seen[f"{spec.name} {kind}"] = prometheus.query(query)
            except QueryError as exc:
                problems.append(f"{spec.name} {kind} query: {exc}")
    try:
        firing = firing_alerts(platform.prometheus_url, canary.query_timeout_s)
    except PromotionError as exc:
        problems.append(str(exc))
    else:
        seen["firing alerts"] = firing
        problems += [f"alert firing: {alert}" for alert in firing]
    _attach(pytestconfig, "production dashboards", seen)
    assert problems == [], f"the production dashboards ({platform.prometheus_url}) are not healthy:\n" + "\n".join(
        problems
    )


@pytest.mark.phase("deploy_production", "final_checks")
@pytest.mark.checklist("deploy_production.final_checks.dashboards_alerts_healthy")
def test_alert_channel_takes_a_message(
    remotes: Remotes, check_settings: CheckSettings, release_settings: Settings
) -> None:
    try:
        slack = check_settings.require_slack()
    except SettingsError as exc:
        pytest.fail(str(exc), pytrace=False)
    url = os.environ.get(slack.webhook_env, "")
    if not url:
        pytest.fail(f"the alert channel's webhook variable {slack.webhook_env} is not set", pytrace=False)
    text = (
        f"ICUPA {release_settings.version} is in production ({release_settings.target_name}): "
        f"alert channel check by the release gate, {datetime.now(UTC).isoformat(timespec='seconds')}"
    )
    try:
        post_webhook(url, {"text": text}, timeout_s=slack.timeout_s)
    except SlackError as exc:
        pytest.fail(f"the alert channel {slack.channel} is not healthy: {exc}", pytrace=False)
    if remotes.slack_fake is not None:
        assert any(message.get("text") == text for message in remotes.slack_fake.messages), (
            "the Slack fake answered ok but kept no such message"
        )

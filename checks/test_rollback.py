"""The rollback phase (runbook "Rollback Procedures"): flags, redeploy, schema, verify, record.

Runs with ``pytest -m rollback --release-env staging`` (requested), or in a release run when
the gate closes after something was deployed and the target has ``auto_rollback`` (triggered).
The actions are in ``checks/actions_rollback.py``; each compensates one deploy, so in a
triggered run a part that was not deployed is ``not_needed`` and left as it is. The flags
step turns off the staging canary's flag and the production rollout's flag (every rollout
tenant of ``[targets.<t>.checks.rollout]``); the redeploy step brings back the previous
agents image, edge functions version and web release.

Settings: ``[targets.<t>.checks.rollback]`` (``checks/rollback_settings.py``). Measurements of the
verify step are written to the ledger as ``rollback_measurement`` events, so the record step
finds them under xdist too. The rollback log (``docs/runbooks/rollback-log.md``) and the
incident record (``artifacts/incidents/<run id>.json``, a file: the sandbox has no ticket
system, and for ICUPA it is the record to file in the tracker) are direct writes, each
recorded in the ledger as an event.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import psycopg
import pytest
from filelock import FileLock

from checks.canary.analysis import CanarySettingsError, Prometheus, QueryError, from_target
from checks.platform import Platform, action_summary
from checks.rollback_settings import RollbackSettings, rollback_settings
from checks.rollout import LOG_HEADER, RolloutSettingsError, rollout_settings
from lighthouse.assertions import LighthouseRcError, evaluate, load_lighthouserc
from lighthouse.runner import RunnerConfig, RunnerError, run_lighthouse, summary
from lighthouse.settings import LighthouseSettingsError
from lighthouse.settings import from_table as lighthouse_from_table
from plugin import ActionResult
from plugin.ledger import actor, utc_now
from plugin.runtime import Runtime, get_runtime
from plugin.settings import Settings
from smoke.contracts import SmokeConfigError, expand, load_contracts, smoke_settings
from smoke.runner import Target, run_checks

HTTP_TIMEOUT = httpx.Timeout(10.0)
DB_TIMEOUT_S = 10
ROLLBACK_ACTIONS = (
    "canary_flags_off",
    "rollout_flags_off",
    "agents_redeploy_previous",
    "functions_redeploy_previous",
    "web_redeploy_previous",
    "schema_rollback",
)
REDEPLOY_ACTIONS = ("agents_redeploy_previous", "functions_redeploy_previous", "web_redeploy_previous")
TRAFFIC_BATCH = 10


@pytest.fixture(scope="session")
def rollback_config(release_settings: Settings) -> RollbackSettings:
    return rollback_settings(release_settings)


def _runtime(config: pytest.Config) -> Runtime:
    return get_runtime(config)


def _measure(config: pytest.Config, name: str, value: Any) -> None:
    """A measured value of the rollback, in the ledger (read by the record step, any worker)."""
    _runtime(config).ledger.append({"kind": "event", "event": "rollback_measurement", "name": name, "value": value})


def _measurements(config: pytest.Config) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for record in _runtime(config).ledger.records():
        if record.get("kind") == "event" and record.get("event") == "rollback_measurement":
            found[str(record["name"])] = record.get("value")
    return found


def _served_version(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        pytest.fail(f"GET {url} failed: {type(exc).__name__}: {exc}", pytrace=False)
    if response.status_code != 200:
        pytest.fail(f"GET {url}: HTTP {response.status_code} {response.text[:200]}", pytrace=False)
    try:
        version = response.json().get("version")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def _expected_version(result: ActionResult, url: str, settings: Settings) -> str:
    """The version a part must serve after its redeploy step: the summary's ``to_version``
    (sandbox), else what it serves now, which must not be the release after a real redeploy."""
    summary = action_summary(result)
    if summary is not None and isinstance(summary.get("to_version"), str):
        return str(summary["to_version"])
    served = _served_version(url)
    assert served, f"{url} reports no version"
    if result.status == "ok" and not result.reused and settings.version:
        assert served != settings.version, f"{url} still serves the release {settings.version} after the redeploy"
    return served


# --- flags --------------------------------------------------------------------------------


def _flag_on_for(platform: Platform, flag: str, tenants: list[str]) -> list[str]:
    with psycopg.connect(platform.dsn, connect_timeout=DB_TIMEOUT_S) as conn:
        conn.execute(f"set statement_timeout = {DB_TIMEOUT_S * 1000}")
        rows = conn.execute(
            "select t.slug from public.feature_flags f join public.tenants t on t.id = f.tenant_id "
            "where f.flag = %s and t.slug = any(%s) and f.enabled order by t.slug",
            (flag, tenants),
        ).fetchall()
    return [str(row[0]) for row in rows]


@pytest.mark.phase("rollback", "flags")
@pytest.mark.checklist("rollback.flags.disable")
def test_release_flags_are_off(
    canary_flags_off: ActionResult,
    rollout_flags_off: ActionResult,
    platform: Platform,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    """The staging canary's flag and the production rollout's flag, each off for its tenants."""
    assert canary_flags_off.ok
    assert rollout_flags_off.ok
    target = release_settings.target
    assert target is not None
    measured: list[str] = []
    if canary_flags_off.status == "not_needed":
        measured.append("canary flag not needed: it was not switched on in this run")
    else:
        flag = target.vars.get("canary_flag")
        tenants = [t for t in target.vars.get("canary_tenants", "").split(",") if t]
        assert flag, "the target's vars name no canary_flag"
        assert tenants, "the target's vars name no canary_tenants"
        still_on = _flag_on_for(platform, flag, tenants)
        assert still_on == [], f"flag {flag} is still on for {still_on}"
        measured.append(f"{flag} off for {', '.join(tenants)}")
    if rollout_flags_off.status == "not_needed":
        measured.append("rollout flag not needed: no rollout stage ran in this run")
    else:
        try:
            rollout = rollout_settings(release_settings)
        except RolloutSettingsError as exc:
            pytest.fail(str(exc), pytrace=False)
        tenants = list(rollout.all_tenants)
        still_on = _flag_on_for(platform, rollout.flag, tenants)
        assert still_on == [], f"the rollout flag {rollout.flag} is still on for {still_on}"
        measured.append(f"{rollout.flag} off for all {len(tenants)} rollout tenants")
    _measure(pytestconfig, "flags", "; ".join(measured))


# --- redeploy -----------------------------------------------------------------------------


@pytest.mark.phase("rollback", "redeploy")
@pytest.mark.checklist("rollback.redeploy.previous_image")
def test_agents_serve_the_previous_image(
    agents_redeploy_previous: ActionResult,
    platform: Platform,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    expected = _expected_version(agents_redeploy_previous, f"{platform.agents_url}/health", release_settings)
    assert _served_version(f"{platform.agents_url}/health") == expected
    assert _served_version(f"{platform.agents_url}/version") == expected
    summary = action_summary(agents_redeploy_previous) or {}
    if summary.get("rolled_back"):
        assert summary["platform"]["agents_digest"] == summary["digest"], summary["platform"]
    _measure(pytestconfig, "agents", {"version": expected, "digest": summary.get("digest")})


@pytest.mark.phase("rollback", "redeploy")
@pytest.mark.checklist("rollback.redeploy.previous_image")
def test_web_serves_the_previous_release(
    web_redeploy_previous: ActionResult,
    platform: Platform,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    expected = _expected_version(web_redeploy_previous, f"{platform.web_url}/version.json", release_settings)
    assert _served_version(f"{platform.web_url}/version.json") == expected
    _measure(pytestconfig, "web", {"version": expected})


@pytest.mark.phase("rollback", "redeploy")
@pytest.mark.checklist("rollback.redeploy.previous_image")
def test_functions_serve_the_previous_version(
    functions_redeploy_previous: ActionResult,
    platform: Platform,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    expected = _expected_version(functions_redeploy_previous, f"{platform.functions_url}/health", release_settings)
    assert _served_version(f"{platform.functions_url}/health") == expected
    _measure(pytestconfig, "functions", {"version": expected})


@pytest.mark.phase("rollback", "redeploy")
@pytest.mark.checklist("rollback.redeploy.previous_image")
def test_platform_state_after_the_redeploy_is_known(
    platform: Platform, release_settings: Settings, pytestconfig: pytest.Config
) -> None:
    """Runs last in the step: when a redeploy did not succeed, says what the platform serves now."""
    ledger = _runtime(pytestconfig).ledger
    records = {name: ledger.action_record(name) for name in ROLLBACK_ACTIONS}
    failed = {
        name: record
        for name, record in records.items()
        if name in REDEPLOY_ACTIONS and (record is None or record.get("status") not in ("ok", "not_needed"))
    }
    if not failed:
        return
    lines = ["the rollback is incomplete; the platform is left in this state:"]
    for part, url in (
        ("agents-service", f"{platform.agents_url}/version"),
        ("edge functions", f"{platform.functions_url}/health"),
        ("web", f"{platform.web_url}/version.json"),
    ):
        try:
            response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
            served = response.json().get("version") if response.status_code == 200 else f"HTTP {response.status_code}"
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            served = f"no answer ({type(exc).__name__})"
        release = " (the release, NOT rolled back)" if served == release_settings.version else ""
        lines.append(f"  {part} serves {served}{release}")
    for name, record in records.items():
        status = "did not run" if record is None else f"{record.get('status')}: {record.get('message') or ''}".strip()
        lines.append(f"  {name}: {status}")
    lines.append(
        "  the later rollback steps (schema, verify, record) are skipped: the schema is as the release left it"
    )
    pytest.fail("\n".join(lines), pytrace=False)


# --- schema -------------------------------------------------------------------------------


@pytest.mark.phase("rollback", "schema")
@pytest.mark.checklist("rollback.schema.rollback_migration")
def test_release_schema_is_rolled_back(
    schema_rollback: ActionResult, platform: Platform, pytestconfig: pytest.Config
) -> None:
    assert schema_rollback.ok
    summary = action_summary(schema_rollback)
    if schema_rollback.status == "not_needed" or summary is None:
        _measure(pytestconfig, "schema", schema_rollback.status)
        return
    release = [str(key) for key in summary["release_migrations"]]
    assert summary["remaining"] == [], f"still recorded as applied: {summary['remaining']}"
    assert sorted(summary["rolled_back"]) == sorted(release)
    versions = [key.split("_", 1)[0] for key in release]
    with psycopg.connect(platform.dsn, connect_timeout=DB_TIMEOUT_S) as conn:
        conn.execute(f"set statement_timeout = {DB_TIMEOUT_S * 1000}")
        rows = conn.execute(
            "select version from supabase_migrations.schema_migrations where version = any(%s)", (versions,)
        ).fetchall()
    assert rows == [], f"schema_migrations still has {[row[0] for row in rows]}"
    _measure(pytestconfig, "schema", {"rolled_back": release} if release else "unchanged by the release")


# --- verify -------------------------------------------------------------------------------


@pytest.mark.phase("rollback", "verify")
@pytest.mark.checklist("rollback.verify.smoke_tests")
@pytest.mark.usefixtures("functions_redeploy_previous")
def test_smoke_contracts_answer_with_the_previous_versions(
    agents_redeploy_previous: ActionResult,
    web_redeploy_previous: ActionResult,
    platform: Platform,
    release_settings: Settings,
    request: pytest.FixtureRequest,
) -> None:
    """The smoke suite's contracts, each base expecting the version it must serve now."""
    target = release_settings.target
    try:
        smoke = smoke_settings(
            target.checks.get("smoke") if target is not None else None,
            config_path=release_settings.config_path,
            target=release_settings.target_name,
        )
        checks = expand(load_contracts(release_settings.rootdir / smoke.contracts))
    except SmokeConfigError as exc:
        pytest.fail(str(exc), pytrace=False)
    functions_redeploy_previous: ActionResult = request.getfixturevalue("functions_redeploy_previous")
    functions = _expected_version(functions_redeploy_previous, f"{platform.functions_url}/health", release_settings)
    versions = {
        "agents": _expected_version(agents_redeploy_previous, f"{platform.agents_url}/health", release_settings),
        "web": _expected_version(web_redeploy_previous, f"{platform.web_url}/version.json", release_settings),
        "functions": functions,
    }
    verified = smoke.verify_jwt if isinstance(smoke.verify_jwt, bool) else True
    if smoke.verify_jwt == "auto" and platform.target == "sandbox":
        from sandbox import Sandbox  # noqa: PLC0415 - the embedded target, only when it is the target

        status = Sandbox.for_env(platform.env).status().summary()  # type: ignore[arg-type]
        verified = bool(status["versions"].get("functions_verify_jwt", True))
    bases = {"agents": platform.agents_url, "functions": platform.functions_url, "web": platform.web_url}
    failures: list[str] = []
    for base, version in versions.items():
        mine = [check for check in checks if check.contract.base == base]
        run = Target(bases=bases, version=version, service_token=platform.service_token, jwt_verified=verified)
        results = run_checks(mine, run, max_connections=smoke.max_connections)
        failures.extend(f"{cid}: {r.message}" for cid, r in results.items() if not r.ok)
    _measure(request.config, "smoke", {"checks": len(checks), "failed": len(failures), "versions": versions})
    assert not failures, "smoke contracts failed after the rollback:\n" + "\n".join(failures)


@pytest.mark.phase("rollback", "verify")
@pytest.mark.checklist("rollback.verify.lighthouse")
def test_lighthouse_on_the_previous_release(
    web_redeploy_previous: ActionResult,
    platform: Platform,
    release_settings: Settings,
    rollback_config: RollbackSettings,
    pytestconfig: pytest.Config,
) -> None:
    """The Lighthouse runner and lighthouserc assertions, ``lighthouse_runs`` run(s) per URL."""
    target = release_settings.target
    try:
        settings = lighthouse_from_table(
            target.checks.get("lighthouse") if target is not None else None,
            release_settings.rootdir,
            release_settings.target_name,
        )
        rc = load_lighthouserc(settings.config)
        config = RunnerConfig(
            output_dir=settings.output_dir / "rollback",
            runs=rollback_config.lighthouse_runs,
            parallel=settings.parallel,
            timeout_s=settings.timeout_s,
        )
        runs = run_lighthouse(settings.urls(platform.web_url), config)
    except (LighthouseSettingsError, LighthouseRcError, RunnerError) as exc:
        pytest.fail(str(exc), pytrace=False)
    evaluation = evaluate(rc, runs)
    _measure(pytestconfig, "lighthouse", {r.label: r.scores() for r in runs})
    assert evaluation.passed, "\n".join(evaluation.failures()) + "\n\n" + summary(runs)


@pytest.mark.phase("rollback", "verify")
@pytest.mark.checklist("rollback.verify.metrics_recovered")
def test_error_rate_recovered(
    agents_redeploy_previous: ActionResult,
    platform: Platform,
    release_settings: Settings,
    rollback_config: RollbackSettings,
    pytestconfig: pytest.Config,
) -> None:
    """The canary's error-rate query under its threshold, with enough requests to judge.

    A little traffic (GET /version) keeps the window fed; no data or too few requests by the
    deadline fails as inconclusive, never passes."""
    try:
        canary = from_target(release_settings)
    except CanarySettingsError as exc:
        pytest.fail(str(exc), pytrace=False)
    spec = canary.metric("error_rate")
    prometheus = Prometheus(platform.prometheus_url, canary.query_timeout_s)
    deadline = time.monotonic() + rollback_config.metrics_timeout_s
    count: float | None = None
    value: float | None = None
    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        while True:
            for _ in range(TRAFFIC_BATCH):
                client.get(f"{platform.agents_url}/version")
            try:
                count = prometheus.query(spec.count_query)
                value = prometheus.query(spec.query) if count is not None else None
            except QueryError as exc:
                pytest.fail(f"Prometheus could not answer the error-rate query: {exc}", pytrace=False)
            if count is not None and count >= rollback_config.metrics_min_requests and value is not None:
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"inconclusive: {count or 0:g} requests in the window after "
                    f"{rollback_config.metrics_timeout_s:g}s (at least {rollback_config.metrics_min_requests:g} "
                    "needed); the recovery is not proven",
                    pytrace=False,
                )
            time.sleep(1.0)
    _measure(pytestconfig, "error_rate", {"value": value, "requests": count, "threshold": spec.threshold})
    assert spec.passes(value), f"error rate {value:.4f} over {count:g} requests is not {spec.rule()}"


# --- record -------------------------------------------------------------------------------


def _why(runtime: Runtime) -> str:
    state = runtime.state if not runtime.is_worker else runtime.gate_file.read()
    if state.closed_by is not None:
        closed = state.closed_by
        why = f"{closed.outcome} {closed.nodeid} closed the gate at {closed.unit}"
        return f"{why}; {state.rollback_reason}" if state.rollback_reason else why
    if runtime.rollback_selected:
        return "requested (pytest -m rollback)"
    return "requested"


def _actions(runtime: Runtime) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ROLLBACK_ACTIONS:
        record = runtime.ledger.action_record(name)
        found[name] = "did not run" if record is None else str(record.get("status"))
    return found


def _entry(runtime: Runtime, settings: Settings, when: str, who: dict[str, str], measured: dict[str, Any]) -> str:
    actions = _actions(runtime)
    lines = [
        f"## {when} rollback of {settings.version or '(unknown version)'} on {settings.target_name}/{settings.env}",
        "",
        f"- what: {', '.join(f'{name} {status}' for name, status in actions.items())}",
        f"- why: {_why(runtime)}",
        f"- when: {when}",
        f"- who: {who['user']}@{who['host']} (pid {who['pid']}, worker {who['worker']})",
        f"- run: {runtime.run_id} (ledger {runtime.ledger.path})",
        "- measured:",
    ]
    lines.extend(f"  - {name}: {json.dumps(value, sort_keys=True)}" for name, value in sorted(measured.items()))
    return "\n".join(lines) + "\n"


@pytest.mark.phase("rollback", "record")
@pytest.mark.checklist("rollback.record.rollback_log")
def test_rollback_is_logged(
    pytestconfig: pytest.Config, release_settings: Settings, rollback_config: RollbackSettings
) -> None:
    runtime = _runtime(pytestconfig)
    when, who = utc_now(), actor()
    entry = release_settings.masker.mask(_entry(runtime, release_settings, when, who, _measurements(pytestconfig)))
    path = rollback_config.log
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=60):
        new = not path.exists()
        with path.open("a", encoding="utf-8") as handle:
            if new:
                handle.write(LOG_HEADER)
            handle.write("\n" + entry)
    runtime.ledger.append({"kind": "event", "event": "rollback_log", "path": str(path), "entry": entry, "actor": who})
    assert entry in path.read_text(encoding="utf-8")


@pytest.mark.phase("rollback", "record")
@pytest.mark.checklist("rollback.record.incident_ticket")
def test_incident_is_recorded(
    pytestconfig: pytest.Config, release_settings: Settings, rollback_config: RollbackSettings
) -> None:
    runtime = _runtime(pytestconfig)
    who = actor()
    record = {
        "id": f"rollback-{runtime.run_id}",
        "title": f"Rollback of {release_settings.version or '(unknown version)'} on "
        f"{release_settings.target_name}/{release_settings.env}",
        "status": "open",
        "opened_at": utc_now(),
        "opened_by": who,
        "why": _why(runtime),
        "actions": _actions(runtime),
        "measured": _measurements(pytestconfig),
        "rollback_log": str(rollback_config.log),
        "ledger": str(runtime.ledger.path),
    }
    path = rollback_config.incidents_dir / f"{record['id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = release_settings.masker.mask(json.dumps(record, indent=2, sort_keys=True, default=str))
    path.write_text(text + "\n", encoding="utf-8")
    runtime.ledger.append({"kind": "event", "event": "incident_record", "path": str(path), "actor": who})
    assert json.loads(path.read_text(encoding="utf-8"))["id"] == record["id"]

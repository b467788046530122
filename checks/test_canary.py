"""The staging canary (runbook "Canary Monitoring"): the flag on for the canary tenants, the
dashboard's queries answering, and the SLOs judged from one analysis over the window.

The analysis runs once per gate run, whichever test asks first (under xdist the other
workers wait on a file lock and read its report). Every sample is written to
``artifacts/observability/canary-<run id>.json`` and attached to Allure when it is on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import allure
import psycopg
import pytest
from filelock import FileLock, Timeout

from checks.canary.analysis import (
    CanarySettings,
    CanarySettingsError,
    Prometheus,
    QueryError,
    from_target,
    write_report,
)
from checks.canary.watch import say, watch
from checks.platform import Platform
from plugin import ActionResult
from plugin.allure_support import alluredir
from plugin.runtime import get_runtime
from plugin.settings import Settings

DB_TIMEOUT_S = 10


@pytest.fixture(scope="session")
def canary_settings(release_settings: Settings) -> CanarySettings:
    try:
        return from_target(release_settings)
    except CanarySettingsError as exc:
        pytest.fail(str(exc), pytrace=False)


def _report_path(config: pytest.Config, settings: Settings) -> Path:
    return settings.rootdir / "artifacts" / "observability" / f"canary-{get_runtime(config).run_id}.json"


def _run_analysis(config: pytest.Config, platform: Platform, canary: CanarySettings, settings: Settings) -> Path:
    result, traffic = watch(
        config,
        f"canary {canary.flag}",
        canary,
        prometheus_url=platform.prometheus_url,
        agents_url=platform.agents_url,
        tenants=canary.tenants,
    )
    result.extra = {
        "target": settings.target_name,
        "env": platform.env,
        "version": settings.version,
        "flag": canary.flag,
        "tenants": list(canary.tenants),
        "prometheus_url": platform.prometheus_url,
        "synthetic_traffic": traffic,
    }
    path = write_report(result, _report_path(config, settings))
    say(config, f"canary: {result.verdict.value} after {result.duration_s:.1f}s; samples in {path}")
    return path


@pytest.fixture(scope="session")
def canary_report(
    canary_flags_on: ActionResult,
    platform: Platform,
    canary_settings: CanarySettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """The one analysis of this run, as its JSON report."""
    runtime = get_runtime(pytestconfig)
    path = _report_path(pytestconfig, release_settings)
    analysis = canary_settings.analysis
    budget = analysis.window_s + 600.0
    lock_path = runtime.run_dir / "locks" / "canary-analysis.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock_path), timeout=budget):
            if not path.is_file():
                _run_analysis(pytestconfig, platform, canary_settings, release_settings)
    except Timeout:
        pytest.fail(f"another worker held the canary analysis for more than {budget:g}s", pytrace=False)
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def _attach(config: pytest.Config, name: str, payload: object) -> None:
    if alluredir(config) is not None:
        allure.attach(json.dumps(payload, indent=2), name=name, attachment_type=allure.attachment_type.JSON)


def _judge(report: dict[str, Any], name: str, config: pytest.Config) -> None:
    metric = report["metrics"][name]
    _attach(config, f"canary {name} samples", metric)
    samples = metric["samples"]
    tail = "\n".join(f"  {s['at']} {s['outcome']:<12} {s['raw'] or '-'} {s['message']}" for s in samples[-6:])
    assert metric["verdict"] == "passed", (
        f"canary {name} {metric['verdict']} ({metric['rule']}, {metric['counts']}): {metric['reason']}\n"
        f"last samples:\n{tail}"
    )


# --- flags and dashboard ------------------------------------------------------------------


@pytest.mark.phase("verify_staging", "canary")
@pytest.mark.checklist("verify_staging.canary.flags_enabled")
def test_flag_is_on_for_the_canary_tenants(
    canary_flags_on: ActionResult, platform: Platform, canary_settings: CanarySettings
) -> None:
    with psycopg.connect(platform.dsn, connect_timeout=DB_TIMEOUT_S) as conn:
        conn.execute(f"set statement_timeout = {DB_TIMEOUT_S * 1000}")
        rows = conn.execute(
            "select t.slug, f.enabled, f.updated_by from public.tenants t "
            "left join public.feature_flags f on f.tenant_id = t.id and f.flag = %s "
            "where t.slug = any(%s) order by t.slug",
            (canary_settings.flag, list(canary_settings.tenants)),
        ).fetchall()
    found = {slug: (enabled, by) for slug, enabled, by in rows}
    missing = [tenant for tenant in canary_settings.tenants if tenant not in found]
    assert missing == [], f"canary tenants unknown to the database: {missing}"
    off = [f"{slug} (enabled={enabled})" for slug, (enabled, _) in found.items() if enabled is not True]
    assert off == [], f"{canary_settings.flag} is not on for: {', '.join(off)}"


@pytest.mark.phase("verify_staging", "canary")
@pytest.mark.checklist("verify_staging.canary.dashboard")
def test_dashboard_queries_answer(platform: Platform, canary_settings: CanarySettings) -> None:
    prometheus = Prometheus(platform.prometheus_url, canary_settings.query_timeout_s)
    problems = []
    for job in (canary_settings.agents_job, canary_settings.functions_job):
        try:
            ups = prometheus.up(job)
        except QueryError as exc:
            problems.append(str(exc))
            continue
        if not ups:
            problems.append(f"Prometheus has no {job} target")
        elif any(value != "1" for value in ups):
            problems.append(f"{job} targets down: up = {ups}")
    for spec in canary_settings.metrics:
        for kind, query in (("value", spec.query), ("count", spec.count_query)):
            try:
                prometheus.query(query)
            except QueryError as exc:
                problems.append(f"{spec.name} {kind} query: {exc}")
    assert problems == [], "the canary dashboard does not answer:\n" + "\n".join(problems)


# --- the SLOs, from one analysis ---------------------------------------------------------


@pytest.mark.phase("verify_staging", "canary")
@pytest.mark.checklist("verify_staging.canary.error_rate")
def test_canary_error_rate(canary_report: dict[str, Any], pytestconfig: pytest.Config) -> None:
    _judge(canary_report, "error_rate", pytestconfig)


@pytest.mark.phase("verify_staging", "canary")
@pytest.mark.checklist("verify_staging.canary.latency_p95")
def test_canary_latency_p95(canary_report: dict[str, Any], pytestconfig: pytest.Config) -> None:
    _judge(canary_report, "latency_p95", pytestconfig)


@pytest.mark.phase("verify_staging", "canary")
@pytest.mark.checklist("verify_staging.canary.guardrail_breaches")
def test_canary_guardrail_breaches(canary_report: dict[str, Any], pytestconfig: pytest.Config) -> None:
    _judge(canary_report, "guardrail_breaches", pytestconfig)


@pytest.mark.phase("verify_staging", "canary")
@pytest.mark.checklist("verify_staging.canary.payments_success")
def test_canary_payments_success(canary_report: dict[str, Any], pytestconfig: pytest.Config) -> None:
    _judge(canary_report, "payments_success", pytestconfig)


@pytest.mark.phase("verify_staging", "canary")
@pytest.mark.checklist("verify_staging.canary.monitor_12h")
def test_canary_covered_the_whole_window(
    canary_report: dict[str, Any], canary_settings: CanarySettings, pytestconfig: pytest.Config
) -> None:
    _attach(pytestconfig, "canary analysis", canary_report)
    analysis = canary_settings.analysis
    assert canary_report["completed"], (
        f"the canary was not watched for its whole {analysis.window_s:g}s window: "
        f"stopped after {canary_report['duration_s']}s ({canary_report['stopped_reason']})"
    )
    assert canary_report["duration_s"] >= analysis.window_s - analysis.interval_s, canary_report["duration_s"]
    short = {
        name: metric["counts"]["pass"] + metric["counts"]["fail"]
        for name, metric in canary_report["metrics"].items()
        if metric["counts"]["pass"] + metric["counts"]["fail"] < analysis.min_conclusive_samples
    }
    assert short == {}, f"too few conclusive samples (minimum {analysis.min_conclusive_samples}): {short}"

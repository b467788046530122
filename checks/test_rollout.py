"""The phased rollout (runbook "Phased Rollout & Feature Flags" and "Canary Monitoring").

Stages ``internal -> pilot -> low_volume_ga -> full_ga``, one unit each. In every stage:

- the stage's action turns the rollout flag on for the stage's tenants with the flags CLI;
- the flag is on for exactly the tenants of this and the earlier stages (read in the
  database); a CLI that failed part-way ends the stage with the tenants it did and did not
  change;
- the change is recorded: a ``flag_change`` ledger event (time, owner, flag, tenants, the
  CLI's per-tenant changes), an entry in the rollback log and one in the release ticket;
- the canary analysis runs once for the stage's tenants over the stage's window (synthetic
  traffic on the sandbox), and each SLO is judged from it;
- an observability snapshot (the samples, the metrics' current values, the scrape targets'
  ``up`` state) is kept as ``artifacts/observability/rollout-<stage>-<run id>.json``.

A failed stage closes the gate at the end of its unit, so the later stages (and their flag
changes) are skipped. Settings: ``checks/rollout.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import allure
import psycopg
import pytest
from filelock import FileLock, Timeout

from checks.canary.analysis import (
    METRICS,
    CanarySettingsError,
    Prometheus,
)
from checks.canary.watch import say, watch
from checks.platform import Platform
from checks.rollback_settings import RollbackSettings
from checks.rollout import (
    LOG_HEADER,
    STAGES,
    TICKET_HEADER,
    RolloutSettings,
    append_record,
    canary_for,
    flag_change_entry,
    flag_changes_in_log,
    flag_on_tenants,
    flag_states,
    metrics_snapshot,
    partial_change_message,
    snapshot_problems,
    write_json,
)
from plugin import ActionResult
from plugin.allure_support import alluredir
from plugin.ledger import actor, utc_now
from plugin.runtime import get_runtime
from plugin.settings import Settings

LOCK_SLACK_S = 600.0


def _attach(config: pytest.Config, name: str, payload: object) -> None:
    if alluredir(config) is not None:
        allure.attach(
            json.dumps(payload, indent=2, default=str), name=name, attachment_type=allure.attachment_type.JSON
        )


def _stage_action(request: pytest.FixtureRequest, stage: str) -> ActionResult:
    result: ActionResult = request.getfixturevalue(f"rollout_{stage}")
    if result.planned:
        pytest.skip(f"dry run: the {stage} flag change was planned, not made")
    return result


def _log_text(result: ActionResult) -> str:
    if result.log_path is None:
        return result.output_tail
    try:
        return Path(result.log_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return result.output_tail


# --- the flag change -------------------------------------------------------------------------


def _record_change(
    config: pytest.Config,
    stage: str,
    *,
    rollout: RolloutSettings,
    log: RollbackSettings,
    settings: Settings,
    changes: list[dict[str, Any]],
    outcome: str,
) -> dict[str, Any]:
    """The stage's flag change in the ledger, the rollback log and the release ticket, once per run."""
    runtime = get_runtime(config)
    lock = runtime.run_dir / "locks" / f"rollout-record-{stage}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=120):
        for record in runtime.ledger.records():
            if record.get("event") == "flag_change" and record.get("stage") == stage:
                return record
        when, who = utc_now(), actor()
        entry = flag_change_entry(
            when=when,
            stage=stage,
            version=settings.version or "(unknown version)",
            where=f"{settings.target_name}/{settings.env}",
            flag=rollout.flag,
            tenants=rollout.stages[stage],
            changes=changes,
            outcome=outcome,
            owner=rollout.owner,
            who=who,
            run=f"{runtime.run_id} (ledger {runtime.ledger.path})",
        )
        entry = settings.masker.mask(entry)
        append_record(log.log, entry, LOG_HEADER)
        header = TICKET_HEADER.format(version=settings.version or "(unknown version)")
        append_record(rollout.ticket, entry, header)
        return runtime.ledger.append(
            {
                "kind": "event",
                "event": "flag_change",
                "stage": stage,
                "flag": rollout.flag,
                "tenants": list(rollout.stages[stage]),
                "owner": rollout.owner,
                "changed_at": when,
                "outcome": outcome,
                "changes": changes,
                "actor": who,
                "rollback_log": str(log.log),
                "ticket": str(rollout.ticket),
                "entry": entry,
            }
        )


def check_flags(
    request: pytest.FixtureRequest,
    stage: str,
    *,
    platform: Platform,
    rollout: RolloutSettings,
    log: RollbackSettings,
    settings: Settings,
) -> None:
    """The flag is on for exactly this and the earlier stages' tenants; a failed CLI is
    reported with the stage's tenants it did and did not change."""
    __tracebackhide__ = True
    tenants = rollout.stages[stage]
    try:
        _stage_action(request, stage)
    except pytest.fail.Exception as exc:
        try:
            states = flag_states(platform.dsn, rollout.flag, tenants)
        except psycopg.Error:
            states = None
        changed = [] if states is None else [t for t in tenants if states[t].enabled is True]
        _record_change(
            request.config,
            stage,
            rollout=rollout,
            log=log,
            settings=settings,
            changes=[{"tenant": t, "changed": True} for t in changed],
            outcome=f"FAILED part-way, on for {len(changed)} of {len(tenants)}",
        )
        pytest.fail(partial_change_message(stage, rollout.flag, tenants, states, str(exc.msg)), pytrace=False)
    expected = sorted(rollout.cumulative(stage))
    try:
        states = flag_states(platform.dsn, rollout.flag, expected)
        on = flag_on_tenants(platform.dsn, rollout.flag)
    except psycopg.Error as exc:
        pytest.fail(f"cannot read the flags of stage {stage} from the database: {exc}", pytrace=False)
    unknown = [t for t in expected if not states[t].known]
    assert unknown == [], f"rollout tenants unknown to the database: {unknown}"
    off = [states[t].describe() for t in expected if states[t].enabled is not True]
    assert off == [], f"{rollout.flag} is not on for: {', '.join(off)}"
    beyond = sorted(set(on) - set(expected))
    assert beyond == [], (
        f"{rollout.flag} is on for tenants beyond stage {stage}: {', '.join(beyond)} "
        "(the rollout must widen one stage at a time)"
    )


def check_change_recorded(
    config: pytest.Config,
    stage: str,
    *,
    result: ActionResult,
    rollout: RolloutSettings,
    log: RollbackSettings,
    settings: Settings,
) -> None:
    if result.planned:
        pytest.skip(f"dry run: the {stage} flag change was planned, not made or recorded")
    changes = flag_changes_in_log(_log_text(result))
    record = _record_change(
        config, stage, rollout=rollout, log=log, settings=settings, changes=changes, outcome=f"action {result.status}"
    )
    action = get_runtime(config).ledger.action_record(f"rollout_{stage}")
    assert action is not None, f"the ledger has no rollout_{stage} record"
    assert action.get("executed"), f"the ledger's rollout_{stage} record did not execute: {action.get('status')}"
    assert record["owner"], record
    assert record["changed_at"], record
    assert record["flag"] == rollout.flag
    assert record["tenants"] == list(rollout.stages[stage])
    entry = str(record["entry"])
    assert entry in log.log.read_text(encoding="utf-8"), f"the {stage} entry is not in {log.log}"
    assert entry in rollout.ticket.read_text(encoding="utf-8"), f"the {stage} entry is not in {rollout.ticket}"


def check_flags_cli(stage: str, result: ActionResult, rollout: RolloutSettings) -> None:
    if result.planned:
        pytest.skip("dry run: the flags CLI was not run")
    changes = {str(c.get("tenant")): c for c in flag_changes_in_log(_log_text(result))}
    missing = [t for t in rollout.stages[stage] if t not in changes]
    assert missing == [], f"the flags CLI reported no change for {missing}; its output:\n{result.output_tail}"
    wrong = [t for t, c in changes.items() if c.get("flag") != rollout.flag or c.get("enabled") is not True]
    assert wrong == [], f"the flags CLI did not enable {rollout.flag} for {wrong}"


# --- the stage's analysis ---------------------------------------------------------------------


def snapshot_path(config: pytest.Config, rollout: RolloutSettings, stage: str) -> Path:
    return rollout.snapshot_dir / f"rollout-{stage}-{get_runtime(config).run_id}.json"


def _run_stage_analysis(
    config: pytest.Config, stage: str, platform: Platform, rollout: RolloutSettings, settings: Settings
) -> None:
    tenants = rollout.stages[stage]
    try:
        canary = canary_for(settings, tenants, rollout.window_s, rollout.analysis)
    except CanarySettingsError as exc:
        pytest.fail(f"rollout {stage}: {exc}", pytrace=False)
    prometheus = Prometheus(platform.prometheus_url, canary.query_timeout_s)
    result, traffic = watch(
        config,
        f"rollout {stage} ({rollout.flag} on)",
        canary,
        prometheus_url=platform.prometheus_url,
        agents_url=platform.agents_url,
        tenants=tenants,
    )
    runtime = get_runtime(config)
    taken = time.time()
    snapshot = metrics_snapshot(canary, prometheus, taken)
    report = {
        "kind": "rollout observability snapshot",
        "stage": stage,
        "target": settings.target_name,
        "env": platform.env,
        "version": settings.version,
        "run_id": runtime.run_id,
        "flag": rollout.flag,
        "tenants": list(tenants),
        "flag_on_for": list(rollout.cumulative(stage)),
        "prometheus_url": platform.prometheus_url,
        "synthetic_traffic": traffic,
        "analysis": result.to_dict(),
        "snapshot": {"taken_at": utc_now(), "epoch": taken, **snapshot},
    }
    path = write_json(snapshot_path(config, rollout, stage), report)
    runtime.ledger.append({"kind": "event", "event": "observability_snapshot", "stage": stage, "path": str(path)})
    say(config, f"rollout {stage}: {result.verdict.value} after {result.duration_s:.1f}s; snapshot in {path}")


def stage_report(
    request: pytest.FixtureRequest, stage: str, platform: Platform, rollout: RolloutSettings, settings: Settings
) -> dict[str, Any]:
    """The stage's analysis and snapshot: run once per run (under a lock shared by the
    workers), after the stage's flag change; read back by every test of the stage."""
    _stage_action(request, stage)
    config = request.config
    path = snapshot_path(config, rollout, stage)
    budget = rollout.window_s + LOCK_SLACK_S
    lock = get_runtime(config).run_dir / "locks" / f"rollout-{stage}-analysis.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock), timeout=budget):
            if not path.is_file():
                _run_stage_analysis(config, stage, platform, rollout, settings)
    except Timeout:
        pytest.fail(f"another worker held the {stage} analysis for more than {budget:g}s", pytrace=False)
    try:
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        pytest.fail(f"the {stage} snapshot {path} is unreadable: {exc}", pytrace=False)
    return report


def judge_slo(report: dict[str, Any], stage: str, metric: str, config: pytest.Config) -> None:
    __tracebackhide__ = True
    found = report["analysis"]["metrics"].get(metric)
    assert found is not None, f"the {stage} analysis has no {metric} metric"
    _attach(config, f"rollout {stage} {metric} samples", found)
    tail = "\n".join(f"  {s['at']} {s['outcome']:<12} {s['raw'] or '-'} {s['message']}" for s in found["samples"][-6:])
    assert found["verdict"] == "passed", (
        f"rollout {stage}: {metric} {found['verdict']} ({found['rule']}, {found['counts']}): {found['reason']}\n"
        f"last samples:\n{tail}"
    )


def check_snapshot(report: dict[str, Any], stage: str, rollout: RolloutSettings, config: pytest.Config) -> None:
    __tracebackhide__ = True
    _attach(config, f"rollout {stage} observability snapshot", report)
    analysis = report["analysis"]
    samples = sum(len(m["samples"]) for m in analysis["metrics"].values())
    assert samples > 0, f"the {stage} snapshot holds no samples"
    assert report["tenants"] == list(rollout.stages[stage])
    assert analysis["completed"], (
        f"the {stage} analysis stopped after {analysis['duration_s']}s of {rollout.window_s:g}s: "
        f"{analysis['stopped_reason']}"
    )
    problems = snapshot_problems(report["snapshot"])
    assert problems == [], f"the {stage} snapshot does not show the platform's state:\n" + "\n".join(problems)


# --- the stages ------------------------------------------------------------------------------


@pytest.mark.phase("rollout", "internal")
@pytest.mark.checklist("rollout.internal.flags_cli")
def test_internal_flags_cli_enabled_the_flag(rollout_internal: ActionResult, rollout_config: RolloutSettings) -> None:
    check_flags_cli("internal", rollout_internal, rollout_config)


def _per_stage(item: str) -> list[Any]:
    """One parameter per stage, marked with the stage's unit and its checklist item."""
    return [
        pytest.param(
            stage,
            id=stage,
            marks=[pytest.mark.phase("rollout", stage), pytest.mark.checklist(f"rollout.{stage}.{item}")],
        )
        for stage in STAGES
    ]


@pytest.mark.parametrize("stage", _per_stage("flags_enabled"))
def test_flag_is_on_for_exactly_the_stages_tenants(
    stage: str, request: pytest.FixtureRequest, platform: Platform, rollout_config: RolloutSettings
) -> None:
    check_flags(
        request,
        stage,
        platform=platform,
        rollout=rollout_config,
        log=request.getfixturevalue("rollout_log"),
        settings=request.getfixturevalue("release_settings"),
    )


@pytest.mark.parametrize("stage", _per_stage("flags_enabled"))
@pytest.mark.parametrize("metric", METRICS)
def test_stage_slo(
    stage: str, metric: str, request: pytest.FixtureRequest, platform: Platform, rollout_config: RolloutSettings
) -> None:
    report = stage_report(request, stage, platform, rollout_config, request.getfixturevalue("release_settings"))
    judge_slo(report, stage, metric, request.config)


@pytest.mark.parametrize("stage", _per_stage("flag_change_recorded"))
def test_flag_change_is_recorded(
    stage: str,
    request: pytest.FixtureRequest,
    rollout_config: RolloutSettings,
    rollout_log: RollbackSettings,
    release_settings: Settings,
) -> None:
    result: ActionResult = request.getfixturevalue(f"rollout_{stage}")
    check_change_recorded(
        request.config, stage, result=result, rollout=rollout_config, log=rollout_log, settings=release_settings
    )


@pytest.mark.parametrize("stage", _per_stage("observability_snapshot"))
def test_observability_snapshot(
    stage: str,
    request: pytest.FixtureRequest,
    platform: Platform,
    rollout_config: RolloutSettings,
    release_settings: Settings,
) -> None:
    report = stage_report(request, stage, platform, rollout_config, release_settings)
    check_snapshot(report, stage, rollout_config, request.config)

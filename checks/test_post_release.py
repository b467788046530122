"""Post-release (runbook "Post-Release", "On-Call & Communication"): watch, archive, record, hand off.

monitor: the SLOs watched on production over ``thresholds.alert_window_s`` for every rollout
tenant (the canary analysis, progress on the terminal, every sample kept in
``artifacts/observability/monitor-<run id>.json``); the on-call owner named and recorded.

records: the Grafana stand-in (the ICUPA/rollout queries' values from Prometheus plus this
run's observability snapshots; the sandbox has no Grafana), the Lighthouse reports and the
coverage reports archived with SHA-256 checksums under one folder per release, each checksum
verified; the CHANGELOG's section for the release and an outcomes document; the rollout and
the release's incidents in the rollback log; a retro record when an incident occurred; the
#release and #status notices (Slack incoming webhooks: loopback fakes on the sandbox); the
handoff note in the rollback log and the release ticket. Settings: ``checks/post_release.py``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock, Timeout

from checks.artifacts import ArtifactError
from checks.artifacts.archive import archive, ledger_event
from checks.canary.analysis import (
    CanarySettings,
    CanarySettingsError,
    Prometheus,
)
from checks.canary.watch import say, watch
from checks.platform import Platform
from checks.post_release import (
    PostReleaseSettings,
    changelog_entries,
    files_to_archive,
    handoff_entry,
    incidents_entry,
    lighthouse_files,
    post_release_settings,
    release_incidents,
    verify_sums,
)
from checks.remote.fakes import FakeSlack
from checks.remote.slack import SlackError, mask_webhook, post_webhook
from checks.rollback_settings import RollbackSettings
from checks.rollout import (
    LOG_HEADER,
    STAGES,
    TICKET_HEADER,
    RolloutSettings,
    RolloutSettingsError,
    append_record,
    canary_for,
    metrics_snapshot,
    snapshot_problems,
    write_json,
)
from plugin.ledger import actor, utc_now
from plugin.runtime import get_runtime
from plugin.settings import Settings

LOCK_SLACK_S = 600.0


@pytest.fixture(scope="session")
def post_release(release_settings: Settings) -> PostReleaseSettings:
    """``[targets.<t>.checks.post_release]``, validated."""
    try:
        return post_release_settings(release_settings)
    except RolloutSettingsError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def watched(
    release_settings: Settings, rollout_config: RolloutSettings, post_release: PostReleaseSettings
) -> CanarySettings:
    """The canary analysis for every rollout tenant over the alert window."""
    assert release_settings.target is not None
    window = release_settings.target.thresholds.alert_window_s
    try:
        return canary_for(release_settings, rollout_config.all_tenants, window, post_release.analysis)
    except CanarySettingsError as exc:
        pytest.fail(f"post-release monitor: {exc}", pytrace=False)


def _dry_run(settings: Settings, what: str) -> None:
    if settings.dry_run:
        pytest.skip(f"dry run: {what} planned, not done")


def _run_id(config: pytest.Config) -> str:
    return get_runtime(config).run_id


def _where(settings: Settings) -> str:
    return f"{settings.target_name}/{settings.env}"


def _once(config: pytest.Config, name: str, make: Any) -> dict[str, Any]:
    """The ledger event ``name`` of this run, made by ``make()`` the first time (any worker)."""
    runtime = get_runtime(config)
    lock = runtime.run_dir / "locks" / f"post-release-{name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=120):
        for record in runtime.ledger.records():
            if record.get("kind") == "event" and record.get("event") == name:
                return record
        return runtime.ledger.append({"kind": "event", "event": name, **make()})


# --- monitor ------------------------------------------------------------------------------------


def _monitor_path(config: pytest.Config, rollout_config: RolloutSettings) -> Path:
    return rollout_config.snapshot_dir / f"monitor-{_run_id(config)}.json"


def _watch(config: pytest.Config, platform: Platform, canary: CanarySettings, settings: Settings, path: Path) -> None:
    result, traffic = watch(
        config,
        f"monitor ({platform.env})",
        canary,
        prometheus_url=platform.prometheus_url,
        agents_url=platform.agents_url,
        tenants=canary.tenants,
    )
    result.extra = {
        "kind": "post-release alert watch",
        "target": settings.target_name,
        "env": platform.env,
        "version": settings.version,
        "run_id": _run_id(config),
        "tenants": list(canary.tenants),
        "synthetic_traffic": traffic,
    }
    write_json(path, result.to_dict())
    say(config, f"monitor: {result.verdict.value} after {result.duration_s:.1f}s; samples in {path}")


@pytest.fixture(scope="session")
def monitor_report(
    platform: Platform,
    watched: CanarySettings,
    rollout_config: RolloutSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """The one alert watch of this run, as its JSON report."""
    path = _monitor_path(pytestconfig, rollout_config)
    budget = watched.analysis.window_s + LOCK_SLACK_S
    lock = get_runtime(pytestconfig).run_dir / "locks" / "post-release-monitor.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock), timeout=budget):
            if not path.is_file():
                _watch(pytestconfig, platform, watched, release_settings, path)
    except Timeout:
        pytest.fail(f"another worker held the alert watch for more than {budget:g}s", pytrace=False)
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


@pytest.mark.phase("post_release", "monitor")
@pytest.mark.checklist("post_release.monitor.alerts_24h")
def test_no_slo_alert_over_the_window(monitor_report: dict[str, Any], watched: CanarySettings) -> None:
    window = watched.analysis.window_s
    assert monitor_report["completed"], (
        f"the SLOs were not watched for the whole {window:g}s: stopped after {monitor_report['duration_s']}s "
        f"({monitor_report['stopped_reason']})"
    )
    assert monitor_report["duration_s"] >= window - watched.analysis.interval_s, monitor_report["duration_s"]
    alerts = [
        f"{name} {metric['verdict']} ({metric['rule']}, {metric['counts']}): {metric['reason']}"
        for name, metric in monitor_report["metrics"].items()
        if metric["verdict"] != "passed"
    ]
    assert alerts == [], "SLO alerts in the post-release window:\n" + "\n".join(alerts)


@pytest.mark.phase("post_release", "monitor")
@pytest.mark.checklist("post_release.monitor.oncall_owns_window")
def test_oncall_owns_the_window(
    monitor_report: dict[str, Any], post_release: PostReleaseSettings, pytestconfig: pytest.Config
) -> None:
    record = _once(
        pytestconfig,
        "oncall_window",
        lambda: {
            "owner": post_release.oncall,
            "window_started": monitor_report["started_at"],
            "window_s": monitor_report["config"]["window_s"],
            "actor": actor(),
        },
    )
    assert record["owner"] == post_release.oncall, record


@pytest.mark.phase("post_release", "monitor")
@pytest.mark.checklist("post_release.monitor.oncall_monitors_dashboards")
def test_oncall_dashboards_answer(
    monitor_report: dict[str, Any],
    watched: CanarySettings,
    platform: Platform,
    post_release: PostReleaseSettings,
    pytestconfig: pytest.Config,
) -> None:
    snapshot = metrics_snapshot(watched, Prometheus(platform.prometheus_url, watched.query_timeout_s), time.time())
    problems = snapshot_problems(snapshot)
    empty = [name for name, metric in monitor_report["metrics"].items() if not metric["samples"]]
    assert empty == [], f"the alert watch has no samples for {empty}"
    assert problems == [], f"the dashboards {list(post_release.dashboards)} do not answer:\n" + "\n".join(problems)
    _once(
        pytestconfig,
        "dashboards_checked",
        lambda: {"owner": post_release.oncall, "dashboards": list(post_release.dashboards), "snapshot": snapshot},
    )


# --- records: archives --------------------------------------------------------------------------------


def _archive(
    kind: str, files: list[tuple[Path, str]], post_release: PostReleaseSettings, config: pytest.Config
) -> None:
    __tracebackhide__ = True
    try:
        kept = archive(files, kind, post_release.archive_dir)
    except ArtifactError as exc:
        pytest.fail(f"archiving {kind}: {exc}", pytrace=False)
    get_runtime(config).ledger.append(ledger_event(kind, kept, archive=str(post_release.archive_dir / kind)))
    problems = verify_sums(post_release.archive_dir / kind)
    assert problems == [], f"the {kind} archive does not verify:\n" + "\n".join(problems)


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.records.archive_grafana")
def test_dashboard_export_is_archived(
    platform: Platform,
    watched: CanarySettings,
    rollout_config: RolloutSettings,
    post_release: PostReleaseSettings,
    pytestconfig: pytest.Config,
) -> None:
    run_id = _run_id(pytestconfig)
    version = get_runtime(pytestconfig).settings.version
    snapshots = [rollout_config.snapshot_dir / f"rollout-{stage}-{run_id}.json" for stage in STAGES]
    snapshots.append(_monitor_path(pytestconfig, rollout_config))
    missing = [str(path) for path in snapshots if not path.is_file()]
    assert missing == [], f"observability snapshots of this run are missing: {missing}"
    prometheus = Prometheus(platform.prometheus_url, watched.query_timeout_s)
    export = {
        "label": "stand-in for a Grafana dashboard export: the values of the dashboard's queries from Prometheus "
        "(the sandbox has no Grafana)"
        if platform.target == "sandbox"
        else "the dashboard's queries' values from Prometheus (export the Grafana dashboard JSON too)",
        "dashboards": list(post_release.dashboards),
        "taken_at": utc_now(),
        "version": version,
        "prometheus_url": platform.prometheus_url,
        **metrics_snapshot(watched, prometheus, time.time()),
    }
    staging = get_runtime(pytestconfig).run_dir / "dashboard-export.json"
    write_json(staging, export)
    files = [(path, path.name) for path in snapshots]
    files.append((staging, f"dashboard-{'-'.join(d.replace('/', '-') for d in post_release.dashboards)}.json"))
    _archive("grafana", files, post_release, pytestconfig)


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.records.archive_lighthouse")
def test_lighthouse_reports_are_archived(post_release: PostReleaseSettings, pytestconfig: pytest.Config) -> None:
    try:
        files = lighthouse_files(post_release.lighthouse_dir, get_runtime(pytestconfig).settings.version or "")
    except ArtifactError as exc:
        pytest.fail(f"Lighthouse reports: {exc}", pytrace=False)
    _archive("lighthouse", files, post_release, pytestconfig)


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.records.archive_coverage")
def test_coverage_reports_are_archived(post_release: PostReleaseSettings, pytestconfig: pytest.Config) -> None:
    try:
        files = files_to_archive(post_release.coverage_dir)
    except ArtifactError as exc:
        pytest.fail(f"coverage reports: {exc}", pytrace=False)
    _archive("coverage", files, post_release, pytestconfig)


# --- records: docs, rollout, incidents, retro ---------------------------------------------------------


def _stage_verdicts(rollout_config: RolloutSettings, run_id: str) -> dict[str, str]:
    verdicts = {}
    for stage in STAGES:
        path = rollout_config.snapshot_dir / f"rollout-{stage}-{run_id}.json"
        try:
            verdicts[stage] = str(json.loads(path.read_text(encoding="utf-8"))["analysis"]["verdict"])
        except (OSError, ValueError, KeyError, TypeError):
            verdicts[stage] = f"no readable snapshot ({path})"
    return verdicts


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.records.docs_rfcs_updated")
def test_docs_record_the_release_outcomes(
    rollout_config: RolloutSettings,
    post_release: PostReleaseSettings,
    rollout_log: RollbackSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    version = release_settings.version
    assert version, "the release has no version: the docs cannot be checked"
    try:
        entries = changelog_entries(post_release.changelog.read_text(encoding="utf-8"), version)
    except OSError as exc:
        pytest.fail(f"cannot read the changelog {post_release.changelog}: {exc.strerror}", pytrace=False)
    assert entries, f"{post_release.changelog} has no entries under a section for {version}"
    unmentioned = []
    for doc in post_release.docs:
        try:
            if version not in doc.read_text(encoding="utf-8"):
                unmentioned.append(str(doc))
        except OSError as exc:
            unmentioned.append(f"{doc} ({exc.strerror})")
    assert unmentioned == [], f"documents that do not record {version}: {unmentioned}"
    run_id = _run_id(pytestconfig)
    verdicts = _stage_verdicts(rollout_config, run_id)
    monitor = _monitor_path(pytestconfig, rollout_config)
    try:
        watch = json.loads(monitor.read_text(encoding="utf-8"))["verdict"]
    except (OSError, ValueError, KeyError, TypeError):
        watch = f"no readable report ({monitor})"
    try:
        incidents = release_incidents(rollout_log.incidents_dir, version)
    except ArtifactError as exc:
        pytest.fail(str(exc), pytrace=False)
    lines = [
        f"# {version}: outcomes",
        "",
        f"Written by the release gate (run {run_id}) on {_where(release_settings)} at {utc_now()}.",
        "",
        "## Outcomes",
        "",
        *[f"- rollout {stage}: {verdict}" for stage, verdict in verdicts.items()],
        f"- post-release alert watch: {watch}",
        f"- incidents: {', '.join(str(i.get('id')) for i in incidents) or 'none'}",
        f"- changelog: {len(entries)} entries under {version} in {post_release.changelog}",
        "",
    ]
    _dry_run(release_settings, "the outcomes document")
    write_json_text(post_release.outcomes, release_settings.masker.mask("\n".join(lines)))
    text = post_release.outcomes.read_text(encoding="utf-8")
    assert "## Outcomes" in text
    assert all(f"rollout {stage}:" in text for stage in STAGES)


def write_json_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.records.rollout_logged")
def test_rollout_is_in_the_rollback_log(
    rollout_log: RollbackSettings, release_settings: Settings, pytestconfig: pytest.Config
) -> None:
    changes = {
        str(r.get("stage")): str(r.get("entry"))
        for r in get_runtime(pytestconfig).ledger.records()
        if r.get("kind") == "event" and r.get("event") == "flag_change"
    }
    missing = [stage for stage in STAGES if stage not in changes]
    assert missing == [], f"no flag change of this run recorded for the stage(s) {missing}"
    try:
        log = rollout_log.log.read_text(encoding="utf-8")
    except OSError as exc:
        pytest.fail(f"cannot read the rollback log {rollout_log.log}: {exc.strerror}", pytrace=False)
    absent = [stage for stage, entry in changes.items() if entry not in log]
    assert absent == [], f"the rollback log {rollout_log.log} lacks the rollout entries of {absent}"


def _incidents(rollout_log: RollbackSettings, settings: Settings) -> list[dict[str, Any]]:
    try:
        return release_incidents(rollout_log.incidents_dir, settings.version or "")
    except ArtifactError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.records.incidents_logged")
def test_incidents_are_in_the_rollback_log(
    rollout_log: RollbackSettings, release_settings: Settings, pytestconfig: pytest.Config
) -> None:
    _dry_run(release_settings, "the incidents entry")
    incidents = _incidents(rollout_log, release_settings)
    runtime = get_runtime(pytestconfig)

    def write() -> dict[str, Any]:
        entry = release_settings.masker.mask(
            incidents_entry(
                utc_now(), release_settings.version or "", _where(release_settings), incidents, runtime.run_id
            )
        )
        append_record(rollout_log.log, entry, LOG_HEADER)
        return {"entry": entry, "incidents": [i.get("id") for i in incidents]}

    record = _once(pytestconfig, "incidents_logged", write)
    assert str(record["entry"]) in rollout_log.log.read_text(encoding="utf-8")


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.records.retro_scheduled")
def test_retro_is_scheduled_when_an_incident_occurred(
    rollout_log: RollbackSettings,
    post_release: PostReleaseSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    incidents = _incidents(rollout_log, release_settings)
    if not incidents:
        _once(pytestconfig, "retro", lambda: {"needed": False, "why": "no incident, no retro"})
        return
    _dry_run(release_settings, "the retro record")
    version = release_settings.version or "unknown-version"
    path = post_release.retro_dir / f"{version}.json"
    due = (datetime.now(UTC) + timedelta(days=post_release.retro_within_days)).date().isoformat()
    retro = {
        "release": version,
        "status": "scheduled",
        "due_by": due,
        "owner": post_release.oncall,
        "incidents": [{"id": i.get("id"), "title": i.get("title"), "path": i.get("path")} for i in incidents],
        "scheduled_at": utc_now(),
        "scheduled_by": actor(),
    }
    write_json(path, retro)
    _once(pytestconfig, "retro", lambda: {"needed": True, "path": str(path), "due_by": due})
    assert json.loads(path.read_text(encoding="utf-8"))["incidents"], path


# --- records: comms and handoff ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slack_webhooks(post_release: PostReleaseSettings) -> Iterator[dict[str, tuple[str, FakeSlack | None]]]:
    """The #release and #status webhooks: loopback fakes for the sandbox, from the environment otherwise."""
    fakes: list[FakeSlack] = []
    patch = pytest.MonkeyPatch()
    found: dict[str, tuple[str, FakeSlack | None]] = {}
    try:
        for channel in (post_release.release_channel, post_release.status_channel):
            if post_release.fake_slack:
                fake = FakeSlack()
                fakes.append(fake)
                fake.start()
                patch.setenv(channel.webhook_env, fake.url)
                found[channel.name] = (fake.url, fake)
                continue
            url = os.environ.get(channel.webhook_env, "")
            if not url:
                pytest.fail(f"the {channel.name} webhook variable {channel.webhook_env} is not set", pytrace=False)
            found[channel.name] = (url, None)
        yield found
    finally:
        for fake in fakes:
            fake.stop()
        patch.undo()


def _notify(
    channel: str,
    text: str,
    webhooks: dict[str, tuple[str, FakeSlack | None]],
    post_release: PostReleaseSettings,
    config: pytest.Config,
) -> None:
    __tracebackhide__ = True
    url, fake = webhooks[channel]
    payload = {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    try:
        post_webhook(url, payload, timeout_s=post_release.slack_timeout_s)
    except SlackError as exc:
        pytest.fail(f"{channel}: {exc}", pytrace=False)
    get_runtime(config).ledger.append(
        {"kind": "event", "event": "notified", "channel": channel, "webhook": mask_webhook(url), "text": text}
    )
    if fake is not None:
        assert any(message.get("text") == text for message in fake.messages), f"{channel} did not get the notice"


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.comms.release_channel")
def test_release_channel_is_updated(
    slack_webhooks: dict[str, tuple[str, FakeSlack | None]],
    post_release: PostReleaseSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    _dry_run(release_settings, f"the {post_release.release_channel} update")
    text = (
        f"ICUPA {release_settings.version} rolled out on {_where(release_settings)}: "
        f"{' -> '.join(STAGES)} done; on-call {post_release.oncall} owns the window. Run {_run_id(pytestconfig)}."
    )
    _notify(post_release.release_channel.name, text, slack_webhooks, post_release, pytestconfig)


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.comms.status_channel")
def test_status_channel_has_the_customer_notice(
    slack_webhooks: dict[str, tuple[str, FakeSlack | None]],
    post_release: PostReleaseSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    _dry_run(release_settings, f"the {post_release.status_channel} notice")
    text = f"ICUPA {release_settings.version} is now available to every venue. No action is needed."
    _notify(post_release.status_channel.name, text, slack_webhooks, post_release, pytestconfig)


def _handoff(
    config: pytest.Config,
    rollout_log: RollbackSettings,
    rollout_config: RolloutSettings,
    post_release: PostReleaseSettings,
    settings: Settings,
) -> dict[str, Any]:
    runtime = get_runtime(config)

    def write() -> dict[str, Any]:
        incidents = _incidents(rollout_log, settings)
        verdicts = _stage_verdicts(rollout_config, runtime.run_id)
        open_items = [f"incident {i.get('id')} ({i.get('status')})" for i in incidents]
        if incidents:
            open_items.append(f"retro due within {post_release.retro_within_days} days")
        entry = handoff_entry(
            when=utc_now(),
            version=settings.version or "(unknown version)",
            where=_where(settings),
            oncall=post_release.oncall,
            facts={
                "rollout": ", ".join(f"{stage} {verdict}" for stage, verdict in verdicts.items()),
                "dashboards": ", ".join(post_release.dashboards),
                "archive": str(post_release.archive_dir),
            },
            open_items=open_items,
            run=f"{runtime.run_id} (ledger {runtime.ledger.path})",
        )
        entry = settings.masker.mask(entry)
        append_record(rollout_log.log, entry, LOG_HEADER)
        header = TICKET_HEADER.format(version=settings.version or "(unknown version)")
        append_record(rollout_config.ticket, entry, header)
        return {"entry": entry, "owner": post_release.oncall, "rollback_log": str(rollout_log.log)}

    return _once(config, "handoff", write)


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.handoff.rollback_log")
def test_handoff_note_is_in_the_rollback_log(
    rollout_log: RollbackSettings,
    rollout_config: RolloutSettings,
    post_release: PostReleaseSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    _dry_run(release_settings, "the handoff note")
    record = _handoff(pytestconfig, rollout_log, rollout_config, post_release, release_settings)
    assert str(record["entry"]) in rollout_log.log.read_text(encoding="utf-8")


@pytest.mark.phase("post_release", "records")
@pytest.mark.checklist("post_release.handoff.release_ticket")
def test_handoff_note_is_in_the_release_ticket(
    rollout_log: RollbackSettings,
    rollout_config: RolloutSettings,
    post_release: PostReleaseSettings,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    _dry_run(release_settings, "the handoff note")
    record = _handoff(pytestconfig, rollout_log, rollout_config, post_release, release_settings)
    try:
        ticket = rollout_config.ticket.read_text(encoding="utf-8")
    except OSError as exc:
        pytest.fail(f"cannot read the release ticket {rollout_config.ticket}: {exc.strerror}", pytrace=False)
    assert str(record["entry"]) in ticket, f"the handoff note is not in {rollout_config.ticket}"

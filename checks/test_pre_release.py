"""Pre-release, one week before (runbook: Release Checklist / Pre-Release).

Review: S0/S1 issues triaged (GitHub issues), critical tests green for the release commit
(GitHub check runs), the changelog's release section, the ``vX.Y.Z`` tag (in git and on
GitHub), the SBOMs (generated here, then validated), CodeQL's SARIF and the dependency
audit. Notify: the stakeholder announcement, a Slack incoming-webhook post recorded in the
ledger. The Lighthouse review is another suite's.

Settings come from ``[targets.<t>.checks.github|slack|release]`` (:mod:`checks.remote.settings`).
For the sandbox, GitHub and Slack are recorded fakes served on loopback by the session
fixture ``remotes`` (:mod:`checks.remote.fixtures`, shared through ``checks/conftest.py``
with ``check_settings`` and ``github``), which points the clients (and the notify action,
through the webhook variable) at them and stops them at the end. Checks only read: the
release repository is built by the ``release_repo`` action, the SBOMs by ``sbom_generate``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.artifacts import ArtifactError
from checks.artifacts.audit import load_audit
from checks.platform import action_summary
from checks.release_artifacts.changelog import release_notes
from checks.release_artifacts.sarif import load_sarif
from checks.release_artifacts.sbom import check_cyclonedx, check_spdx
from checks.release_artifacts.tags import check_release_tag, resolve_commit
from checks.remote.fixtures import Remotes
from checks.remote.fixtures import fail as _fail
from checks.remote.github import CheckRun, GitHubClient, GitHubError, Issue
from checks.remote.settings import CheckSettings, SettingsError, TriageRule
from plugin import ActionResult
from plugin.runtime import get_runtime
from plugin.settings import Settings

# --- settings and clients: check_settings, remotes and github are in checks.remote.fixtures -----


@pytest.fixture(scope="session")
def release_version(release_settings: Settings) -> str:
    if not release_settings.version:
        _fail("the release version is unknown: give --release-version vX.Y.Z or the target's version_file")
    return release_settings.version


@pytest.fixture(scope="session")
def release_repo_path(check_settings: CheckSettings) -> Path:
    try:
        release = check_settings.require_release()
        return check_settings.path("release.repo", release.repo)
    except SettingsError as exc:
        _fail(str(exc))


@pytest.fixture(scope="session")
def release_commit(release_repo: ActionResult, release_repo_path: Path, check_settings: CheckSettings) -> str:
    """The SHA of the release commit, read from the release repository."""
    release = check_settings.require_release()
    try:
        ref = check_settings.fill("release.release_ref", release.release_ref)
        return resolve_commit(release_repo_path, ref, timeout_s=release.git_timeout_s)
    except (SettingsError, ArtifactError) as exc:
        _fail(f"the release commit: {exc}")


@pytest.fixture(scope="session")
def check_runs(github: GitHubClient, release_commit: str) -> list[CheckRun]:
    try:
        return github.check_runs(release_commit)
    except GitHubError as exc:
        _fail(str(exc))


def _release_file(check_settings: CheckSettings, key: str) -> Path:
    try:
        release = check_settings.require_release()
        return check_settings.path(f"release.{key}", getattr(release, key))
    except SettingsError as exc:
        _fail(str(exc))


# --- review: issues and critical tests ------------------------------------------------------


def _untriaged(issue: Issue, rule: TriageRule) -> list[str]:
    reasons = []
    if rule.require_assignee and not issue.assigned:
        reasons.append("no assignee")
    if rule.require_milestone and issue.milestone is None:
        reasons.append("no milestone")
    if rule.triaged_labels and not issue.label_names & set(rule.triaged_labels):
        reasons.append(f"none of the labels {', '.join(rule.triaged_labels)}")
    blocking = issue.label_names & set(rule.untriaged_labels)
    if blocking:
        reasons.append(f"labelled {', '.join(sorted(blocking))}")
    return reasons


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.triage_s0_s1")
def test_s0_s1_issues_are_triaged(github: GitHubClient, check_settings: CheckSettings) -> None:
    rule = check_settings.require_github().triage
    found: dict[int, Issue] = {}
    try:
        for label in rule.severity_labels:
            for issue in github.issues([label], rule.state):
                found[issue.number] = issue
    except GitHubError as exc:
        _fail(str(exc))
    problems = []
    for number in sorted(found):
        reasons = _untriaged(found[number], rule)
        if reasons:
            problems.append(f"  #{number} {found[number].title} ({found[number].html_url}): {'; '.join(reasons)}")
    if problems:
        _fail(
            f"GitHub {github.repository}: {len(problems)} of {len(found)} {'/'.join(rule.severity_labels)} issues "
            f"({rule.state}) are not triaged:\n" + "\n".join(problems)
        )


@pytest.mark.phase("pre_release", "review")
@pytest.mark.parametrize(
    "part",
    [
        pytest.param("unit", marks=pytest.mark.checklist("pre_release.critical_tests.unit"), id="unit"),
        pytest.param(
            "integration", marks=pytest.mark.checklist("pre_release.critical_tests.integration"), id="integration"
        ),
        pytest.param(
            "playwright", marks=pytest.mark.checklist("pre_release.critical_tests.playwright"), id="playwright"
        ),
    ],
)
def test_critical_tests_are_green_for_the_release_commit(
    part: str, check_runs: list[CheckRun], release_commit: str, check_settings: CheckSettings
) -> None:
    settings = check_settings.require_github()
    names = {str(key): value for key, value in settings.critical_checks.items()}.get(part)
    if not names:
        _fail(
            f"{check_settings.source}: targets.{check_settings.target}.checks.github.critical_checks.{part} is not set"
        )
    latest = {run.name: run for run in check_runs}
    problems = []
    for name in names:
        run = latest.get(name)
        if run is None:
            problems.append(f"{name!r}: no check run for {release_commit[:12]} (runs: {', '.join(sorted(latest))})")
        elif run.head_sha != release_commit:
            problems.append(f"{name!r}: reported for {run.head_sha[:12]}, not the release commit")
        elif run.status != "completed":
            problems.append(f"{name!r}: still {run.status}")
        elif run.conclusion not in settings.accepted_conclusions:
            problems.append(f"{name!r}: concluded {run.conclusion} ({run.html_url or 'no link'})")
    if problems:
        _fail(f"critical {part} tests of {release_commit[:12]}:\n  " + "\n  ".join(problems))


# --- review: changelog and tag ------------------------------------------------------------


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.changelog_updated")
def test_changelog_has_the_release_section(check_settings: CheckSettings, release_version: str) -> None:
    path = _release_file(check_settings, "changelog")
    try:
        notes = release_notes(path, release_version)
    except ArtifactError as exc:
        _fail(str(exc))
    assert notes.items > 0


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.git_tag")
def test_release_tag_points_at_the_release_commit(
    release_repo: ActionResult, release_repo_path: Path, check_settings: CheckSettings, release_version: str
) -> None:
    release = check_settings.require_release()
    try:
        ref = check_settings.fill("release.release_ref", release.release_ref)
        check_release_tag(
            release_repo_path,
            release_version,
            ref,
            require_annotated=release.require_annotated_tag,
            timeout_s=release.git_timeout_s,
        )
    except (ArtifactError, SettingsError) as exc:
        _fail(str(exc))


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.git_tag")
def test_release_tag_is_pushed_to_github(github: GitHubClient, release_commit: str, release_version: str) -> None:
    try:
        tag = github.tag_commit(release_version)
    except GitHubError as exc:
        _fail(str(exc))
    if tag.commit_sha != release_commit:
        _fail(
            f"GitHub {github.repository}: {tag.ref} names {tag.commit_sha[:12]}, "
            f"but the release commit is {release_commit[:12]}: push the right tag"
        )


# --- review: SBOMs, CodeQL, dependency audit ------------------------------------------------


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.sbom_generated")
def test_cyclonedx_sbom_is_valid_for_the_release(
    sbom_generate: ActionResult, check_settings: CheckSettings, release_version: str
) -> None:
    try:
        summary = check_cyclonedx(_release_file(check_settings, "sbom_cyclonedx"), release_version)
    except ArtifactError as exc:
        _fail(str(exc))
    assert summary.packages > 0


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.sbom_generated")
def test_spdx_sbom_is_valid_for_the_release(
    sbom_generate: ActionResult, check_settings: CheckSettings, release_version: str
) -> None:
    try:
        summary = check_spdx(_release_file(check_settings, "sbom_spdx"), release_version)
    except ArtifactError as exc:
        _fail(str(exc))
    assert summary.packages > 0


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.security_scans.codeql")
def test_codeql_has_no_unsuppressed_result_at_the_blocking_level(check_settings: CheckSettings) -> None:
    level = check_settings.require_release().sarif_level
    try:
        report = load_sarif(_release_file(check_settings, "codeql_sarif"))
    except ArtifactError as exc:
        _fail(str(exc))
    blocking = report.at_or_above(level)
    if blocking:
        _fail(
            f"{report.path}: {len(blocking)} unsuppressed results at or above {level}:\n  "
            + "\n  ".join(finding.describe() for finding in blocking[:20])
        )


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.security_scans.dependency_audit")
def test_dependency_audit_has_no_advisory_at_the_blocking_level(check_settings: CheckSettings) -> None:
    level = check_settings.require_release().audit_level
    try:
        report = load_audit(_release_file(check_settings, "audit_report"))
    except ArtifactError as exc:
        _fail(str(exc))
    blocking = report.at_or_above(level)
    if blocking:
        _fail(
            f"{report.path} ({report.format}): {len(blocking)} advisories at or above {level}:\n  "
            + "\n  ".join(str(advisory) for advisory in blocking[:20])
        )


# --- notify ---------------------------------------------------------------------------------


@pytest.mark.phase("pre_release", "notify")
@pytest.mark.checklist("pre_release.notify_stakeholders")
def test_stakeholders_are_notified_of_the_window_and_plan(
    remotes: Remotes,
    notify_stakeholders: ActionResult,
    pytestconfig: pytest.Config,
    check_settings: CheckSettings,
    release_version: str,
) -> None:
    record = get_runtime(pytestconfig).ledger.action_record("notify_stakeholders")
    if record is None:
        _fail("the ledger has no record of notify_stakeholders")
    if notify_stakeholders.planned:
        assert record["status"] == "planned"
        return
    assert record["status"] == "ok", record["status"]
    assert record["executed"]
    summary = action_summary(notify_stakeholders)
    if summary is None or not summary.get("ok"):
        _fail(f"notify_stakeholders left no successful summary in its log: {notify_stakeholders.output_tail[-500:]}")
    fake = remotes.slack_fake
    if fake is None:
        return  # the real webhook answered "ok"; its channel is the record
    slack = check_settings.require_slack()
    if len(fake.messages) != 1:
        _fail(f"the Slack webhook got {len(fake.messages)} messages, expected exactly one")
    text = fake.messages[0]["text"] + json.dumps(fake.messages[0].get("blocks", []))
    missing = [part for part in [release_version, *slack.rollout_plan] if part not in text]
    if missing:
        _fail(f"the announcement does not mention: {', '.join(missing)}")
    log = Path(notify_stakeholders.log_path).read_text(encoding="utf-8") if notify_stakeholders.log_path else ""
    if fake.path in json.dumps(record) or fake.path in log:
        _fail("the webhook URL's secret path appears in the ledger or the action log")

"""Build & Test Pipeline (local, CI and security validation) and the release-day confirmations.

Every command runs as a release action (``checks/actions_validate.py``), so it is in the
plan with its argv and in the ledger with its outcome. The reports those commands leave
(ESLint's JSON, coverage, audit and secret scans) are judged by the parsers in
``checks/artifacts/``: a report that cannot be read fails its check, naming the file.
Paths and the coverage figure come from ``[targets.<t>.checks.artifacts]`` and
``[targets.<t>.checks.coverage]`` in ``release.toml``.

GitHub's own scans are read through the shared ``github`` fixture (``checks/remote/fixtures.py``,
``[targets.<t>.checks.github]``; for the sandbox, the recorded fake on loopback): no open
secret-scanning alert, and every Dependabot alert at or above ``dependabot_level`` triaged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import allure
import pytest

from checks.artifacts import ArtifactError, load_json
from checks.artifacts.archive import ArchivedFile, archive, checksum, ledger_event
from checks.artifacts.audit import AuditReport, load_audit
from checks.artifacts.coverage import COVERAGE_FORMATS, CoverageReport, combine, load_coverage
from checks.artifacts.eslint import LintReport, load_eslint
from checks.artifacts.secrets import load_gitleaks, scan_detect_secrets
from checks.artifacts.settings import ArtifactPaths, ArtifactSettings, ArtifactSettingsError, from_target, variables
from checks.remote.alerts import DEPENDABOT_STATES, dependabot_verdict, secret_scanning_verdict
from checks.remote.github import GitHubClient, GitHubError
from checks.remote.settings import CheckSettings, SettingsError
from plugin import ActionResult
from plugin.actions import DECLARED_ACTIONS, ActionError, resolve_command
from plugin.ledger import actor
from plugin.runtime import get_runtime
from plugin.settings import Settings

_P = ParamSpec("_P")
_R = TypeVar("_R")
_SHOWN_MESSAGES = 10
_COVERAGE_FILES = tuple(name for _, name in COVERAGE_FORMATS.values())


def _checked(load: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """``load(...)``, or a failed check naming the file and the problem (no traceback)."""
    __tracebackhide__ = True
    try:
        return load(*args, **kwargs)
    except (ArtifactError, ArtifactSettingsError) as exc:
        pytest.fail(str(exc), pytrace=False)


def _require(ok: object, message: str) -> None:
    """A verdict its message fully explains: a failed check, without a traceback."""
    __tracebackhide__ = True
    if not ok:
        pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def artifact_settings(release_settings: Settings) -> ArtifactSettings:
    """The target's ``checks.artifacts`` and ``checks.coverage`` tables, validated."""
    return _checked(from_target, release_settings)


@pytest.fixture(scope="module")
def artifact_paths(artifact_settings: ArtifactSettings, pytestconfig: pytest.Config) -> ArtifactPaths:
    """Every artifact path of this run, templates filled."""
    return _checked(artifact_settings.resolve, variables(get_runtime(pytestconfig)))


def _labelled(path: Path, recorded: bool) -> str:
    return f"{path} (recorded report, not produced in this run)" if recorded else str(path)


# --- 1. local validation: the developer's commands ----------------------------------------


@pytest.mark.phase("validate", "install")
@pytest.mark.checklist("validate.local.pnpm_install")
def test_pnpm_install(pnpm_install: ActionResult, artifact_paths: ArtifactPaths) -> None:
    assert pnpm_install.ok
    node_modules = artifact_paths.workspace / "node_modules"
    _require(node_modules.is_dir(), f"pnpm install left no {node_modules}")


@pytest.fixture(scope="module")
def lint_report(pnpm_lint: ActionResult, artifact_paths: ArtifactPaths) -> LintReport:
    """ESLint's JSON report of the ``pnpm_lint`` run."""
    return _checked(load_eslint, artifact_paths.eslint_report, root=artifact_paths.workspace)


def _lint_problems(report: LintReport, what: str) -> str:
    shown = "\n".join(f"  {line}" for line in report.first(_SHOWN_MESSAGES))
    more = len(report.messages) - _SHOWN_MESSAGES
    return f"{what}: {report} ({report.path})\n{shown}" + (f"\n  ... and {more} more" if more > 0 else "")


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.local.pnpm_lint")
def test_pnpm_lint(lint_report: LintReport) -> None:
    _require(lint_report.errors == 0, _lint_problems(lint_report, "pnpm lint"))


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.local.pnpm_typecheck")
@pytest.mark.checklist("validate.ci.typecheck_tsc")
def test_typecheck(pnpm_typecheck: ActionResult) -> None:
    assert pnpm_typecheck.ok


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.local.pnpm_test")
@pytest.mark.checklist("validate.ci.tests_vitest_unit")
def test_unit_tests(pnpm_test: ActionResult) -> None:
    assert pnpm_test.ok


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.local.web_build")
def test_web_build(web_build: ActionResult, artifact_paths: ArtifactPaths) -> None:
    index = artifact_paths.web_dist / "index.html"
    _require(index.is_file(), f"the web build wrote no {index}")


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.local.agents_service_test")
@pytest.mark.checklist("validate.ci.tests_agents_service")
def test_agents_service_suite(agents_service_test: ActionResult) -> None:
    assert agents_service_test.ok


@pytest.mark.advisory(reason="optional in the runbook: the developer's full Playwright run")
@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.local.e2e_full_optional")
def test_optional_e2e(pnpm_e2e: ActionResult) -> None:
    assert pnpm_e2e.ok


# --- 2. CI validation ---------------------------------------------------------------------


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.ci.lint_eslint_max_warnings_0")
def test_eslint_has_no_warnings(lint_report: LintReport) -> None:
    clean = lint_report.errors == 0 and lint_report.warnings == 0
    _require(clean, _lint_problems(lint_report, "ESLint with --max-warnings=0"))


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.ci.build_staging_env")
def test_build_uses_the_staging_variables(
    web_build: ActionResult,
    artifact_settings: ArtifactSettings,
    artifact_paths: ArtifactPaths,
    release_settings: Settings,
    pytestconfig: pytest.Config,
) -> None:
    try:
        command = resolve_command(get_runtime(pytestconfig), DECLARED_ACTIONS["web_build"])
    except ActionError as exc:
        pytest.fail(str(exc), pytrace=False)
    target = release_settings.target_name
    required = artifact_settings.artifacts.web_build_env
    missing = [name for name in required if not command.env.get(name)]
    _require(
        not missing,
        f"the web build of target {target!r} is not given {', '.join(missing)} (it would take whatever the gate's "
        f"own environment holds): set it in [targets.{target}.actions.web_build] env in release.toml",
    )
    if artifact_paths.web_version_file is None:
        return
    built = _checked(load_json, artifact_paths.web_version_file)
    recorded = set(built.values()) if isinstance(built, dict) else set()
    absent = [f"{name}={command.env[name]}" for name in required if command.env[name] not in recorded]
    _require(
        not absent,
        release_settings.masker.mask(
            f"{artifact_paths.web_version_file} does not record {', '.join(absent)}: the bundle was not built "
            "with the staging environment's variables"
        ),
    )


def _coverage_reports(settings: ArtifactSettings, dirs: list[tuple[str, Path]]) -> list[tuple[str, CoverageReport]]:
    table = settings.coverage
    return [(package, _checked(load_coverage, folder / table.file_name, table.format)) for package, folder in dirs]


def _judge_coverage(settings: ArtifactSettings, reports: list[tuple[str, CoverageReport]]) -> str:
    """The coverage table; fails the test when the configured figure is below the threshold."""
    __tracebackhide__ = True
    table, minimum = settings.coverage, settings.coverage_min_percent
    width = max(len("total"), *(len(package) for package, _ in reports))
    rows = [f"  {package:<{width}}  {report}" for package, report in reports]
    lines, branches = combine(report for _, report in reports)
    rows.append(f"  {'total':<{width}}  lines {lines}, branches {branches}")
    summary = (
        f"coverage from {table.format} ({table.file_name}), {table.figure} must reach {minimum:g}%:\n" + "\n".join(rows)
    )
    short = [
        f"{package}: {'; '.join(found)}"
        for package, report in reports
        if (found := report.shortfalls(table.figure, minimum))
    ]
    # A no-op unless Allure results are being written.
    allure.attach(summary, name="coverage summary", attachment_type=allure.attachment_type.TEXT)
    if short:
        pytest.fail(summary + "\nbelow the threshold:\n" + "\n".join(f"  {item}" for item in short), pytrace=False)
    return summary


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.ci.coverage_min_80")
def test_coverage_meets_the_threshold(
    pnpm_test: ActionResult,
    agents_service_test: ActionResult,  # it rewrites the agents service's coverage: read after it
    artifact_settings: ArtifactSettings,
    artifact_paths: ArtifactPaths,
) -> None:
    reports = _coverage_reports(artifact_settings, list(artifact_paths.coverage_dirs))
    print(_judge_coverage(artifact_settings, reports))  # shown with -rP


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.ci.secret_scan_gitleaks")
def test_secret_scan_is_clean(artifact_settings: ArtifactSettings, artifact_paths: ArtifactPaths) -> None:
    table = artifact_settings.artifacts
    problems: list[str] = []
    if artifact_paths.gitleaks_report is not None:
        leaks = _checked(load_gitleaks, artifact_paths.gitleaks_report)
        where = _labelled(leaks.path, table.gitleaks_recorded)
        if leaks.findings:
            problems.append(f"gitleaks {where}: {len(leaks.findings)} findings")
            problems.extend(f"  {finding}" for finding in leaks.findings)
        if leaks.unredacted:
            problems.append(
                f"gitleaks {where}: {leaks.unredacted} findings keep the secret in clear in the report itself: "
                "delete the report and rerun gitleaks with --redact"
            )
    if artifact_paths.detect_secrets_root is not None:
        scan = _checked(
            scan_detect_secrets,
            artifact_paths.detect_secrets_root,
            exclude_dirs=table.detect_secrets_exclude,
            baseline=artifact_paths.detect_secrets_baseline,
        )
        if scan.findings:
            problems.append(
                f"detect-secrets in {scan.root}: {len(scan.findings)} findings not audited as false positives "
                f"in {artifact_paths.detect_secrets_baseline or 'a baseline'}"
            )
            problems.extend(f"  {finding}" for finding in scan.findings)
    _require(not problems, "secret scan (values never shown):\n" + "\n".join(problems))


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.ci.secret_scan_github")
def test_github_secret_scanning_has_no_open_alert(github: GitHubClient) -> None:
    try:
        alerts = github.secret_scanning_alerts("open")
    except GitHubError as exc:
        pytest.fail(str(exc), pytrace=False)
    verdict = secret_scanning_verdict(alerts, github.repository)
    _require(verdict is None, verdict or "")


# --- 3. security validation ---------------------------------------------------------------


@pytest.fixture(scope="module")
def audit_report(artifact_paths: ArtifactPaths) -> AuditReport:
    """The dependency audit report (pnpm 10, pnpm 11+ or npm v2 JSON)."""
    return _checked(load_audit, artifact_paths.audit_report)


def _advisories(report: AuditReport, level: str, recorded: bool) -> str:
    found = report.at_or_above(level)
    listed = "\n".join(f"  {advisory}" for advisory in found)
    return (
        f"{_labelled(report.path, recorded)} ({report.format}): {len(found)} advisories at {level} or above\n{listed}\n"
        f"  (the report's own summary counts, not used: {dict(report.summary_counts)})"
    )


@pytest.mark.advisory(reason="the runbook blocks at --audit-level=high; lower advisories are shown, not blocking")
@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.security.pnpm_audit")
def test_dependency_audit(audit_report: AuditReport, artifact_settings: ArtifactSettings) -> None:
    recorded = artifact_settings.artifacts.audit_recorded
    _require(not audit_report.at_or_above("low"), _advisories(audit_report, "low", recorded))


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.security.pnpm_audit_high")
def test_dependency_audit_at_level_high(audit_report: AuditReport, artifact_settings: ArtifactSettings) -> None:
    table = artifact_settings.artifacts
    level = table.audit_level
    _require(not audit_report.at_or_above(level), _advisories(audit_report, level, table.audit_recorded))


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.security.dependabot_triaged")
def test_dependabot_alerts_are_triaged(github: GitHubClient, check_settings: CheckSettings) -> None:
    try:
        level = check_settings.require_github().dependabot_level
        alerts = github.dependabot_alerts(",".join(DEPENDABOT_STATES))
    except (SettingsError, GitHubError) as exc:
        pytest.fail(str(exc), pytrace=False)
    verdict = dependabot_verdict(alerts, level, github.repository)
    _require(verdict is None, verdict or "")
    print(f"Dependabot: {len(alerts)} alerts in {github.repository}, none open at {level} or above")  # -rP


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.security.lint_mcp")
def test_mcp_security_lint(security_lint_mcp: ActionResult) -> None:
    assert security_lint_mcp.ok


# --- release-day confirmations ------------------------------------------------------------


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.ci_green")
def test_ci_pipelines_green(ci_green: ActionResult) -> None:
    assert ci_green.ok


def _archive_event(pytestconfig: pytest.Config, kind: str, kept: list[ArchivedFile]) -> None:
    """Record the archived files and their checksums in the run ledger."""
    runtime = get_runtime(pytestconfig)
    unit = runtime.current_unit.label if runtime.current_unit else None
    runtime.ledger.append(ledger_event(kind, kept, unit=unit, actor=actor()))


@pytest.fixture(scope="module")
def archived_coverage(
    ci_green: ActionResult,  # the last run to write the coverage folders: archive what it left
    artifact_settings: ArtifactSettings,
    artifact_paths: ArtifactPaths,
    pytestconfig: pytest.Config,
) -> list[ArchivedFile]:
    """This run's coverage reports, copied under ``<archive_dir>/coverage/`` and recorded in the ledger."""
    wanted = {artifact_settings.coverage.file_name, *_COVERAGE_FILES}
    files = [
        (folder / name, f"{package}/{name}")
        for package, folder in artifact_paths.coverage_dirs
        for name in sorted(wanted)
        if name == artifact_settings.coverage.file_name or (folder / name).is_file()
    ]
    kept = _checked(archive, files, "coverage", artifact_paths.archive_dir)
    _archive_event(pytestconfig, "coverage", kept)
    return kept


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.coverage_min_80")
def test_coverage_confirmed_from_the_archive(
    archived_coverage: list[ArchivedFile],
    artifact_settings: ArtifactSettings,
    artifact_paths: ArtifactPaths,
) -> None:
    folder = artifact_paths.archive_dir / "coverage"
    reports = _coverage_reports(
        artifact_settings, [(package, folder / package) for package, _ in artifact_paths.coverage_dirs]
    )
    print(_judge_coverage(artifact_settings, reports))  # shown with -rP


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.ci.coverage_artifacts_stored")
@pytest.mark.checklist("validate.confirm.coverage_artifacts_archived")
def test_coverage_archived_with_checksums(
    archived_coverage: list[ArchivedFile], artifact_paths: ArtifactPaths, pytestconfig: pytest.Config
) -> None:
    events = [
        record
        for record in get_runtime(pytestconfig).ledger.records()
        if record.get("event") == "archived" and record.get("artifact_kind") == "coverage"
    ]
    _require(events, "the run ledger records no coverage archive")
    files = events[-1]["files"]
    _require(files, "the coverage archive in the run ledger lists no files")
    folder = (artifact_paths.archive_dir / "coverage").resolve()
    for entry in files:
        path = Path(entry["path"])
        _require(path.resolve().is_relative_to(folder), f"{path} is not under {folder}")
        kept = _checked(checksum, path)
        _require(kept == (entry["sha256"], entry["bytes"]), f"{path} no longer matches its checksum in the ledger")


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.ci.sbom_attached")
def test_sbom_artifacts_attached(artifact_paths: ArtifactPaths, pytestconfig: pytest.Config) -> None:
    absent = [str(path) for path in artifact_paths.sbom_files if not path.is_file()]
    _require(not absent, f"SBOM artifacts not attached (the pre-release SBOM step writes them): {', '.join(absent)}")
    for path in artifact_paths.sbom_files:
        document = _checked(load_json, path)
        marked = isinstance(document, dict) and ("bomFormat" in document or "spdxVersion" in document)
        _require(marked, f"{path}: neither a CycloneDX (bomFormat) nor an SPDX (spdxVersion) document")
    kept = _checked(
        archive, [(path, path.name) for path in artifact_paths.sbom_files], "sbom", artifact_paths.archive_dir
    )
    _archive_event(pytestconfig, "sbom", kept)

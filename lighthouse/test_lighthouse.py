"""Lighthouse on the staging web app: pre-release review, CI assertions, release-day confirmation.

Runs ``[targets.<t>.checks.lighthouse].runs`` Lighthouse runs of each configured path of the
environment's web URL once per session (``lighthouse/runner.py``) and judges them with the
target's ``lighthouserc.json`` (``lighthouse/assertions.py``). pre_release and validate run
before ``deploy_staging``, so they measure whatever staging serves now; a staging web server
that serves no release yet (no ``/version.json``) fails them with that message, rather than
measuring a placeholder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import allure
import httpx
import pytest

from checks.platform import Platform
from lighthouse.assertions import Evaluation, LighthouseRc, LighthouseRcError, evaluate, load_lighthouserc
from lighthouse.pwa import check_installable
from lighthouse.runner import RunnerConfig, RunnerError, RunResult, result_from_dict, run_lighthouse, summary
from lighthouse.settings import LighthouseSettings, LighthouseSettingsError, from_table
from plugin.allure_support import alluredir
from plugin.ledger import actor
from plugin.once import once_per_run
from plugin.runtime import get_runtime
from plugin.settings import Settings

HTTP_TIMEOUT = httpx.Timeout(10.0)


@pytest.fixture(scope="session")
def lighthouse_settings(release_settings: Settings) -> LighthouseSettings:
    target = release_settings.target
    table = target.checks.get("lighthouse") if target is not None else None
    try:
        return from_table(table, release_settings.rootdir, release_settings.target_name)
    except LighthouseSettingsError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def lighthouserc(lighthouse_settings: LighthouseSettings) -> LighthouseRc:
    try:
        return load_lighthouserc(lighthouse_settings.config)
    except LighthouseRcError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def served_web_version(platform: Platform) -> str:
    """The web release the environment serves; fails when it serves none (a placeholder)."""
    url = platform.web_url.rstrip("/") + "/version.json"
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        pytest.fail(f"{platform.env} web app at {platform.web_url} does not answer: {exc}", pytrace=False)
    version: Any = None
    if response.status_code == 200:
        try:
            version = response.json().get("version")
        except (ValueError, AttributeError):
            version = None
    if not isinstance(version, str) or not version:
        pytest.fail(
            f"{platform.env} serves no web release yet (GET {url}: HTTP {response.status_code}, no version); "
            "deploy one first (deploy_staging/web) before measuring it with Lighthouse",
            pytrace=False,
        )
    return version


@pytest.fixture(scope="session")
def lighthouse_runs(
    platform: Platform,
    served_web_version: str,
    lighthouse_settings: LighthouseSettings,
    pytestconfig: pytest.Config,
) -> list[RunResult]:
    """Every run of every configured URL, failed runs included (they are never dropped).

    Once per release run: under xdist the first worker to ask runs Lighthouse, and the others
    read its results (the LHRs from their files) instead of measuring again.
    """
    config = RunnerConfig(
        output_dir=lighthouse_settings.output_dir,
        runs=lighthouse_settings.runs,
        parallel=lighthouse_settings.parallel,
        timeout_s=lighthouse_settings.timeout_s,
    )
    urls = lighthouse_settings.urls(platform.web_url)

    def measure() -> list[dict[str, Any]]:
        try:
            return [run.to_dict() for run in run_lighthouse(urls, config)]
        except RunnerError as exc:
            pytest.fail(str(exc), pytrace=False)

    jobs = len(urls) * config.runs
    budget = config.timeout_s * (jobs // max(config.parallel, 1) + 1) + 60
    recorded = once_per_run(pytestconfig, "lighthouse-runs", measure, budget)
    return [result_from_dict(run) for run in recorded]


@pytest.fixture(scope="session")
def lighthouse_evaluation(lighthouserc: LighthouseRc, lighthouse_runs: list[RunResult]) -> Evaluation:
    return evaluate(lighthouserc, lighthouse_runs)


def _attach_reports(config: pytest.Config, runs: list[RunResult]) -> None:
    if alluredir(config) is None:
        return
    for run in runs:
        name = f"lighthouse {run.label}"
        if run.json_path.is_file():
            allure.attach.file(run.json_path, name=f"{name} (JSON)", attachment_type=allure.attachment_type.JSON)  # type: ignore[no-untyped-call]
        if run.html_path.is_file():
            allure.attach.file(run.html_path, name=f"{name} (HTML)", attachment_type=allure.attachment_type.HTML)  # type: ignore[no-untyped-call]


def _attach_text(config: pytest.Config, name: str, text: str) -> None:
    if alluredir(config) is not None:
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    data = path.read_bytes()
    digest.update(data)
    return digest.hexdigest(), len(data)


# --- pre_release: review on staging ------------------------------------------------------


@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.lighthouse_performance_review")
def test_lighthouse_performance_review(
    lighthouse_runs: list[RunResult],
    lighthouse_evaluation: Evaluation,
    served_web_version: str,
    pytestconfig: pytest.Config,
) -> None:
    """Every run completes on the release staging serves, and the thresholds hold."""
    _attach_reports(pytestconfig, lighthouse_runs)
    text = f"web release {served_web_version}\n{summary(lighthouse_runs)}\n\n{lighthouse_evaluation.report()}"
    _attach_text(pytestconfig, "lighthouse review", text)
    assert lighthouse_evaluation.passed, text


# --- validate: the CI workflow's assertions, release-day confirmation ---------------------


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.ci.lighthouse_workflow")
def test_lighthouserc_assertions_pass(lighthouse_evaluation: Evaluation, pytestconfig: pytest.Config) -> None:
    """``lighthouserc.json``'s error-level assertions pass on every URL; no run failed."""
    report = lighthouse_evaluation.report()
    _attach_text(pytestconfig, "lighthouserc assertions", report)
    assert lighthouse_evaluation.passed, "\n".join(lighthouse_evaluation.failures()) + "\n\n" + report


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.lighthouse_thresholds_met")
def test_lighthouse_thresholds_met(
    lighthouse_runs: list[RunResult],
    lighthouse_evaluation: Evaluation,
    lighthouse_settings: LighthouseSettings,
    platform: Platform,
) -> None:
    """Each configured URL was measured ``runs`` times, all runs usable, thresholds met."""
    urls = lighthouse_settings.urls(platform.web_url)
    counts = {url: sum(1 for run in lighthouse_runs if run.url == url and run.ok) for url in urls}
    short = {url: count for url, count in counts.items() if count < lighthouse_settings.runs}
    assert not short, (
        f"URLs with fewer than {lighthouse_settings.runs} usable runs: {short}\n{summary(lighthouse_runs)}"
    )
    assert lighthouse_evaluation.passed, "\n".join(lighthouse_evaluation.failures())


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.lighthouse_thresholds_met")
def test_pwa_installable(
    served_web_version: str, platform: Platform, lighthouse_settings: LighthouseSettings, pytestconfig: pytest.Config
) -> None:
    """Installability (manifest and service worker), which Lighthouse 12 no longer audits."""
    report = check_installable(platform.web_url, timeout_s=lighthouse_settings.pwa_timeout_s)
    _attach_text(pytestconfig, "PWA installability", report.message())
    assert report.installable, report.message()


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.lighthouse_archived")
def test_lighthouse_reports_archived(
    lighthouse_runs: list[RunResult], lighthouse_settings: LighthouseSettings, pytestconfig: pytest.Config
) -> None:
    """Each run's JSON and HTML report is under the archive folder; checksums go to the ledger."""
    root = lighthouse_settings.output_dir
    files: list[dict[str, Any]] = []
    problems: list[str] = []
    for run in lighthouse_runs:
        for path in (run.json_path, run.html_path):
            if not path.is_file() or path.stat().st_size == 0:
                problems.append(f"{run.label}: {path} is missing or empty")
                continue
            if not path.resolve().is_relative_to(root.resolve()):
                problems.append(f"{run.label}: {path} is outside {root}")
                continue
            sha256, size = _sha256(path)
            files.append({"path": str(path.relative_to(root)), "sha256": sha256, "bytes": size, "run_ok": run.ok})
    assert not problems, "\n".join(problems)
    index = root / "index.json"
    index.write_text(json.dumps({"runs": summary(lighthouse_runs).splitlines(), "files": files}, indent=2) + "\n")
    runtime = get_runtime(pytestconfig)
    unit = runtime.current_unit.label if runtime.current_unit else None
    runtime.ledger.append(
        {
            "kind": "event",
            "event": "archived",
            "artifact_kind": "lighthouse",
            "root": str(root),
            "files": files,
            "unit": unit,
            "actor": actor(),
        }
    )
    _attach_reports(pytestconfig, lighthouse_runs)

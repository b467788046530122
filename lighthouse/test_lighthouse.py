"""Lighthouse: the pre-release review on staging, and the release candidate in validate.

Each measurement is Lighthouse runs of each configured path (``lighthouse/runner.py``),
once per release run, judged with the target's ``lighthouserc.json``
(``lighthouse/assertions.py``): ``[targets.<t>.checks.lighthouse].runs`` runs of the release
candidate, ``review_runs`` of staging.

- ``pre_release/review`` measures what staging serves now (pre_release runs before
  ``deploy_staging``: the previous release). A staging web server that serves no release yet
  (no ``/version.json``) fails it with that message, rather than measuring a placeholder.
- ``validate`` measures the release candidate: the bundle the ``web_build`` action wrote,
  served on loopback (``lighthouse/preview.py``), as the CI workflow's Lighthouse job does
  for a pull request. Its reports go to ``<output_dir>/candidate/`` and are the ones the
  release archives (``index.json``); the PWA installability check runs on it too.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import allure
import httpx
import pytest

from checks.artifacts.settings import ArtifactSettingsError, variables
from checks.artifacts.settings import from_target as artifacts_from_target
from checks.platform import Platform
from lighthouse.assertions import Evaluation, LighthouseRc, LighthouseRcError, evaluate, load_lighthouserc
from lighthouse.index import index_entries, write_index
from lighthouse.preview import PreviewError, preview, require_bundle
from lighthouse.pwa import check_installable
from lighthouse.runner import RunnerConfig, RunnerError, RunResult, result_from_dict, run_lighthouse, summary
from lighthouse.settings import LighthouseSettings, LighthouseSettingsError, from_table
from plugin import ActionResult
from plugin.allure_support import alluredir
from plugin.ledger import actor
from plugin.once import once_per_run
from plugin.runtime import get_runtime
from plugin.settings import Settings

HTTP_TIMEOUT = httpx.Timeout(10.0)
COPY_TIMEOUT_S = 120.0


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


def _measure_once(
    pytestconfig: pytest.Config,
    name: str,
    settings: LighthouseSettings,
    output_dir: Path,
    measure: Callable[[RunnerConfig], list[RunResult]],
) -> list[RunResult]:
    """``measure`` with the target's runner settings, once per release run.

    Under xdist the first worker to ask runs Lighthouse, and the others read its results
    (the LHRs from their files) instead of measuring again.
    """
    config = RunnerConfig(
        output_dir=output_dir, runs=settings.runs, parallel=settings.parallel, timeout_s=settings.timeout_s
    )

    def produce() -> list[dict[str, Any]]:
        try:
            return [run.to_dict() for run in measure(config)]
        except (RunnerError, PreviewError) as exc:
            pytest.fail(str(exc), pytrace=False)

    jobs = len(settings.paths) * config.runs
    budget = config.timeout_s * (jobs // max(config.parallel, 1) + 1) + 60
    return [result_from_dict(run) for run in once_per_run(pytestconfig, name, produce, budget)]


@pytest.fixture(scope="session")
def lighthouse_runs(
    platform: Platform,
    served_web_version: str,
    lighthouse_settings: LighthouseSettings,
    pytestconfig: pytest.Config,
) -> list[RunResult]:
    """``review_runs`` runs of every configured URL of staging, failed runs included (never dropped)."""
    urls = lighthouse_settings.urls(platform.web_url)
    return _measure_once(
        pytestconfig,
        "lighthouse-runs",
        replace(lighthouse_settings, runs=lighthouse_settings.review_runs),
        lighthouse_settings.output_dir,
        lambda config: run_lighthouse(urls, config),
    )


@pytest.fixture(scope="session")
def candidate_dist(web_build: ActionResult, release_settings: Settings, pytestconfig: pytest.Config) -> Path:
    """A copy of the bundle the web build wrote (``[targets.<t>.checks.artifacts].web_dist``),
    taken once per release run, in the run's folder.

    The copy is what is measured and checked: ``ci_green``'s turbo ``build`` (validate/confirm)
    rewrites the build folder, emptying it first, and may do so while the PWA check serves it.
    The first test to ask takes the copy: in a release, the lighthouserc assertions of
    validate/pipeline, before ``ci_green`` can run.
    """
    runtime = get_runtime(pytestconfig)
    try:
        built = artifacts_from_target(release_settings).resolve(variables(runtime)).web_dist
    except ArtifactSettingsError as exc:
        pytest.fail(str(exc), pytrace=False)
    snapshot = runtime.run_dir / "web-candidate"

    def copy() -> str:
        try:
            require_bundle(built)
        except PreviewError as exc:
            pytest.fail(str(exc), pytrace=False)
        shutil.copytree(built, snapshot)
        return str(snapshot)

    return Path(once_per_run(pytestconfig, "web-candidate", copy, COPY_TIMEOUT_S))


@pytest.fixture(scope="session")
def candidate_runs(
    candidate_dist: Path,
    platform: Platform,
    lighthouse_settings: LighthouseSettings,
    pytestconfig: pytest.Config,
) -> list[RunResult]:
    """Every run of every configured path of the release candidate's bundle, served on loopback.

    The bundle was built with staging's API addresses, so staging must be up (``platform``):
    a page whose data requests fail would be measured as broken. The candidate's folder of
    reports is emptied first: reports of an earlier candidate (on another ephemeral port) are
    not this release's.
    """

    def measure(config: RunnerConfig) -> list[RunResult]:
        shutil.rmtree(config.output_dir, ignore_errors=True)
        with preview(candidate_dist) as base:
            return run_lighthouse(lighthouse_settings.urls(base), config)

    output_dir = lighthouse_settings.output_dir / "candidate"
    return _measure_once(pytestconfig, "lighthouse-candidate-runs", lighthouse_settings, output_dir, measure)


@pytest.fixture(scope="session")
def candidate_evaluation(lighthouserc: LighthouseRc, candidate_runs: list[RunResult]) -> Evaluation:
    return evaluate(lighthouserc, candidate_runs)


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


# --- validate: the release candidate (the CI workflow's assertions, release-day confirmation) ---


@pytest.mark.phase("validate", "pipeline")
@pytest.mark.checklist("validate.ci.lighthouse_workflow")
def test_lighthouserc_assertions_pass(
    candidate_runs: list[RunResult], candidate_evaluation: Evaluation, pytestconfig: pytest.Config
) -> None:
    """``lighthouserc.json``'s error-level assertions pass on every URL of the candidate; no run failed."""
    report = f"{summary(candidate_runs)}\n\n{candidate_evaluation.report()}"
    _attach_text(pytestconfig, "lighthouserc assertions (release candidate)", report)
    assert candidate_evaluation.passed, "\n".join(candidate_evaluation.failures()) + "\n\n" + report


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.lighthouse_thresholds_met")
def test_lighthouse_thresholds_met(
    candidate_runs: list[RunResult], candidate_evaluation: Evaluation, lighthouse_settings: LighthouseSettings
) -> None:
    """Each configured path of the candidate was measured ``runs`` times, all usable, thresholds met."""
    measured = {run.url for run in candidate_runs}
    paths = len(lighthouse_settings.paths)
    assert len(measured) == paths, f"{len(measured)} URLs measured for {paths} paths\n{summary(candidate_runs)}"
    counts = {url: sum(1 for run in candidate_runs if run.url == url and run.ok) for url in sorted(measured)}
    short = {url: count for url, count in counts.items() if count < lighthouse_settings.runs}
    assert not short, f"URLs with fewer than {lighthouse_settings.runs} usable runs: {short}\n{summary(candidate_runs)}"
    assert candidate_evaluation.passed, "\n".join(candidate_evaluation.failures())


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.lighthouse_thresholds_met")
def test_pwa_installable(
    candidate_dist: Path,
    lighthouse_settings: LighthouseSettings,
    pytestconfig: pytest.Config,
) -> None:
    """The candidate's installability (manifest and service worker), which Lighthouse 12 no longer audits."""
    try:
        with preview(candidate_dist) as base:
            report = check_installable(base, timeout_s=lighthouse_settings.pwa_timeout_s)
    except PreviewError as exc:
        pytest.fail(str(exc), pytrace=False)
    _attach_text(pytestconfig, "PWA installability (release candidate)", report.message())
    assert report.installable, report.message()


@pytest.mark.phase("validate", "confirm")
@pytest.mark.checklist("validate.confirm.lighthouse_archived")
def test_lighthouse_reports_archived(
    candidate_runs: list[RunResult], lighthouse_settings: LighthouseSettings, pytestconfig: pytest.Config
) -> None:
    """Each candidate run's JSON and HTML report is under the archive folder; ``index.json``
    lists them with their checksums (the post-release archive takes exactly these), and so
    does the ledger."""
    root = lighthouse_settings.output_dir
    files, problems = index_entries(root, candidate_runs)
    assert not problems, "\n".join(problems)
    runtime = get_runtime(pytestconfig)
    write_index(root, candidate_runs, files, runtime.settings.version or "", runtime.run_id)
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
    _attach_reports(pytestconfig, candidate_runs)

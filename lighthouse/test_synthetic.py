"""Production final checks (runbook "Production Deployment", 5): the Lighthouse synthetic test.

Lighthouse (``lighthouse/runner.py``) on production's PWA, the configured paths of
``[targets.<t>.checks.lighthouse]`` with ``[targets.<t>.checks.promotion].lighthouse_runs``
runs each (a synthetic check, not the release candidate's median of three), judged by the
same ``lighthouserc.json`` (``lighthouse/assertions.py``); reports under
``<output_dir>/synthetic-production/``, listed in its ``index.json`` for the post-release
archive; and the PWA's installability (``lighthouse/pwa.py``), which Lighthouse 12 no
longer audits, re-checked on production.
"""

from __future__ import annotations

from dataclasses import replace

import allure
import httpx
import pytest

from checks.platform import Platform
from checks.promotion import PromotionError
from checks.promotion import from_target as promotion_from_target
from lighthouse.assertions import Evaluation, LighthouseRcError, evaluate, load_lighthouserc
from lighthouse.index import index_entries, write_index
from lighthouse.pwa import check_installable
from lighthouse.runner import RunnerConfig, RunnerError, RunResult, run_lighthouse, summary
from lighthouse.settings import LighthouseSettings, LighthouseSettingsError, from_table
from plugin.allure_support import alluredir
from plugin.runtime import get_runtime
from plugin.settings import Settings

HTTP_TIMEOUT = httpx.Timeout(10.0)

pytestmark = [
    pytest.mark.phase("deploy_production", "final_checks"),
    pytest.mark.checklist("deploy_production.final_checks.lighthouse_synthetic"),
]


@pytest.fixture(scope="session")
def synthetic_settings(release_settings: Settings) -> LighthouseSettings:
    """The Lighthouse table, with the promotion's run count and its own report folder."""
    target = release_settings.target
    table = target.checks.get("lighthouse") if target is not None else None
    try:
        base = from_table(table, release_settings.rootdir, release_settings.target_name)
        runs = promotion_from_target(release_settings).lighthouse_runs
    except (LighthouseSettingsError, PromotionError) as exc:
        pytest.fail(str(exc), pytrace=False)
    env = release_settings.env or "staging"
    return replace(base, runs=runs, output_dir=base.output_dir / f"synthetic-{env}")


@pytest.fixture(scope="session")
def synthetic_runs(
    platform: Platform, release_settings: Settings, synthetic_settings: LighthouseSettings
) -> list[RunResult]:
    url = platform.web_url.rstrip("/") + "/version.json"
    try:
        served = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False).json().get("version")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        pytest.fail(f"{platform.env} web app: GET {url}: {type(exc).__name__}: {exc}", pytrace=False)
    if served != release_settings.version:
        pytest.fail(
            f"{platform.env} serves web {served!r}, not {release_settings.version}: nothing to measure", pytrace=False
        )
    config = RunnerConfig(
        output_dir=synthetic_settings.output_dir,
        runs=synthetic_settings.runs,
        parallel=synthetic_settings.parallel,
        timeout_s=synthetic_settings.timeout_s,
    )
    try:
        return run_lighthouse(synthetic_settings.urls(platform.web_url), config)
    except RunnerError as exc:
        pytest.fail(str(exc), pytrace=False)


def _attach(config: pytest.Config, runs: list[RunResult], text: str) -> None:
    if alluredir(config) is None:
        return
    allure.attach(text, name="lighthouse synthetic", attachment_type=allure.attachment_type.TEXT)
    for run in runs:
        if run.html_path.is_file():
            allure.attach.file(
                run.html_path, name=f"lighthouse {run.label} (HTML)", attachment_type=allure.attachment_type.HTML
            )  # type: ignore[no-untyped-call]


def test_lighthouse_synthetic_meets_the_thresholds(
    synthetic_runs: list[RunResult],
    synthetic_settings: LighthouseSettings,
    platform: Platform,
    pytestconfig: pytest.Config,
) -> None:
    try:
        lighthouserc = load_lighthouserc(synthetic_settings.config)
    except LighthouseRcError as exc:
        pytest.fail(str(exc), pytrace=False)
    evaluation: Evaluation = evaluate(lighthouserc, synthetic_runs)
    text = f"{platform.env} {platform.web_url}\n{summary(synthetic_runs)}\n\n{evaluation.report()}"
    _attach(pytestconfig, synthetic_runs, text)
    # The release's synthetic reports, for the post-release archive (other runs' share the folder).
    files, problems = index_entries(synthetic_settings.output_dir, synthetic_runs)
    assert not problems, "\n".join(problems)
    runtime = get_runtime(pytestconfig)
    write_index(synthetic_settings.output_dir, synthetic_runs, files, runtime.settings.version or "", runtime.run_id)
    urls = synthetic_settings.urls(platform.web_url)
    usable = {url: sum(1 for run in synthetic_runs if run.url == url and run.ok) for url in urls}
    short = {url: count for url, count in usable.items() if count < synthetic_settings.runs}
    assert not short, f"URLs without {synthetic_settings.runs} usable runs: {short}\n{summary(synthetic_runs)}"
    assert evaluation.passed, "\n".join(evaluation.failures()) + "\n\n" + text


def test_pwa_installable_in_production(
    platform: Platform, synthetic_settings: LighthouseSettings, release_settings: Settings, pytestconfig: pytest.Config
) -> None:
    """The manifest and service worker of the promoted release, as the staging check saw them."""
    report = check_installable(platform.web_url, timeout_s=synthetic_settings.pwa_timeout_s)
    if alluredir(pytestconfig) is not None:
        allure.attach(report.message(), name="PWA installability", attachment_type=allure.attachment_type.TEXT)
    assert report.installable, f"{platform.env} ({release_settings.version}): {report.message()}"

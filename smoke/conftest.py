"""Fixtures of the smoke suite: the platform, the contracts, the concurrent run, Playwright.

The ``platform`` fixture of ``checks/conftest.py`` is visible only under ``checks/``; the
import below re-exports it and the ``platform_up`` action fixture it requests, so this
suite gets the same platform (``checks.platform.load_platform``) through the same action.

Playwright is layered the way pytest-playwright layers it (``browser_type_launch_args``
-> ``browser_type`` -> ``browser`` -> ``context`` -> ``page``), with the system Chromium
and fixed launch arguments; browsers are never downloaded (no ``playwright install``).
A failed Playwright test keeps a screenshot and a trace under ``artifacts/playwright/``
and attaches both to its Allure result when Allure is writing results.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from checks.conftest import platform, platform_up  # fixtures re-exported for smoke/ (see __all__)
from checks.platform import Platform
from plugin.runtime import get_runtime
from plugin.settings import Settings
from smoke.contracts import Check, SmokeConfigError, SmokeSettings, expand, load_contracts, smoke_settings
from smoke.runner import CheckResult, Target, run_checks

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path("artifacts") / "playwright"
TRACE_SAVED = pytest.StashKey[bool]()
NO_RELEASE = "staging serves no release: run the deploy first"

# The fixtures of checks/conftest.py this suite uses, re-exported.
__all__ = ["platform", "platform_up"]


# --- contracts, read at collection time -------------------------------------------------


def _settings_of(config: pytest.Config) -> tuple[Settings, SmokeSettings]:
    settings = get_runtime(config).settings
    section = settings.target.checks.get("smoke") if settings.target is not None else None
    return settings, smoke_settings(section, config_path=settings.config_path, target=settings.target_name)


def contract_checks(config: pytest.Config) -> list[Check]:
    """The checks of the target's contract file; the same list on every xdist worker."""
    settings, smoke = _settings_of(config)
    return expand(load_contracts(settings.rootdir / smoke.contracts))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "smoke_check" not in metafunc.fixturenames:
        return
    try:
        checks = contract_checks(metafunc.config)
    except SmokeConfigError as exc:
        raise pytest.Collector.CollectError(str(exc)) from None
    metafunc.parametrize("smoke_check", checks, ids=[check.id for check in checks])


# --- the deployed release and the concurrent run ----------------------------------------


@pytest.fixture(scope="session")
def smoke_config(pytestconfig: pytest.Config) -> SmokeSettings:
    try:
        return _settings_of(pytestconfig)[1]
    except SmokeConfigError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def deployed_release(platform: Platform, release_settings: Settings) -> dict[str, Any]:
    """What the target serves. The sandbox records it; a fresh one fails at once, clearly."""
    if platform.target != "sandbox":
        return {}
    from sandbox import Sandbox  # noqa: PLC0415 - the embedded target, only when it is the target

    versions: dict[str, Any] = Sandbox.for_env(platform.env).status().summary()["versions"]  # type: ignore[arg-type]
    missing = [part for part in ("functions", "agents", "web") if not versions.get(part)]
    if missing:
        pytest.fail(
            f"{NO_RELEASE} ({platform.env} has no {', '.join(missing)} release; "
            "pytest -m staging deploys it, or python -m sandbox deploy <part> --version V)",
            pytrace=False,
        )
    return versions


@pytest.fixture(scope="session")
def smoke_target(
    platform: Platform, release_settings: Settings, smoke_config: SmokeSettings, deployed_release: dict[str, Any]
) -> Target:
    if smoke_config.verify_jwt == "auto":
        verified = bool(deployed_release.get("functions_verify_jwt", True))
    else:
        verified = smoke_config.verify_jwt
    return Target(
        bases={"agents": platform.agents_url, "functions": platform.functions_url, "web": platform.web_url},
        version=release_settings.version,
        service_token=platform.service_token,
        jwt_verified=verified,
    )


@pytest.fixture(scope="session")
def smoke_results(
    pytestconfig: pytest.Config, smoke_target: Target, smoke_config: SmokeSettings
) -> dict[str, CheckResult]:
    """Every contract, checked once and concurrently; each test then reads its own result."""
    return run_checks(contract_checks(pytestconfig), smoke_target, max_connections=smoke_config.max_connections)


# --- Playwright, pytest-playwright style ------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": CHROMIUM, "args": list(CHROMIUM_ARGS), "headless": True, "timeout": 60_000}


@pytest.fixture(scope="session", name="playwright")
def playwright_fixture() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser_type(playwright: Playwright) -> BrowserType:
    return playwright.chromium


@pytest.fixture(scope="session")
def browser(browser_type: BrowserType, browser_type_launch_args: dict[str, Any]) -> Iterator[Browser]:
    launched = browser_type.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture
def browser_context_args(platform: Platform) -> dict[str, Any]:
    return {"base_url": platform.web_url, "service_workers": "allow"}


@pytest.fixture
def context(
    browser: Browser, browser_context_args: dict[str, Any], smoke_config: SmokeSettings, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    made = browser.new_context(**browser_context_args)
    made.set_default_timeout(smoke_config.playwright_timeout_s * 1000)
    made.set_default_navigation_timeout(smoke_config.playwright_timeout_s * 1000)
    made.tracing.start(screenshots=True, snapshots=True, sources=False)
    yield made
    if not request.node.stash.get(TRACE_SAVED, False):
        made.tracing.stop()
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def artifact_dir(item: pytest.Item) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")
    return item.config.rootpath / ARTIFACTS / safe


def _keep_failure_artifacts(item: pytest.Item) -> list[str]:
    """Screenshot and trace of a failed Playwright test; returns what could not be kept."""
    page_fixture = item.funcargs.get("page") if isinstance(item, pytest.Function) else None
    if not isinstance(page_fixture, Page):
        return []
    where = artifact_dir(item)
    where.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    kept: list[tuple[Path, str, Any]] = []
    import allure  # noqa: PLC0415 - only on failure

    screenshot = where / "screenshot.png"
    try:
        page_fixture.screenshot(path=str(screenshot), full_page=True, timeout=10_000)
        kept.append((screenshot, "screenshot", allure.attachment_type.PNG))
    except (PlaywrightError, OSError) as exc:  # a dead page must not hide the test's own failure
        problems.append(f"screenshot: {type(exc).__name__}: {exc}")
    trace = where / "trace.zip"
    try:
        page_fixture.context.tracing.stop(path=str(trace))
        item.stash[TRACE_SAVED] = True
        kept.append((trace, "playwright trace (npx playwright show-trace)", allure.attachment_type.ZIP))
    except (PlaywrightError, OSError) as exc:
        problems.append(f"trace: {type(exc).__name__}: {exc}")
    if item.config.getoption("allure_report_dir", None):
        for path, name, kind in kept:
            allure.attach.file(str(path), name=name, attachment_type=kind)  # type: ignore[no-untyped-call]
    return problems


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        for problem in _keep_failure_artifacts(item):
            report.sections.append(("playwright artifacts", problem))
        if "page" in getattr(item, "funcargs", {}):
            report.sections.append(("playwright artifacts", f"kept under {artifact_dir(item)}"))
    return report

"""Production final checks (runbook "Production Deployment", 5): the smoke endpoints and flows.

The runbook's ``pnpm test:e2e -- --grep "smoke"`` is the smoke suite run against production:

- every endpoint contract of ``smoke/contracts.toml``, concurrently (``smoke/runner.py``), with
  JWT verification required (production's functions are deployed with ``--verify-jwt``, so a
  call without a token must get 401 whatever the target records);
- every Playwright smoke flow of ``smoke/test_playwright.py`` (its ``test_smoke_*`` functions,
  called with this test's page and context), in the system Chromium against production's PWA.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from checks.platform import Platform
from plugin.settings import Settings
from smoke import test_playwright as flows
from smoke.conftest import contract_checks
from smoke.contracts import Check, SmokeSettings
from smoke.runner import CheckResult, Target, run_checks

FLOWS = sorted(name for name, value in vars(flows).items() if name.startswith("test_smoke_") and callable(value))

pytestmark = [
    pytest.mark.phase("deploy_production", "final_checks"),
    pytest.mark.checklist("deploy_production.final_checks.e2e_smoke"),
    pytest.mark.usefixtures("deployed_release"),
]


@pytest.fixture(scope="session")
def production_smoke_results(
    pytestconfig: pytest.Config, platform: Platform, release_settings: Settings, smoke_config: SmokeSettings
) -> dict[str, CheckResult]:
    """Every contract against production, once and concurrently, JWT verification required."""
    target = Target(
        bases={"agents": platform.agents_url, "functions": platform.functions_url, "web": platform.web_url},
        version=release_settings.version,
        service_token=platform.service_token,
        jwt_verified=True,
    )
    return run_checks(contract_checks(pytestconfig), target, max_connections=smoke_config.max_connections)


def test_production_smoke_endpoint(
    smoke_check: Check,
    production_smoke_results: dict[str, CheckResult],
    platform: Platform,
    release_settings: Settings,
) -> None:
    assert platform.env == "production", f"the final checks run against production, not {platform.env}"
    result = production_smoke_results.get(smoke_check.id)
    assert result is not None, f"{smoke_check.id}: the smoke run has no result for this endpoint"
    if not result.ok:
        runbook = f" [{smoke_check.contract.runbook}]" if smoke_check.contract.runbook else ""
        pytest.fail(release_settings.masker.mask(result.message) + runbook, pytrace=False)


@pytest.mark.parametrize("flow", FLOWS)
def test_production_smoke_flow(
    flow: str, page: Page, context: BrowserContext, platform: Platform, smoke_config: SmokeSettings
) -> None:
    assert platform.env == "production", f"the final checks run against production, not {platform.env}"
    function = getattr(flows, flow)
    available: dict[str, Any] = {"page": page, "context": context, "platform": platform, "smoke_config": smoke_config}
    wanted = list(inspect.signature(function).parameters)
    unknown = [name for name in wanted if name not in available]
    assert unknown == [], f"smoke flow {flow} needs fixtures this check does not give: {unknown}"
    function(**{name: available[name] for name in wanted})

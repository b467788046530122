"""Production final checks (runbook "Production Deployment", 5): the smoke endpoints and flows.

The runbook's ``pnpm test:e2e -- --grep "smoke"`` is the smoke suite run against production:

- every endpoint contract of ``smoke/contracts.toml``, concurrently (``smoke/runner.py``), with
  JWT verification required (production's functions are deployed with ``--verify-jwt``, so a
  call without a token must get 401 whatever the target records);
- every Playwright smoke flow (``smoke/flows.py``, the ones staging runs), in the system
  Chromium against production's PWA.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from checks.platform import Platform
from plugin.settings import Settings
from smoke.conftest import contract_checks
from smoke.contracts import Check, SmokeSettings
from smoke.flows import FLOWS
from smoke.runner import CheckResult, Target, run_checks

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


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_production_smoke_flow(
    flow: str, page: Page, context: BrowserContext, platform: Platform, smoke_config: SmokeSettings
) -> None:
    assert platform.env == "production", f"the final checks run against production, not {platform.env}"
    FLOWS[flow](page, context, platform, smoke_config.tenant)

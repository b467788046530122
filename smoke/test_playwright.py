"""The PWA's key flows for a tenant in the system Chromium (the runbook's Playwright smoke).

The runbook's final check ``pnpm test:e2e --grep "smoke"`` and ``pytest -m staging -k
smoke`` select these. Each test gets a fresh browser context (``smoke/conftest.py``); a
failure keeps a screenshot and a trace. The flows themselves are in ``smoke/flows.py``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from checks.platform import Platform
from smoke import flows
from smoke.contracts import SmokeSettings

pytestmark = [
    pytest.mark.phase("verify_staging", "checks"),
    pytest.mark.checklist("verify_staging.checks.playwright"),
    pytest.mark.usefixtures("deployed_release"),
]


def test_smoke_menu_renders(
    page: Page, context: BrowserContext, platform: Platform, smoke_config: SmokeSettings
) -> None:
    flows.menu_renders(page, context, platform, smoke_config.tenant)


def test_smoke_cart_total(page: Page, context: BrowserContext, platform: Platform, smoke_config: SmokeSettings) -> None:
    flows.cart_total(page, context, platform, smoke_config.tenant)


def test_smoke_checkout_posts_a_payment(
    page: Page, context: BrowserContext, platform: Platform, smoke_config: SmokeSettings
) -> None:
    flows.checkout_posts_a_payment(page, context, platform, smoke_config.tenant)


def test_smoke_offline_shell(
    page: Page, context: BrowserContext, platform: Platform, smoke_config: SmokeSettings
) -> None:
    flows.offline_shell(page, context, platform, smoke_config.tenant)

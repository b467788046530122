"""The PWA's key flows for a tenant in the system Chromium (the runbook's Playwright smoke).

The runbook's final check ``pnpm test:e2e --grep "smoke"`` and ``pytest -m staging -k
smoke`` select these. Each test gets a fresh browser context (``smoke/conftest.py``); a
failure keeps a screenshot and a trace.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from checks.platform import Platform
from smoke.contracts import SmokeSettings

HTTP_TIMEOUT = httpx.Timeout(10.0)

pytestmark = [
    pytest.mark.phase("verify_staging", "checks"),
    pytest.mark.checklist("verify_staging.checks.playwright"),
    pytest.mark.usefixtures("deployed_release"),
]


def _menu(platform: Platform, tenant: str) -> dict[str, Any]:
    """The menu the PWA shows for the tenant: its own, or the shared default."""
    for name in (tenant, "default"):
        response = httpx.get(f"{platform.web_url}/menus/{name}.json", timeout=HTTP_TIMEOUT, follow_redirects=False)
        if response.status_code == 200 and "json" in response.headers.get("content-type", ""):
            menu: dict[str, Any] = json.loads(response.text)
            return menu
    pytest.fail(f"the PWA publishes no menu for {tenant!r} (nor a default one)", pytrace=False)


def _open(page: Page, tenant: str, route: str) -> None:
    page.goto(f"/?tenant={tenant}#/{route}")


def _add_items(page: Page, menu: dict[str, Any], tenant: str) -> int:
    """Adds the first item twice and the second once; returns the expected total in cents."""
    _open(page, tenant, "menu")
    items = menu["items"]
    assert len(items) >= 2, "the menu needs two items for the cart flow"
    first, second = items[0], items[1]
    for item_id in (first["id"], first["id"], second["id"]):
        page.locator(f'button[data-action="add"][data-item-id="{item_id}"]').click()
    expect(page.locator("[data-cart-count]")).to_have_text("3")
    subtotal = 2 * int(first["price_cents"]) + int(second["price_cents"])
    service = int(subtotal * float(menu.get("service_rate", 0)) + 0.5 + 1e-9)
    return subtotal + service


def _money(page: Page, cents: int, currency: str) -> str:
    text: str = page.evaluate(
        "([cents, currency]) => new Intl.NumberFormat('en-GB', {style: 'currency', currency}).format(cents / 100)",
        [cents, currency],
    )
    return text


def test_smoke_menu_renders(page: Page, platform: Platform, smoke_config: SmokeSettings) -> None:
    menu = _menu(platform, smoke_config.tenant)
    _open(page, smoke_config.tenant, "menu")
    expect(page.locator("li.item").first).to_be_visible()
    expect(page.locator("li.item")).to_have_count(len(menu["items"]))
    expect(page.locator("main h1")).to_have_text(menu["name"])


def test_smoke_cart_total(page: Page, platform: Platform, smoke_config: SmokeSettings) -> None:
    menu = _menu(platform, smoke_config.tenant)
    total = _add_items(page, menu, smoke_config.tenant)
    _open(page, smoke_config.tenant, "cart")
    expect(page.locator("table.cart tr[data-line]")).to_have_count(2)
    expect(page.locator('[data-total="total"]')).to_have_text(_money(page, total, menu["currency"]))


def test_smoke_checkout_posts_a_payment(page: Page, platform: Platform, smoke_config: SmokeSettings) -> None:
    menu = _menu(platform, smoke_config.tenant)
    total = _add_items(page, menu, smoke_config.tenant)
    _open(page, smoke_config.tenant, "checkout")
    expect(page.locator('[data-total="total"]')).to_have_text(_money(page, total, menu["currency"]))
    page.locator('input[name="name"]').fill("Release Gate")
    page.locator('input[name="table"]').fill("12")
    with page.expect_response(lambda r: r.url.endswith("/payments") and r.request.method == "POST") as answered:
        page.locator('form[data-action="checkout"] button[type="submit"]').click()
    payment = answered.value
    assert payment.status == 201, f"POST /payments answered {payment.status}: {payment.text()[:200]}"
    body = payment.json()
    assert body["amount_cents"] == total, f"the PWA paid {body['amount_cents']} cents, the cart says {total}"
    expect(page.locator("p.success")).to_contain_text(f"Payment {body['payment_id']} received")
    expect(page.locator("[data-cart-count]")).to_have_text("0")


def test_smoke_offline_shell(page: Page, context: BrowserContext, smoke_config: SmokeSettings) -> None:
    _open(page, smoke_config.tenant, "menu")
    expect(page.locator("li.item").first).to_be_visible()
    # The worker precaches the shell at install and claims the page at activation.
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    try:
        page.reload()
        expect(page.locator("nav.nav")).to_be_visible()
        expect(page.locator("li.item").first).to_be_visible()
        assert page.evaluate("navigator.onLine") is False, "the browser was not offline"
    finally:
        context.set_offline(False)

"""The PWA's key flows for a tenant, as plain functions of a Playwright page and context.

The staging checks (``smoke/test_playwright.py``) and the production final checks
(``smoke/test_final_checks.py``) run the same flows; :data:`FLOWS` names them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from checks.platform import Platform

HTTP_TIMEOUT = httpx.Timeout(10.0)

Flow = Callable[[Page, BrowserContext, Platform, str], None]


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


def menu_renders(page: Page, context: BrowserContext, platform: Platform, tenant: str) -> None:
    """The tenant's menu page shows every item of its menu under the menu's name."""
    menu = _menu(platform, tenant)
    _open(page, tenant, "menu")
    expect(page.locator("li.item").first).to_be_visible()
    expect(page.locator("li.item")).to_have_count(len(menu["items"]))
    expect(page.locator("main h1")).to_have_text(menu["name"])


def cart_total(page: Page, context: BrowserContext, platform: Platform, tenant: str) -> None:
    """Items added from the menu make the cart's lines and its total, service included."""
    menu = _menu(platform, tenant)
    total = _add_items(page, menu, tenant)
    _open(page, tenant, "cart")
    expect(page.locator("table.cart tr[data-line]")).to_have_count(2)
    expect(page.locator('[data-total="total"]')).to_have_text(_money(page, total, menu["currency"]))


def checkout_posts_a_payment(page: Page, context: BrowserContext, platform: Platform, tenant: str) -> None:
    """Checkout posts the cart's total to the agents service's payments and empties the cart."""
    menu = _menu(platform, tenant)
    total = _add_items(page, menu, tenant)
    _open(page, tenant, "checkout")
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


def offline_shell(page: Page, context: BrowserContext, platform: Platform, tenant: str) -> None:
    """The service worker serves the shell and the menu with the browser offline."""
    _open(page, tenant, "menu")
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


FLOWS: dict[str, Flow] = {
    "menu_renders": menu_renders,
    "cart_total": cart_total,
    "checkout_posts_a_payment": checkout_posts_a_payment,
    "offline_shell": offline_shell,
}

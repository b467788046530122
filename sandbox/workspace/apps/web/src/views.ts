import { computeTotals, formatMoney, itemCount, MAX_QUANTITY, type Cart, type Menu } from "./cart";
import type { CheckoutErrors, CheckoutForm } from "./checkout";
import { escapeHtml } from "./html";
import { hrefFor, type Page } from "./routing";

export const DEMO_TENANTS = ["icupa-hq", "kigali-bistro"] as const;

export function navBar(tenant: string, active: Page, cart: Cart): string {
  const link = (page: Page, label: string): string =>
    `<a href="${escapeHtml(hrefFor(page, tenant))}" data-page="${page}"${page === active ? ' aria-current="page"' : ""}>${label}</a>`;
  const count = itemCount(cart);
  return `<nav class="nav">${link("menu", "Menu")}${link("cart", `Cart (<span data-cart-count>${count}</span>)`)}${link("checkout", "Checkout")}</nav>`;
}

export function menuView(menu: Menu): string {
  const categories = [...new Set(menu.items.map((item) => item.category))];
  const sections = categories.map((category) => {
    const items = menu.items
      .filter((item) => item.category === category)
      .map(
        (item) => `<li class="item" data-item="${escapeHtml(item.id)}">
  <div><h3>${escapeHtml(item.name)}</h3><p>${escapeHtml(item.description)}</p>${
    item.allergens.length > 0 ? `<p class="allergens">Contains: ${escapeHtml(item.allergens.join(", "))}</p>` : ""
  }</div>
  <div class="buy"><span class="price">${escapeHtml(formatMoney(item.price_cents, menu.currency))}</span>
  <button type="button" data-action="add" data-item-id="${escapeHtml(item.id)}">Add</button></div>
</li>`,
      )
      .join("");
    return `<section><h2>${escapeHtml(category)}</h2><ul class="items">${items}</ul></section>`;
  });
  return `<h1>${escapeHtml(menu.name)}</h1>${sections.join("")}`;
}

export function cartView(cart: Cart, menu: Menu, tenant: string): string {
  const totals = computeTotals(cart, menu);
  if (totals.lines.length === 0) {
    return `<h1>Your cart</h1><p class="empty">Your cart is empty. <a href="${escapeHtml(hrefFor("menu", tenant))}">Browse the menu</a>.</p>`;
  }
  const money = (cents: number): string => escapeHtml(formatMoney(cents, menu.currency));
  const rows = totals.lines
    .map(
      (line) => `<tr data-line="${escapeHtml(line.item.id)}">
  <td>${escapeHtml(line.item.name)}</td>
  <td><input type="number" min="0" max="${MAX_QUANTITY}" value="${line.quantity}" data-action="quantity" data-item-id="${escapeHtml(line.item.id)}" aria-label="Quantity of ${escapeHtml(line.item.name)}"></td>
  <td class="num">${money(line.line_cents)}</td>
  <td><button type="button" data-action="remove" data-item-id="${escapeHtml(line.item.id)}">Remove</button></td>
</tr>`,
    )
    .join("");
  const notice =
    totals.unavailable.length > 0
      ? `<p class="notice">Some items are no longer on the menu and were left out.</p>`
      : "";
  return `<h1>Your cart</h1>${notice}<table class="cart"><tbody>${rows}</tbody></table>
<dl class="totals"><dt>Subtotal</dt><dd data-total="subtotal">${money(totals.subtotal_cents)}</dd>
<dt>Service</dt><dd data-total="service">${money(totals.service_cents)}</dd>
<dt>Total</dt><dd data-total="total">${money(totals.total_cents)}</dd></dl>
<p><a class="button" href="${escapeHtml(hrefFor("checkout", tenant))}">Go to checkout</a></p>`;
}

export interface CheckoutState {
  form: CheckoutForm;
  errors: CheckoutErrors;
  status: "idle" | "paying" | "paid" | "failed";
  message: string;
}

export function checkoutView(cart: Cart, menu: Menu, tenant: string, state: CheckoutState, paymentsEnabled: boolean): string {
  if (state.status === "paid") {
    return `<h1>Thank you</h1><p class="success" role="status">${escapeHtml(state.message)}</p><p><a href="${escapeHtml(hrefFor("menu", tenant))}">Back to the menu</a></p>`;
  }
  const totals = computeTotals(cart, menu);
  if (totals.lines.length === 0) {
    return `<h1>Checkout</h1><p class="empty">Nothing to pay yet. <a href="${escapeHtml(hrefFor("menu", tenant))}">Browse the menu</a>.</p>`;
  }
  const error = (field: keyof CheckoutForm): string =>
    state.errors[field] === undefined ? "" : `<span class="error" data-error="${field}">${escapeHtml(state.errors[field])}</span>`;
  const disabled = !paymentsEnabled || state.status === "paying";
  return `<h1>Checkout</h1>
<p>Total to pay: <strong data-total="total">${escapeHtml(formatMoney(totals.total_cents, menu.currency))}</strong></p>
<form data-action="checkout" novalidate>
  <label>Name <input name="name" autocomplete="name" value="${escapeHtml(state.form.name)}"></label>${error("name")}
  <label>Table <input name="table" inputmode="numeric" value="${escapeHtml(state.form.table)}"></label>${error("table")}
  <button type="submit"${disabled ? " disabled" : ""}>${state.status === "paying" ? "Paying…" : "Pay now"}</button>
</form>
${paymentsEnabled ? "" : `<p class="notice">Payments are not configured for this build.</p>`}
${state.status === "failed" ? `<p class="error" role="alert">${escapeHtml(state.message)}</p>` : ""}`;
}

export function noTenantView(): string {
  const links = DEMO_TENANTS.map((slug) => `<li><a href="${escapeHtml(hrefFor("menu", slug))}">${slug}</a></li>`).join("");
  return `<h1>Choose a restaurant</h1><p>Open this app from your table's QR code, or pick a demo restaurant:</p><ul>${links}</ul>`;
}

export function messageView(title: string, message: string): string {
  return `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`;
}

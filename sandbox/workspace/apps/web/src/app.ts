import { addItem, computeTotals, parseCart, removeItem, serializeCart, setQuantity, type Cart, type Menu } from "./cart";
import { paymentReference, submitPayment, validateCheckout } from "./checkout";
import { loadMenu, type FetchLike } from "./menu";
import { parseRoute, type Route } from "./routing";
import { cartView, checkoutView, menuView, messageView, navBar, noTenantView, type CheckoutState } from "./views";

export interface AppDeps {
  fetch: FetchLike;
  location: { readonly search: string; readonly hash: string };
  storage: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  /** Where hashchange events come from (the window in the browser). */
  events: EventTarget;
  agentsUrl: string | undefined;
  base?: string;
}

export interface MountedApp {
  render(): Promise<void>;
  destroy(): void;
}

const cartKey = (tenant: string): string => `icupa.cart.${tenant}`;

function freshCheckout(): CheckoutState {
  return { form: { name: "", table: "" }, errors: {}, status: "idle", message: "" };
}

export function mountApp(root: HTMLElement, deps: AppDeps): MountedApp {
  const menus = new Map<string, Menu>();
  let checkout = freshCheckout();
  let route: Route = parseRoute(deps.location.search, deps.location.hash);

  const readCart = (tenant: string): Cart => parseCart(deps.storage.getItem(cartKey(tenant)));
  const writeCart = (tenant: string, cart: Cart): void => {
    if (cart.length === 0) deps.storage.removeItem(cartKey(tenant));
    else deps.storage.setItem(cartKey(tenant), serializeCart(cart));
  };

  const paint = (html: string): void => {
    root.innerHTML = html;
  };

  async function render(): Promise<void> {
    route = parseRoute(deps.location.search, deps.location.hash);
    if (route.kind === "no-tenant") return paint(noTenantView());
    if (route.kind === "bad-tenant") {
      return paint(messageView("Unknown restaurant", `"${route.tenant}" is not a valid restaurant code.`));
    }
    const tenant = route.tenant;
    let menu = menus.get(tenant);
    if (menu === undefined) {
      paint(`<p class="loading">Loading the menu…</p>`);
      try {
        menu = await loadMenu(deps.fetch, tenant, deps.base);
        menus.set(tenant, menu);
      } catch (error) {
        return paint(messageView("Menu unavailable", error instanceof Error ? error.message : String(error)));
      }
    }
    if (route.kind === "not-found") {
      return paint(navBar(tenant, "menu", readCart(tenant)) + messageView("Page not found", `There is no page "${route.path}".`));
    }
    const cart = readCart(tenant);
    const body =
      route.page === "menu"
        ? menuView(menu)
        : route.page === "cart"
          ? cartView(cart, menu, tenant)
          : checkoutView(cart, menu, tenant, checkout, deps.agentsUrl !== undefined);
    paint(navBar(tenant, route.page, cart) + `<main>${body}</main>`);
  }

  function currentTenant(): string | undefined {
    return route.kind === "page" || route.kind === "not-found" ? route.tenant : undefined;
  }

  function onClick(event: Event): void {
    const target = event.target as HTMLElement | null;
    const button = target?.closest<HTMLElement>("[data-action]");
    const tenant = currentTenant();
    const itemId = button?.dataset.itemId;
    if (button === null || button === undefined || tenant === undefined || itemId === undefined) return;
    const action = button.dataset.action;
    if (action === "add") writeCart(tenant, addItem(readCart(tenant), itemId));
    else if (action === "remove") writeCart(tenant, removeItem(readCart(tenant), itemId));
    else return;
    void render();
  }

  function onChange(event: Event): void {
    const input = event.target as HTMLInputElement | null;
    const tenant = currentTenant();
    if (input?.dataset.action !== "quantity" || input.dataset.itemId === undefined || tenant === undefined) return;
    writeCart(tenant, setQuantity(readCart(tenant), input.dataset.itemId, Number(input.value)));
    void render();
  }

  async function pay(form: HTMLFormElement): Promise<void> {
    const tenant = currentTenant();
    const menu = tenant === undefined ? undefined : menus.get(tenant);
    if (tenant === undefined || menu === undefined || deps.agentsUrl === undefined) return;
    const data = new FormData(form);
    checkout.form = { name: String(data.get("name") ?? ""), table: String(data.get("table") ?? "") };
    checkout.errors = validateCheckout(checkout.form);
    if (Object.keys(checkout.errors).length > 0) return render();
    const totals = computeTotals(readCart(tenant), menu);
    checkout.status = "paying";
    await render();
    const result = await submitPayment(deps.fetch, deps.agentsUrl, {
      tenant,
      amount_cents: totals.total_cents,
      currency: menu.currency,
      reference: paymentReference(checkout.form),
    });
    if (result.ok) {
      writeCart(tenant, []);
      checkout = {
        ...freshCheckout(),
        status: "paid",
        message: `Payment ${result.paymentId} received. Your order is on its way to table ${checkout.form.table.trim()}.`,
      };
    } else {
      checkout.status = "failed";
      checkout.message = result.message;
    }
    await render();
    if (result.ok) checkout = freshCheckout();
  }

  function onSubmit(event: Event): void {
    const form = event.target as HTMLFormElement | null;
    if (form?.dataset.action !== "checkout") return;
    event.preventDefault();
    void pay(form);
  }

  const onNavigate = (): void => {
    void render();
  };

  root.addEventListener("click", onClick);
  root.addEventListener("change", onChange);
  root.addEventListener("submit", onSubmit);
  deps.events.addEventListener("hashchange", onNavigate);
  deps.events.addEventListener("popstate", onNavigate);

  return {
    render,
    destroy() {
      root.removeEventListener("click", onClick);
      root.removeEventListener("change", onChange);
      root.removeEventListener("submit", onSubmit);
      deps.events.removeEventListener("hashchange", onNavigate);
      deps.events.removeEventListener("popstate", onNavigate);
    },
  };
}

// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mountApp, type AppDeps, type MountedApp } from "../src/app";
import { DEMO_MENU, fakeFetch, jsonResponse } from "./fixtures";

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

let root: HTMLElement;
let app: MountedApp | undefined;
let location: { search: string; hash: string };
let events: EventTarget;
let storage: MemoryStorage;

beforeEach(() => {
  document.body.innerHTML = '<div id="app"></div>';
  root = document.getElementById("app") as HTMLElement;
  location = { search: "?tenant=demo-cafe", hash: "#/menu" };
  events = new EventTarget();
  storage = new MemoryStorage();
});

afterEach(() => {
  app?.destroy();
  app = undefined;
});

async function mount(overrides: Partial<AppDeps> = {}, payment?: () => Response | Promise<Response>) {
  const fake = fakeFetch({ "demo-cafe.json": DEMO_MENU, "default.json": { ...DEMO_MENU, name: "House menu" } }, payment);
  app = mountApp(root, { fetch: fake.fetchFn, location, storage, events, agentsUrl: "http://agents.test", ...overrides });
  await app.render();
  return fake;
}

async function navigate(hash: string): Promise<void> {
  location.hash = hash;
  events.dispatchEvent(new Event("hashchange"));
  await vi.waitFor(() => expect(root.querySelector(`[data-page="${hash.slice(2)}"][aria-current]`)).not.toBeNull());
}

function click(selector: string): void {
  const element = root.querySelector<HTMLElement>(selector);
  if (element === null) throw new Error(`no element ${selector}`);
  element.click();
}

const text = (selector: string): string | null | undefined => root.querySelector(selector)?.textContent;

describe("menu page", () => {
  it("shows the tenant's menu by category, escaping text", async () => {
    await mount();
    expect(text("h1")).toBe("Demo Café");
    expect([...root.querySelectorAll("h2")].map((h) => h.textContent)).toEqual(["Coffee", "Bakery"]);
    expect(root.innerHTML).toContain("Baked &lt;daily&gt;.");
    expect(text(".allergens")).toBe("Contains: milk");
  });

  it("adds items to a cart stored per tenant", async () => {
    await mount();
    click('[data-action="add"][data-item-id="flat-white"]');
    await vi.waitFor(() => expect(text("[data-cart-count]")).toBe("1"));
    click('[data-action="add"][data-item-id="flat-white"]');
    await vi.waitFor(() => expect(text("[data-cart-count]")).toBe("2"));
    expect(JSON.parse(storage.getItem("icupa.cart.demo-cafe") ?? "[]")).toEqual([{ itemId: "flat-white", quantity: 2 }]);
  });

  it("uses the default menu for a tenant without its own", async () => {
    location.search = "?tenant=pilot-one";
    await mount();
    expect(text("h1")).toBe("House menu");
  });

  it("explains a menu that cannot load", async () => {
    app = mountApp(root, {
      fetch: async () => new Response("", { status: 500 }),
      location,
      storage,
      events,
      agentsUrl: undefined,
    });
    await app.render();
    expect(text("h1")).toBe("Menu unavailable");
  });
});

describe("tenant and route handling", () => {
  it("asks for a restaurant when there is no tenant", async () => {
    location.search = "";
    await mount();
    expect(text("h1")).toBe("Choose a restaurant");
    expect(root.querySelector("a")?.getAttribute("href")).toBe("?tenant=icupa-hq#/menu");
  });

  it("rejects a malformed tenant", async () => {
    location.search = "?tenant=<x>";
    await mount();
    expect(text("h1")).toBe("Unknown restaurant");
  });

  it("shows not found for an unknown page, keeping the navigation", async () => {
    location.hash = "#/admin";
    await mount();
    expect(text("main h1") ?? text("h1")).toBe("Page not found");
    expect(root.querySelector(".nav")).not.toBeNull();
  });
});

describe("cart page", () => {
  it("shows lines and totals, and updates quantities and removals", async () => {
    storage.setItem("icupa.cart.demo-cafe", JSON.stringify([{ itemId: "flat-white", quantity: 2 }, { itemId: "croissant", quantity: 1 }, { itemId: "gone", quantity: 1 }]));
    await mount();
    await navigate("#/cart");
    expect(text('[data-total="subtotal"]')).toBe("€9.80");
    expect(text('[data-total="service"]')).toBe("€0.98");
    expect(text('[data-total="total"]')).toBe("€10.78");
    expect(text(".notice")).toContain("no longer on the menu");

    const quantity = root.querySelector<HTMLInputElement>('[data-action="quantity"][data-item-id="flat-white"]');
    if (quantity === null) throw new Error("no quantity input");
    quantity.value = "3";
    quantity.dispatchEvent(new Event("change", { bubbles: true }));
    await vi.waitFor(() => expect(text('[data-total="subtotal"]')).toBe("€13.30"));

    click('[data-action="remove"][data-item-id="croissant"]');
    await vi.waitFor(() => expect(text('[data-total="subtotal"]')).toBe("€10.50"));
  });

  it("says when the cart is empty", async () => {
    await mount();
    await navigate("#/cart");
    expect(text(".empty")).toContain("Your cart is empty");
  });
});

describe("checkout page", () => {
  function fillAndSubmit(name: string, table: string): void {
    const form = root.querySelector<HTMLFormElement>('form[data-action="checkout"]');
    if (form === null) throw new Error("no checkout form");
    (form.elements.namedItem("name") as HTMLInputElement).value = name;
    (form.elements.namedItem("table") as HTMLInputElement).value = table;
    form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  }

  beforeEach(() => {
    storage.setItem("icupa.cart.demo-cafe", JSON.stringify([{ itemId: "flat-white", quantity: 2 }]));
  });

  it("validates the form before paying", async () => {
    const fake = await mount();
    await navigate("#/checkout");
    fillAndSubmit("", "x");
    await vi.waitFor(() => expect(root.querySelector('[data-error="table"]')).not.toBeNull());
    expect(text('[data-error="name"]')).toBe("Enter the name for the order.");
    expect(fake.calls.some((call) => call.url.endsWith("/payments"))).toBe(false);
  });

  it("pays the cart total to the agents service and empties the cart", async () => {
    const fake = await mount({}, () => jsonResponse({ status: "succeeded", payment_id: "pay_42" }, 201));
    await navigate("#/checkout");
    expect(text('[data-total="total"]')).toBe("€7.70");
    fillAndSubmit("Ana", "7");
    await vi.waitFor(() => expect(text(".success")).toBe("Payment pay_42 received. Your order is on its way to table 7."));
    const post = fake.calls.find((call) => call.url === "http://agents.test/payments");
    expect(JSON.parse(String(post?.init?.body))).toEqual({ tenant: "demo-cafe", amount_cents: 770, currency: "EUR", reference: "table-7 Ana" });
    expect(storage.getItem("icupa.cart.demo-cafe")).toBeNull();
    expect(text("[data-cart-count]")).toBe("0");
  });

  it("shows a declined payment and keeps the cart", async () => {
    await mount({}, () => jsonResponse({ status: "failed" }, 402));
    await navigate("#/checkout");
    fillAndSubmit("Ana", "7");
    await vi.waitFor(() => expect(text('[role="alert"]')).toContain("declined"));
    expect(storage.getItem("icupa.cart.demo-cafe")).not.toBeNull();
  });

  it("disables paying when the build has no agents URL", async () => {
    await mount({ agentsUrl: undefined });
    await navigate("#/checkout");
    expect(root.querySelector<HTMLButtonElement>('button[type="submit"]')?.disabled).toBe(true);
    expect(text(".notice")).toContain("not configured");
  });

  it("has nothing to pay with an empty cart", async () => {
    storage.removeItem("icupa.cart.demo-cafe");
    await mount();
    await navigate("#/checkout");
    expect(text(".empty")).toContain("Nothing to pay yet");
  });
});

describe("destroy", () => {
  it("stops reacting to navigation", async () => {
    await mount();
    app?.destroy();
    location.hash = "#/cart";
    events.dispatchEvent(new Event("hashchange"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(text("h1")).toBe("Demo Café");
  });
});

import type { Menu } from "../src/cart";

export const DEMO_MENU = {
  name: "Demo Café",
  currency: "EUR",
  service_rate: 0.1,
  items: [
    { id: "flat-white", name: "Flat white", description: "Double ristretto.", price_cents: 350, category: "Coffee", allergens: ["milk"] },
    { id: "croissant", name: "Croissant", description: "Baked <daily>.", price_cents: 280, category: "Bakery", allergens: [] },
  ],
};

export const PARSED_DEMO_MENU: Menu = { tenant: "demo-cafe", ...DEMO_MENU };

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** A fetch that serves menus by path and records payment posts. */
export function fakeFetch(menus: Record<string, unknown>, payment: () => Response | Promise<Response> = () => jsonResponse({}, 500)) {
  const calls: Array<{ url: string; init?: RequestInit }> = [];
  const fetchFn = async (url: string, init?: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    if (url.endsWith("/payments")) return payment();
    const name = url.replace(/^.*\/menus\//, "");
    if (name in menus) return jsonResponse(menus[name]);
    return new Response("not found", { status: 404 });
  };
  return { fetchFn, calls };
}

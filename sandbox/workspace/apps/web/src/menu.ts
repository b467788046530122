import type { Menu, MenuItem } from "./cart";

export class MenuError extends Error {
  override name = "MenuError";
}

function isItem(value: unknown): value is MenuItem {
  if (value === null || typeof value !== "object") return false;
  const item = value as Record<string, unknown>;
  return (
    typeof item.id === "string" &&
    typeof item.name === "string" &&
    typeof item.description === "string" &&
    typeof item.category === "string" &&
    Number.isInteger(item.price_cents) &&
    (item.price_cents as number) >= 0 &&
    Array.isArray(item.allergens) &&
    item.allergens.every((allergen) => typeof allergen === "string")
  );
}

export function parseMenu(raw: unknown, tenant: string): Menu {
  if (raw === null || typeof raw !== "object") throw new MenuError("menu is not a JSON object");
  const menu = raw as Record<string, unknown>;
  if (typeof menu.name !== "string" || typeof menu.currency !== "string" || !/^[A-Z]{3}$/.test(menu.currency)) {
    throw new MenuError("menu needs a name and a three-letter currency code");
  }
  const rate = menu.service_rate ?? 0;
  if (typeof rate !== "number" || rate < 0 || rate > 0.5) throw new MenuError("service_rate must be between 0 and 0.5");
  if (!Array.isArray(menu.items) || !menu.items.every(isItem)) throw new MenuError("menu items are malformed");
  return { tenant, name: menu.name, currency: menu.currency, service_rate: rate, items: menu.items };
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Loads `/menus/<tenant>.json`, falling back to the shared default menu for a
 * tenant that has none of its own.
 */
export async function loadMenu(fetchFn: FetchLike, tenant: string, base = "/"): Promise<Menu> {
  for (const file of [`${tenant}.json`, "default.json"]) {
    const response = await fetchFn(`${base}menus/${file}`);
    if (response.status === 404) continue;
    if (!response.ok) throw new MenuError(`menu request failed with HTTP ${response.status}`);
    const type = response.headers.get("content-type") ?? "";
    // A host with a single-page fallback answers a missing file with index.html.
    if (!type.includes("json")) continue;
    return parseMenu(await response.json(), tenant);
  }
  throw new MenuError("no menu published for this tenant");
}

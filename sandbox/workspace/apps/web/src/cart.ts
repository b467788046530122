/** Cart math. All money is integer minor units (cents); rounding happens once, on the service charge. */
export interface MenuItem {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  category: string;
  allergens: string[];
}

export interface Menu {
  tenant: string;
  name: string;
  currency: string;
  service_rate: number;
  items: MenuItem[];
}

export interface CartLine {
  itemId: string;
  quantity: number;
}

export type Cart = readonly CartLine[];

export const MAX_QUANTITY = 20;

export interface PricedLine {
  item: MenuItem;
  quantity: number;
  line_cents: number;
}

export interface CartTotals {
  lines: PricedLine[];
  subtotal_cents: number;
  service_cents: number;
  total_cents: number;
  /** Items in the cart that the current menu no longer offers; they are not charged. */
  unavailable: string[];
}

function clampQuantity(quantity: number): number {
  if (!Number.isFinite(quantity)) return 0;
  return Math.max(0, Math.min(MAX_QUANTITY, Math.trunc(quantity)));
}

export function setQuantity(cart: Cart, itemId: string, quantity: number): Cart {
  const next = clampQuantity(quantity);
  const exists = cart.some((line) => line.itemId === itemId);
  if (next === 0) return cart.filter((line) => line.itemId !== itemId);
  if (!exists) return [...cart, { itemId, quantity: next }];
  return cart.map((line) => (line.itemId === itemId ? { itemId, quantity: next } : line));
}

export function addItem(cart: Cart, itemId: string, quantity = 1): Cart {
  const current = cart.find((line) => line.itemId === itemId)?.quantity ?? 0;
  return setQuantity(cart, itemId, current + quantity);
}

export function removeItem(cart: Cart, itemId: string): Cart {
  return setQuantity(cart, itemId, 0);
}

export function itemCount(cart: Cart): number {
  return cart.reduce((sum, line) => sum + line.quantity, 0);
}

/** Half-up rounding of a non-negative amount of cents. */
export function roundCents(value: number): number {
  return Math.floor(value + 0.5 + 1e-9);
}

export function computeTotals(cart: Cart, menu: Menu): CartTotals {
  const byId = new Map(menu.items.map((item) => [item.id, item]));
  const lines: PricedLine[] = [];
  const unavailable: string[] = [];
  for (const line of cart) {
    const item = byId.get(line.itemId);
    if (item === undefined) {
      unavailable.push(line.itemId);
      continue;
    }
    lines.push({ item, quantity: line.quantity, line_cents: item.price_cents * line.quantity });
  }
  const subtotal = lines.reduce((sum, line) => sum + line.line_cents, 0);
  const service = roundCents(subtotal * menu.service_rate);
  return { lines, subtotal_cents: subtotal, service_cents: service, total_cents: subtotal + service, unavailable };
}

export function formatMoney(cents: number, currency: string, locale = "en-GB"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

/** Reads a stored cart, dropping anything malformed rather than failing the page. */
export function parseCart(raw: string | null): Cart {
  if (raw === null) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  let cart: Cart = [];
  for (const entry of parsed) {
    if (entry === null || typeof entry !== "object") continue;
    const { itemId, quantity } = entry as Record<string, unknown>;
    if (typeof itemId === "string" && typeof quantity === "number") cart = addItem(cart, itemId, quantity);
  }
  return cart;
}

export function serializeCart(cart: Cart): string {
  return JSON.stringify(cart);
}

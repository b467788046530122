import { describe, expect, it } from "vitest";
import {
  addItem,
  computeTotals,
  formatMoney,
  itemCount,
  MAX_QUANTITY,
  parseCart,
  removeItem,
  roundCents,
  serializeCart,
  setQuantity,
  type Menu,
} from "../src/cart";

export const MENU: Menu = {
  tenant: "demo-cafe",
  name: "Demo Café",
  currency: "EUR",
  service_rate: 0.1,
  items: [
    { id: "flat-white", name: "Flat white", description: "Coffee", price_cents: 350, category: "Coffee", allergens: ["milk"] },
    { id: "croissant", name: "Croissant", description: "Bakery", price_cents: 285, category: "Bakery", allergens: [] },
  ],
};

describe("cart updates", () => {
  it("adds, accumulates and removes items without mutating the cart", () => {
    const empty = [] as const;
    const one = addItem(empty, "flat-white");
    const three = addItem(one, "flat-white", 2);
    const mixed = addItem(three, "croissant");
    expect(empty).toEqual([]);
    expect(one).toEqual([{ itemId: "flat-white", quantity: 1 }]);
    expect(mixed).toEqual([
      { itemId: "flat-white", quantity: 3 },
      { itemId: "croissant", quantity: 1 },
    ]);
    expect(itemCount(mixed)).toBe(4);
    expect(removeItem(mixed, "flat-white")).toEqual([{ itemId: "croissant", quantity: 1 }]);
  });

  it("clamps quantities to 0..MAX_QUANTITY and drops a line at 0", () => {
    expect(setQuantity([], "x", 99)).toEqual([{ itemId: "x", quantity: MAX_QUANTITY }]);
    expect(setQuantity([{ itemId: "x", quantity: 2 }], "x", -3)).toEqual([]);
    expect(setQuantity([{ itemId: "x", quantity: 2 }], "x", 2.7)).toEqual([{ itemId: "x", quantity: 2 }]);
    expect(setQuantity([{ itemId: "x", quantity: 2 }], "x", Number.NaN)).toEqual([]);
    expect(addItem([{ itemId: "x", quantity: MAX_QUANTITY }], "x")).toEqual([{ itemId: "x", quantity: MAX_QUANTITY }]);
  });
});

describe("computeTotals", () => {
  it("prices lines, adds the service charge rounded half up, and totals", () => {
    const totals = computeTotals(
      [
        { itemId: "flat-white", quantity: 2 },
        { itemId: "croissant", quantity: 1 },
      ],
      MENU,
    );
    expect(totals.lines.map((line) => line.line_cents)).toEqual([700, 285]);
    expect(totals.subtotal_cents).toBe(985);
    expect(totals.service_cents).toBe(99); // 98.5 rounds up
    expect(totals.total_cents).toBe(1084);
    expect(totals.unavailable).toEqual([]);
  });

  it("leaves out items the menu no longer has", () => {
    const totals = computeTotals([{ itemId: "gone", quantity: 1 }], MENU);
    expect(totals).toMatchObject({ lines: [], subtotal_cents: 0, service_cents: 0, total_cents: 0, unavailable: ["gone"] });
  });

  it("rounds without floating-point surprises", () => {
    expect(roundCents(0.5)).toBe(1);
    expect(roundCents(1.4999)).toBe(1);
    expect(roundCents(0.1 * 3 * 10)).toBe(3);
  });
});

describe("money and persistence", () => {
  it("formats minor units in the menu's currency", () => {
    expect(formatMoney(1084, "EUR")).toBe("€10.84");
    expect(formatMoney(250, "USD", "en-US")).toBe("$2.50");
  });

  it("round-trips a cart and survives corrupt storage", () => {
    const cart = addItem(addItem([], "a", 2), "b");
    expect(parseCart(serializeCart(cart))).toEqual(cart);
    expect(parseCart(null)).toEqual([]);
    expect(parseCart("{not json")).toEqual([]);
    expect(parseCart('{"itemId":"a"}')).toEqual([]);
    expect(parseCart('[null, 3, {"itemId":"a","quantity":"2"}, {"itemId":"a","quantity":2}, {"itemId":"a","quantity":1}]')).toEqual([
      { itemId: "a", quantity: 3 },
    ]);
  });
});

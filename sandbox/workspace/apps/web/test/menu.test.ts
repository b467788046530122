import { describe, expect, it } from "vitest";
import { loadMenu, MenuError, parseMenu } from "../src/menu";
import { DEMO_MENU, fakeFetch, jsonResponse } from "./fixtures";

describe("parseMenu", () => {
  it("accepts a well-formed menu and defaults the service rate", () => {
    const { service_rate: _ignored, ...withoutRate } = DEMO_MENU;
    expect(parseMenu(withoutRate, "t").service_rate).toBe(0);
    expect(parseMenu(DEMO_MENU, "t")).toMatchObject({ tenant: "t", name: "Demo Café", items: DEMO_MENU.items });
  });

  it.each([
    [null, "not a JSON object"],
    [{ ...DEMO_MENU, currency: "euro" }, "three-letter currency"],
    [{ ...DEMO_MENU, service_rate: 2 }, "service_rate"],
    [{ ...DEMO_MENU, items: [{ id: "x" }] }, "malformed"],
    [{ ...DEMO_MENU, items: [{ ...DEMO_MENU.items[0], price_cents: -1 }] }, "malformed"],
    [{ ...DEMO_MENU, items: "none" }, "malformed"],
  ])("rejects %j", (raw, message) => {
    expect(() => parseMenu(raw, "t")).toThrow(MenuError);
    expect(() => parseMenu(raw, "t")).toThrow(message);
  });
});

describe("loadMenu", () => {
  it("loads the tenant's own menu", async () => {
    const { fetchFn, calls } = fakeFetch({ "demo-cafe.json": DEMO_MENU });
    expect((await loadMenu(fetchFn, "demo-cafe")).name).toBe("Demo Café");
    expect(calls.map((call) => call.url)).toEqual(["/menus/demo-cafe.json"]);
  });

  it("falls back to the default menu for a tenant without one", async () => {
    const { fetchFn, calls } = fakeFetch({ "default.json": { ...DEMO_MENU, name: "House menu" } });
    expect((await loadMenu(fetchFn, "pilot-one")).name).toBe("House menu");
    expect(calls.map((call) => call.url)).toEqual(["/menus/pilot-one.json", "/menus/default.json"]);
  });

  it("treats an HTML single-page fallback as a missing file", async () => {
    const fetchFn = async (url: string) =>
      url.endsWith("default.json") ? jsonResponse(DEMO_MENU) : new Response("<html>", { status: 200, headers: { "content-type": "text/html" } });
    expect((await loadMenu(fetchFn, "x")).tenant).toBe("x");
  });

  it("fails on server errors and when no menu exists at all", async () => {
    await expect(loadMenu(async () => new Response("", { status: 503 }), "x")).rejects.toThrow("HTTP 503");
    await expect(loadMenu(fakeFetch({}).fetchFn, "x")).rejects.toThrow("no menu published");
  });
});

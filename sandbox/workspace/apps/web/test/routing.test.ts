import { describe, expect, it } from "vitest";
import { hrefFor, isTenantSlug, parseRoute } from "../src/routing";

describe("parseRoute", () => {
  it.each([
    ["?tenant=demo-cafe", "", { kind: "page", page: "menu", tenant: "demo-cafe" }],
    ["?tenant=demo-cafe", "#/", { kind: "page", page: "menu", tenant: "demo-cafe" }],
    ["?tenant=demo-cafe", "#/cart", { kind: "page", page: "cart", tenant: "demo-cafe" }],
    ["?tenant=Demo-Cafe", "#/checkout/", { kind: "page", page: "checkout", tenant: "demo-cafe" }],
    ["?source=pwa", "#/cart", { kind: "no-tenant" }],
    ["", "", { kind: "no-tenant" }],
    ["?tenant=%3Cscript%3E", "", { kind: "bad-tenant", tenant: "<script>" }],
    ["?tenant=demo-cafe", "#/admin", { kind: "not-found", tenant: "demo-cafe", path: "admin" }],
  ])("%s %s", (search, hash, route) => {
    expect(parseRoute(search, hash)).toEqual(route);
  });
});

describe("hrefFor", () => {
  it("builds links that parse back to the same route", () => {
    const href = hrefFor("checkout", "kigali-bistro");
    expect(href).toBe("?tenant=kigali-bistro#/checkout");
    const [search, hash] = href.split("#");
    expect(parseRoute(search ?? "", `#${hash}`)).toEqual({ kind: "page", page: "checkout", tenant: "kigali-bistro" });
  });
});

describe("isTenantSlug", () => {
  it("accepts slugs and rejects anything else", () => {
    expect(isTenantSlug("pilot-1")).toBe(true);
    expect(isTenantSlug("-pilot")).toBe(false);
    expect(isTenantSlug("a".repeat(64))).toBe(false);
  });
});

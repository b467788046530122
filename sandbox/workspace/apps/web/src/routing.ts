/** Routes live in the hash (`#/cart`) so any static file server can host the PWA; the tenant is `?tenant=<slug>`. */
export const PAGES = ["menu", "cart", "checkout"] as const;
export type Page = (typeof PAGES)[number];

export type Route =
  | { kind: "page"; page: Page; tenant: string }
  | { kind: "no-tenant" }
  | { kind: "bad-tenant"; tenant: string }
  | { kind: "not-found"; tenant: string; path: string };

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isTenantSlug(value: string): boolean {
  return SLUG.test(value);
}

export function parseRoute(search: string, hash: string): Route {
  const tenant = new URLSearchParams(search).get("tenant")?.trim().toLowerCase() ?? "";
  if (tenant === "") return { kind: "no-tenant" };
  if (!isTenantSlug(tenant)) return { kind: "bad-tenant", tenant };
  const path = hash.replace(/^#\/?/, "").replace(/\/+$/, "");
  if (path === "") return { kind: "page", page: "menu", tenant };
  const page = PAGES.find((candidate) => candidate === path);
  if (page === undefined) return { kind: "not-found", tenant, path };
  return { kind: "page", page, tenant };
}

export function hrefFor(page: Page, tenant: string): string {
  return `?tenant=${encodeURIComponent(tenant)}#/${page}`;
}

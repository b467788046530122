// GET /functions/v1/menu?tenant=<slug>: the tenant's menu.
import { findTenant, MENUS } from "../_shared/catalog.ts";
import { errorJson, json } from "../_shared/http.ts";
import type { FunctionHandler } from "../_shared/types.ts";

export const handler: FunctionHandler = (_req, ctx) => {
  const slug = ctx.url.searchParams.get("tenant");
  if (!slug) return errorJson(400, "bad_request", "query parameter 'tenant' is required");
  const tenant = findTenant(slug);
  if (!tenant) return errorJson(404, "not_found", `unknown tenant '${slug}'`);
  const category = ctx.url.searchParams.get("category");
  const items = MENUS[tenant.cuisine].filter((item) => !category || item.category === category);
  return json(200, {
    tenant: { slug: tenant.slug, name: tenant.name, tier: tenant.tier },
    currency: tenant.currency,
    items,
    version: ctx.version,
  });
};

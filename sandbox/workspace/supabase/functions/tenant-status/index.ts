// GET /functions/v1/tenant-status?tenant=<slug>: tier and feature flags of one tenant.
// GET /functions/v1/tenant-status: summary of every tenant by rollout tier.
// Flags are the static defaults overlaid with TENANT_FLAGS_FILE (see README).
import { DEFAULT_FLAGS, findTenant, type Tenant, TENANTS, TIERS } from "../_shared/catalog.ts";
import { errorJson, json } from "../_shared/http.ts";
import type { FlagOverrides, FunctionHandler } from "../_shared/types.ts";

function flagsOf(tenant: Tenant, overrides: FlagOverrides): Record<string, boolean> {
  return { ...DEFAULT_FLAGS, ...(overrides[tenant.slug] ?? {}) };
}

export const handler: FunctionHandler = async (_req, ctx) => {
  const overrides = await ctx.flagOverrides();
  const slug = ctx.url.searchParams.get("tenant");
  if (slug !== null) {
    const tenant = findTenant(slug);
    if (!tenant) return errorJson(404, "not_found", `unknown tenant '${slug}'`);
    return json(200, {
      tenant: { slug: tenant.slug, name: tenant.name, tier: tenant.tier },
      rollout_stage: TIERS.indexOf(tenant.tier) + 1,
      flags: flagsOf(tenant, overrides),
      version: ctx.version,
    });
  }
  const tiers: Record<string, { count: number; tenants: string[] }> = {};
  for (const tier of TIERS) tiers[tier] = { count: 0, tenants: [] };
  const flagsEnabled: Record<string, number> = {};
  for (const tenant of TENANTS) {
    tiers[tenant.tier].count++;
    tiers[tenant.tier].tenants.push(tenant.slug);
    for (const [flag, on] of Object.entries(flagsOf(tenant, overrides))) {
      flagsEnabled[flag] = (flagsEnabled[flag] ?? 0) + (on ? 1 : 0);
    }
  }
  return json(200, { total: TENANTS.length, tiers, flags_enabled: flagsEnabled, version: ctx.version });
};

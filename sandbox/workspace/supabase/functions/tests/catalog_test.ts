// The functions' static tenants must match the seed migration.
import { MENUS, TENANTS, TIERS } from "../_shared/catalog.ts";
import { assert, assertEquals } from "./assert.ts";

const migrationsDir = new URL("../../migrations/", import.meta.url);

async function seedRows(): Promise<Array<{ id: string; slug: string; name: string; tier: string }>> {
  const seed = [...Deno.readDirSync(migrationsDir)].map((e) => e.name).find((n) => /^\d{14}_seed_rollout_tenants\.sql$/.test(n));
  assert(seed, "seed migration found");
  const sql = await Deno.readTextFile(new URL(seed, migrationsDir));
  const rows = [...sql.matchAll(/\(\s*'([0-9a-f-]{36})',\s*'([a-z0-9-]+)',\s*'([^']+)',\s*'([a-z_]+)'\s*\)/g)];
  return rows.map(([, id, slug, name, tier]) => ({ id, slug, name, tier }));
}

Deno.test("catalog tenants are exactly the seeded tenants", async () => {
  const seeded = await seedRows();
  assertEquals(seeded.length, 12);
  assertEquals(
    TENANTS.map(({ id, slug, name, tier }) => ({ id, slug, name, tier })),
    seeded,
  );
});

Deno.test("every tier is represented as the rollout plan needs", () => {
  const count = (tier: string) => TENANTS.filter((t) => t.tier === tier).length;
  assertEquals(TIERS.map(count), [2, 2, 3, 5]);
});

Deno.test("every tenant has a non-empty menu with unique item ids", () => {
  for (const tenant of TENANTS) {
    const items = MENUS[tenant.cuisine];
    assert(items.length > 0, `${tenant.slug} has a menu`);
    assertEquals(new Set(items.map((i) => i.id)).size, items.length);
    assert(items.every((i) => Number.isInteger(i.price_minor) && i.price_minor > 0), `${tenant.slug} prices`);
  }
});

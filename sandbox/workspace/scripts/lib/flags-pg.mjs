// The PostgreSQL side of the flags CLI, over public.tenants and public.feature_flags.
import pg from "pg";

const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 15_000;

/**
 * @typedef {import("./flags.mjs").FlagsRepository} FlagsRepository
 * @typedef {import("./flags.mjs").Tenant} Tenant
 */

/**
 * Connects and returns a repository; the caller closes it.
 * @param {string} databaseUrl
 * @returns {Promise<FlagsRepository>}
 */
export async function openPgRepository(databaseUrl) {
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 1_000,
    application_name: "icupa-flags-cli",
  });
  // Without a listener, a server-side disconnect would crash the process
  // instead of failing the query in progress.
  client.on("error", () => {});
  await client.connect();

  return {
    async findTenants(slugs) {
      const result = await client.query(
        "select id::text as id, slug from public.tenants where slug = any($1::text[])",
        [slugs],
      );
      return result.rows.map((row) => ({ id: String(row.id), slug: String(row.slug) }));
    },

    async tenantSlugs() {
      const result = await client.query("select slug from public.tenants order by slug");
      return result.rows.map((row) => String(row.slug));
    },

    async flagNames() {
      const result = await client.query("select distinct flag from public.feature_flags order by flag");
      return result.rows.map((row) => String(row.flag));
    },

    async setFlag(tenants, flag, enabled, actor) {
      const ids = tenants.map((tenant) => tenant.id);
      await client.query("begin");
      try {
        await client.query("set local lock_timeout = '5s'");
        const before = await client.query(
          `select tenant_id::text as tenant_id, enabled
             from public.feature_flags
            where flag = $1 and tenant_id = any($2::uuid[])
            for update`,
          [flag, ids],
        );
        /** @type {Map<string, boolean>} */
        const previous = new Map(before.rows.map((row) => [String(row.tenant_id), Boolean(row.enabled)]));
        const written = await client.query(
          `insert into public.feature_flags (tenant_id, flag, enabled, updated_at, updated_by)
           select tenant_id, $2, $3, now(), $4 from unnest($1::uuid[]) as tenant_id
           on conflict (tenant_id, flag) do update
              set enabled = excluded.enabled,
                  updated_at = excluded.updated_at,
                  updated_by = excluded.updated_by
           returning tenant_id::text as tenant_id, enabled, updated_at, updated_by`,
          [ids, flag, enabled, actor],
        );
        await client.query("commit");
        /** @type {Map<string, any>} */
        const byId = new Map(written.rows.map((row) => [String(row.tenant_id), row]));
        return tenants.map((tenant) => {
          const row = byId.get(tenant.id);
          return {
            tenantId: tenant.id,
            slug: tenant.slug,
            enabled: Boolean(row.enabled),
            previous: previous.has(tenant.id) ? /** @type {boolean} */ (previous.get(tenant.id)) : null,
            updatedAt: new Date(row.updated_at),
            updatedBy: String(row.updated_by),
          };
        });
      } catch (error) {
        await client.query("rollback").catch(() => {});
        throw error;
      }
    },

    async listFlags({ flag, slugs }) {
      const result = await client.query(
        `select t.slug, f.flag, f.enabled, f.updated_at, f.updated_by
           from public.feature_flags f
           join public.tenants t on t.id = f.tenant_id
          where ($1::text is null or f.flag = $1)
            and (cardinality($2::text[]) = 0 or t.slug = any($2::text[]))
          order by t.slug, f.flag`,
        [flag ?? null, slugs],
      );
      return result.rows.map((row) => ({
        slug: String(row.slug),
        flag: String(row.flag),
        enabled: Boolean(row.enabled),
        updatedAt: row.updated_at === null ? null : new Date(row.updated_at),
        updatedBy: row.updated_by === null ? null : String(row.updated_by),
      }));
    },

    async close() {
      await client.end();
    },
  };
}

// The flags CLI against a real PostgreSQL: a throwaway cluster per run.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT, runFlags } from "../lib/flags.mjs";
import { openPgRepository } from "../lib/flags-pg.mjs";
import { postgresAvailable, startCluster } from "./pg-cluster.mjs";

const CATALOG = join(import.meta.dirname, "..", "flags-catalog.json");
const CLI = join(import.meta.dirname, "..", "flags.mjs");
const run = promisify(execFile);

const SCHEMA = `
  create table public.tenants (id uuid primary key, slug text unique not null, name text, tier text);
  create table public.feature_flags (
    tenant_id uuid references public.tenants(id),
    flag text,
    enabled boolean not null default false,
    updated_at timestamptz not null default now(),
    updated_by text,
    primary key (tenant_id, flag)
  );
  insert into public.tenants (id, slug, name, tier) values
    ('11111111-1111-1111-1111-111111111111', 'internal-hq', 'ICUPA HQ', 'internal'),
    ('22222222-2222-2222-2222-222222222222', 'pilot-one', 'Pilot One', 'pilot'),
    ('33333333-3333-3333-3333-333333333333', 'ga-cafe', 'GA Café', 'ga');
`;

if (!postgresAvailable()) {
  console.warn("flags-pg tests skipped: no PostgreSQL server binaries (initdb, pg_ctl) on this machine");
}

describe.skipIf(!postgresAvailable())("flags CLI on PostgreSQL", () => {
  /** @type {Awaited<ReturnType<typeof startCluster>>} */
  let cluster;

  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.exec(SCHEMA);
    await cluster.exec("create database empty");
  });

  afterAll(() => {
    cluster?.stop();
  });

  /**
   * @param {string[]} argv
   * @param {string} [database]
   */
  async function flags(argv, database = "postgres") {
    /** @type {string[]} */
    const out = [];
    /** @type {string[]} */
    const err = [];
    const code = await runFlags(argv, {
      env: { DATABASE_URL: cluster.url(database), FLAGS_ACTOR: "release-gate" },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      openRepository: openPgRepository,
      catalogPath: CATALOG,
    });
    return { code, out: out.map((line) => JSON.parse(line)), err };
  }

  it("enables, lists and disables a flag for several tenants", async () => {
    const enabled = await flags(["enable", "ai_waiter", "--tenants", "internal-hq,pilot-one"]);
    expect(enabled.code).toBe(EXIT.OK);
    expect(enabled.out).toEqual([
      expect.objectContaining({ tenant: "internal-hq", tenant_id: "11111111-1111-1111-1111-111111111111", enabled: true, previous: null, changed: true, updated_by: "release-gate" }),
      expect.objectContaining({ tenant: "pilot-one", enabled: true, previous: null }),
    ]);
    expect(Date.parse(enabled.out[0].updated_at)).not.toBeNaN();

    const listed = await flags(["list", "--flag", "ai_waiter"]);
    expect(listed.out.map((row) => [row.tenant, row.enabled])).toEqual([
      ["internal-hq", true],
      ["pilot-one", true],
    ]);

    const disabled = await flags(["disable", "ai_waiter", "--tenants", "pilot-one"]);
    expect(disabled.out).toEqual([expect.objectContaining({ tenant: "pilot-one", enabled: false, previous: true, changed: true })]);

    const pilot = await flags(["list", "--tenants", "pilot-one"]);
    expect(pilot.out).toEqual([expect.objectContaining({ flag: "ai_waiter", enabled: false })]);
  });

  it("changes nothing when one tenant is unknown", async () => {
    const result = await flags(["enable", "split_bill", "--tenants", "ga-cafe,nowhere"]);
    expect(result.code).toBe(EXIT.UNKNOWN_NAME);
    expect(result.err[0]).toBe("flags: unknown tenant: nowhere (known tenants: ga-cafe, internal-hq, pilot-one)");
    const listed = await flags(["list", "--flag", "split_bill"]);
    expect(listed.out).toEqual([]);
  });

  it("knows flags already in the table even if the catalog does not", async () => {
    await cluster.exec(
      "insert into public.feature_flags (tenant_id, flag, enabled, updated_by) values ('33333333-3333-3333-3333-333333333333', 'seeded_flag', true, 'seed')",
    );
    const result = await flags(["disable", "seeded_flag", "--tenants", "ga-cafe"]);
    expect(result.code).toBe(EXIT.OK);
    expect(result.out[0]).toMatchObject({ previous: true, enabled: false });
    const unknown = await flags(["enable", "never_heard_of_it", "--tenants", "ga-cafe"]);
    expect(unknown.code).toBe(EXIT.UNKNOWN_NAME);
    expect(unknown.err[0]).toContain("seeded_flag");
  });

  it("fails with exit 4 when the tables are missing", async () => {
    const result = await flags(["enable", "ai_waiter", "--tenants", "ga-cafe"], "empty");
    expect(result.code).toBe(EXIT.DATABASE);
    expect(result.err[0]).toContain('relation "public.tenants" does not exist (42P01)');
  });

  it("fails with exit 4 when the write itself fails, leaving no partial change", async () => {
    await cluster.exec("alter table public.feature_flags add constraint no_loyalty check (flag <> 'loyalty_points')");
    try {
      const result = await flags(["enable", "loyalty_points", "--tenants", "internal-hq,ga-cafe"]);
      expect(result.code).toBe(EXIT.DATABASE);
      expect(result.err[0]).toContain("(23514)");
      expect((await flags(["list", "--flag", "loyalty_points"])).out).toEqual([]);
    } finally {
      await cluster.exec("alter table public.feature_flags drop constraint no_loyalty");
    }
  });

  it("fails with exit 4 when nothing listens at DATABASE_URL", async () => {
    const code = await runFlags(["list"], {
      env: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres" },
      out: () => {},
      err: () => {},
      openRepository: openPgRepository,
      catalogPath: CATALOG,
    });
    expect(code).toBe(EXIT.DATABASE);
  });

  it("runs as the pnpm script would, end to end", async () => {
    const { stdout } = await run(process.execPath, [CLI, "enable", "menu_v2", "--tenants", "ga-cafe", "--by", "cli-test"], {
      env: { ...process.env, DATABASE_URL: cluster.url() },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim())).toMatchObject({ tenant: "ga-cafe", flag: "menu_v2", enabled: true, updated_by: "cli-test" });
    const failure = await run(process.execPath, [CLI, "enable", "menu_v2", "--tenants", "nobody"], {
      env: { ...process.env, DATABASE_URL: cluster.url() },
      timeout: 30_000,
    }).catch((error) => error);
    expect(failure.code).toBe(EXIT.UNKNOWN_NAME);
    expect(failure.stderr).toContain("unknown tenant: nobody");
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { describeError, EXIT, parseArgs, readCatalog, runFlags } from "../lib/flags.mjs";

const CATALOG = join(import.meta.dirname, "..", "flags-catalog.json");

/**
 * An in-memory stand-in for the PostgreSQL repository.
 * @param {{ failOn?: string }} [options]
 */
function memoryRepository(options = {}) {
  const tenants = [
    { id: "00000000-0000-0000-0000-00000000000a", slug: "alpha" },
    { id: "00000000-0000-0000-0000-00000000000b", slug: "bravo" },
  ];
  /** @type {Map<string, { enabled: boolean; updatedAt: Date; updatedBy: string }>} */
  const flags = new Map();
  const fail = (/** @type {string} */ method) => {
    if (options.failOn === method) throw Object.assign(new Error("connection terminated"), { code: "57P01" });
  };
  const state = { closed: false };
  /** @type {import("../lib/flags.mjs").FlagsRepository} */
  const repository = {
    async findTenants(slugs) {
      fail("findTenants");
      return tenants.filter((tenant) => slugs.includes(tenant.slug));
    },
    async tenantSlugs() {
      return tenants.map((tenant) => tenant.slug);
    },
    async flagNames() {
      return [...new Set([...flags.keys()].map((key) => key.split("|")[1] ?? ""))];
    },
    async setFlag(chosen, flag, enabled, actor) {
      fail("setFlag");
      return chosen.map((tenant) => {
        const key = `${tenant.slug}|${flag}`;
        const previous = flags.get(key)?.enabled ?? null;
        const updatedAt = new Date("2030-01-01T00:00:00Z");
        flags.set(key, { enabled, updatedAt, updatedBy: actor });
        return { tenantId: tenant.id, slug: tenant.slug, enabled, previous, updatedAt, updatedBy: actor };
      });
    },
    async listFlags({ flag, slugs }) {
      return [...flags.entries()]
        .map(([key, value]) => {
          const [slug = "", name = ""] = key.split("|");
          return { slug, flag: name, enabled: value.enabled, updatedAt: value.updatedAt, updatedBy: value.updatedBy };
        })
        .filter((row) => (flag === undefined || row.flag === flag) && (slugs.length === 0 || slugs.includes(row.slug)));
    },
    async close() {
      state.closed = true;
    },
  };
  return { repository, state, flags };
}

/**
 * @param {string[]} argv
 * @param {{ env?: Record<string, string | undefined>; repo?: ReturnType<typeof memoryRepository>; catalogPath?: string; openError?: Error }} [options]
 */
async function run(argv, options = {}) {
  const repo = options.repo ?? memoryRepository();
  /** @type {string[]} */
  const out = [];
  /** @type {string[]} */
  const err = [];
  const code = await runFlags(argv, {
    env: options.env ?? { DATABASE_URL: "postgres://example/db", FLAGS_ACTOR: "tester" },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    openRepository: async () => {
      if (options.openError) throw options.openError;
      return repo.repository;
    },
    catalogPath: options.catalogPath ?? CATALOG,
  });
  return { code, out, err, repo };
}

describe("parseArgs", () => {
  it("parses enable and disable with a tenant list", () => {
    expect(parseArgs(["enable", "menu_v2", "--tenants", "alpha, bravo,alpha"])).toEqual({
      command: "enable",
      flag: "menu_v2",
      tenants: ["alpha", "bravo"],
      actor: undefined,
    });
    expect(parseArgs(["disable", "menu_v2", "--tenants=alpha", "--by", "sre"])).toMatchObject({
      command: "disable",
      tenants: ["alpha"],
      actor: "sre",
    });
  });

  it("parses list with optional filters", () => {
    expect(parseArgs(["list"])).toEqual({ command: "list", flag: undefined, tenants: [] });
    expect(parseArgs(["list", "--flag", "menu_v2", "--tenants", "alpha"])).toEqual({
      command: "list",
      flag: "menu_v2",
      tenants: ["alpha"],
    });
    expect(parseArgs(["--help"])).toEqual({ command: "help" });
  });

  it.each([
    [[], "missing command"],
    [["toggle", "x"], "unknown command"],
    [["enable", "menu_v2"], "needs --tenants"],
    [["enable", "--tenants", "alpha"], "exactly one flag"],
    [["enable", "Bad Flag", "--tenants", "alpha"], "not a flag name"],
    [["enable", "menu_v2", "--tenants", "Alpha!"], "not a tenant slug"],
    [["enable", "menu_v2", "--tenants", " , "], "at least one tenant"],
    [["enable", "menu_v2", "--tenants"], "--tenants needs a value"],
    [["enable", "menu_v2", "--tenants", "a", "--flag", "x"], "--flag is only for list"],
    [["enable", "menu_v2", "--colour", "red"], "unknown option --colour"],
    [["list", "extra"], "no positional"],
    [["list", "--by", "me"], "--by is only for enable"],
  ])("rejects %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("readCatalog", () => {
  /** @type {string[]} */
  const dirs = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the flags of the shipped catalog", () => {
    expect(readCatalog(CATALOG)).toContain("menu_v2");
  });

  it("names the file when it is unreadable or malformed", () => {
    const dir = mkdtempSync(join(tmpdir(), "catalog-"));
    dirs.push(dir);
    const path = join(dir, "catalog.json");
    writeFileSync(path, '{"flags": null}');
    expect(() => readCatalog(path)).toThrow(`the flag catalog ${path} must be`);
    expect(() => readCatalog(join(dir, "missing.json"))).toThrow("cannot read the flag catalog");
  });
});

describe("runFlags", () => {
  it("enables a flag for each tenant and prints one JSON line per change", async () => {
    const { code, out, repo } = await run(["enable", "menu_v2", "--tenants", "alpha,bravo"]);
    expect(code).toBe(EXIT.OK);
    expect(out.map((line) => JSON.parse(line))).toEqual([
      {
        event: "feature_flag_changed",
        action: "enable",
        flag: "menu_v2",
        tenant: "alpha",
        tenant_id: "00000000-0000-0000-0000-00000000000a",
        enabled: true,
        previous: null,
        changed: true,
        updated_at: "2030-01-01T00:00:00.000Z",
        updated_by: "tester",
      },
      expect.objectContaining({ tenant: "bravo", enabled: true }),
    ]);
    expect(repo.state.closed).toBe(true);
  });

  it("reports an unchanged flag as changed: false", async () => {
    const repo = memoryRepository();
    await run(["enable", "menu_v2", "--tenants", "alpha"], { repo });
    const { out } = await run(["enable", "menu_v2", "--tenants", "alpha"], { repo });
    expect(JSON.parse(out[0] ?? "{}")).toMatchObject({ previous: true, enabled: true, changed: false });
  });

  it("lists flags as JSON lines", async () => {
    const repo = memoryRepository();
    await run(["disable", "split_bill", "--tenants", "bravo", "--by", "oncall"], { repo });
    const { code, out } = await run(["list", "--tenants", "bravo"], { repo });
    expect(code).toBe(EXIT.OK);
    expect(out.map((line) => JSON.parse(line))).toEqual([
      { tenant: "bravo", flag: "split_bill", enabled: false, updated_at: "2030-01-01T00:00:00.000Z", updated_by: "oncall" },
    ]);
  });

  it("accepts a flag that is not in the catalog but already in the table", async () => {
    const repo = memoryRepository();
    repo.flags.set("alpha|legacy_flag", { enabled: true, updatedAt: new Date(0), updatedBy: "seed" });
    const { code } = await run(["disable", "legacy_flag", "--tenants", "alpha"], { repo });
    expect(code).toBe(EXIT.OK);
  });

  it("fails with exit 3 on an unknown tenant and changes nothing", async () => {
    const { code, out, err, repo } = await run(["enable", "menu_v2", "--tenants", "alpha,zulu"]);
    expect(code).toBe(EXIT.UNKNOWN_NAME);
    expect(out).toEqual([]);
    expect(err[0]).toBe("flags: unknown tenant: zulu (known tenants: alpha, bravo)");
    expect(repo.flags.size).toBe(0);
  });

  it("fails with exit 3 on an unknown flag", async () => {
    const { code, err } = await run(["enable", "teleport", "--tenants", "alpha"]);
    expect(code).toBe(EXIT.UNKNOWN_NAME);
    expect(err[0]).toContain("unknown flag: teleport (known flags: ai_waiter");
  });

  it("fails with exit 2 and a hint on usage errors", async () => {
    const { code, err } = await run(["enable"]);
    expect(code).toBe(EXIT.USAGE);
    expect(err).toEqual(["flags: enable takes exactly one flag name", "flags: run with --help for usage"]);
  });

  it("prints the usage for --help without touching the database", async () => {
    const { code, out } = await run(["--help"], { env: {} });
    expect(code).toBe(EXIT.OK);
    expect(out[0]).toContain("Usage:");
  });

  it("requires DATABASE_URL", async () => {
    const { code, err } = await run(["list"], { env: {} });
    expect(code).toBe(EXIT.USAGE);
    expect(err[0]).toContain("DATABASE_URL is not set");
  });

  it("fails with exit 4 on a database error while connecting", async () => {
    const { code, err } = await run(["list"], { openError: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
    expect(code).toBe(EXIT.DATABASE);
    expect(err[0]).toBe("flags: database error: connect ECONNREFUSED (ECONNREFUSED)");
  });

  it("fails with exit 4 on a database error mid-change and still closes the connection", async () => {
    const repo = memoryRepository({ failOn: "setFlag" });
    const { code, err } = await run(["enable", "menu_v2", "--tenants", "alpha"], { repo });
    expect(code).toBe(EXIT.DATABASE);
    expect(err[0]).toBe("flags: database error: connection terminated (57P01)");
    expect(repo.state.closed).toBe(true);
  });

  it("falls back to $USER, then to flags-cli, for updated_by", async () => {
    const first = await run(["enable", "menu_v2", "--tenants", "alpha"], { env: { DATABASE_URL: "x", USER: "ana" } });
    expect(JSON.parse(first.out[0] ?? "{}").updated_by).toBe("ana");
    const second = await run(["enable", "menu_v2", "--tenants", "alpha"], { env: { DATABASE_URL: "x" } });
    expect(JSON.parse(second.out[0] ?? "{}").updated_by).toBe("flags-cli");
  });
});

describe("describeError", () => {
  it("describes errors with and without codes, and non-errors", () => {
    expect(describeError(new Error("boom"))).toBe("boom");
    expect(describeError(new AggregateError([new Error("a"), new Error("b")], ""))).toBe("Error: a; Error: b");
    expect(describeError("plain")).toBe("plain");
  });
});

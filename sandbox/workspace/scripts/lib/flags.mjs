// The feature-flag CLI's logic, independent of PostgreSQL so it can be tested
// with an in-memory repository. The pg-backed repository is in flags-pg.mjs.
import { readFileSync } from "node:fs";

export const EXIT = Object.freeze({ OK: 0, USAGE: 2, UNKNOWN_NAME: 3, DATABASE: 4 });

export const USAGE = `Usage:
  flags enable  <flag> --tenants <slug>[,<slug>...] [--by <who>]
  flags disable <flag> --tenants <slug>[,<slug>...] [--by <who>]
  flags list [--flag <flag>] [--tenants <slug>[,<slug>...]]

Reads DATABASE_URL. Tenants are named by slug. Every change is applied in one
transaction and printed as one JSON line per tenant. Exit codes: 0 ok,
2 usage error, 3 unknown tenant or flag, 4 database error.`;

const FLAG_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class FlagsError extends Error {
  /**
   * @param {string} message
   * @param {number} exitCode
   */
  constructor(message, exitCode) {
    super(message);
    this.name = "FlagsError";
    this.exitCode = exitCode;
  }
}

/**
 * @typedef {{ command: "enable" | "disable"; flag: string; tenants: string[]; actor: string | undefined }} ChangeCommand
 * @typedef {{ command: "list"; flag: string | undefined; tenants: string[] }} ListCommand
 * @typedef {{ command: "help" }} HelpCommand
 * @typedef {ChangeCommand | ListCommand | HelpCommand} Command
 */

/**
 * @param {string} raw
 * @returns {string[]}
 */
function parseTenantList(raw) {
  const slugs = [...new Set(raw.split(",").map((slug) => slug.trim()).filter((slug) => slug !== ""))];
  if (slugs.length === 0) throw new FlagsError("--tenants needs at least one tenant slug", EXIT.USAGE);
  const bad = slugs.filter((slug) => !SLUG.test(slug));
  if (bad.length > 0) {
    throw new FlagsError(`not a tenant slug: ${bad.join(", ")} (lowercase letters, digits and dashes)`, EXIT.USAGE);
  }
  return slugs;
}

/**
 * @param {string} flag
 */
function checkFlagName(flag) {
  if (!FLAG_NAME.test(flag)) {
    throw new FlagsError(
      `not a flag name: ${JSON.stringify(flag)} (lowercase, starting with a letter; letters, digits, _ . -)`,
      EXIT.USAGE,
    );
  }
}

/**
 * Parses the command line after the script name.
 * @param {readonly string[]} argv
 * @returns {Command}
 */
export function parseArgs(argv) {
  const positional = [];
  /** @type {Record<string, string>} */
  const options = {};
  for (let index = 0; index < argv.length; index += 1) {
    const arg = /** @type {string} */ (argv[index]);
    if (arg === "--help" || arg === "-h") return { command: "help" };
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (!["tenants", "flag", "by"].includes(name)) throw new FlagsError(`unknown option --${name}`, EXIT.USAGE);
      let value;
      if (eq !== -1) {
        value = arg.slice(eq + 1);
      } else {
        value = argv[index + 1];
        index += 1;
      }
      if (value === undefined || value.startsWith("--")) throw new FlagsError(`--${name} needs a value`, EXIT.USAGE);
      options[name] = value;
    } else {
      positional.push(arg);
    }
  }
  const [command, ...rest] = positional;
  if (command === "enable" || command === "disable") {
    if (rest.length !== 1) throw new FlagsError(`${command} takes exactly one flag name`, EXIT.USAGE);
    const flag = /** @type {string} */ (rest[0]);
    checkFlagName(flag);
    if (options.tenants === undefined) throw new FlagsError(`${command} needs --tenants <slug>[,<slug>...]`, EXIT.USAGE);
    if (options.flag !== undefined) throw new FlagsError(`--flag is only for list`, EXIT.USAGE);
    return { command, flag, tenants: parseTenantList(options.tenants), actor: options.by };
  }
  if (command === "list") {
    if (rest.length > 0) throw new FlagsError("list takes no positional arguments", EXIT.USAGE);
    if (options.by !== undefined) throw new FlagsError("--by is only for enable and disable", EXIT.USAGE);
    if (options.flag !== undefined) checkFlagName(options.flag);
    return {
      command,
      flag: options.flag,
      tenants: options.tenants === undefined ? [] : parseTenantList(options.tenants),
    };
  }
  if (command === undefined) throw new FlagsError("missing command: enable, disable or list", EXIT.USAGE);
  throw new FlagsError(`unknown command ${JSON.stringify(command)}: expected enable, disable or list`, EXIT.USAGE);
}

/**
 * Flag names from the catalog file: `{"flags": {"name": "description", ...}}`.
 * @param {string} path
 * @returns {string[]}
 */
export function readCatalog(path) {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new FlagsError(`cannot read the flag catalog ${path}: ${String(error)}`, EXIT.USAGE);
  }
  if (parsed === null || typeof parsed !== "object" || typeof parsed.flags !== "object" || parsed.flags === null) {
    throw new FlagsError(`the flag catalog ${path} must be {"flags": {"name": "description"}}`, EXIT.USAGE);
  }
  return Object.keys(parsed.flags);
}

/**
 * @typedef {{ id: string; slug: string }} Tenant
 * @typedef {{ tenantId: string; slug: string; enabled: boolean; previous: boolean | null; updatedAt: Date; updatedBy: string }} FlagChange
 * @typedef {{ slug: string; flag: string; enabled: boolean; updatedAt: Date | null; updatedBy: string | null }} FlagRow
 * @typedef {{
 *   findTenants(slugs: string[]): Promise<Tenant[]>;
 *   tenantSlugs(): Promise<string[]>;
 *   flagNames(): Promise<string[]>;
 *   setFlag(tenants: Tenant[], flag: string, enabled: boolean, actor: string): Promise<FlagChange[]>;
 *   listFlags(filter: { flag: string | undefined; slugs: string[] }): Promise<FlagRow[]>;
 *   close(): Promise<void>;
 * }} FlagsRepository
 */

/**
 * @param {Date | null} value
 */
function iso(value) {
  return value === null ? null : value.toISOString();
}

/**
 * @param {FlagsRepository} repository
 * @param {string[]} slugs
 */
async function resolveTenants(repository, slugs) {
  const found = await repository.findTenants(slugs);
  const known = new Set(found.map((tenant) => tenant.slug));
  const missing = slugs.filter((slug) => !known.has(slug));
  if (missing.length > 0) {
    const all = await repository.tenantSlugs();
    throw new FlagsError(
      `unknown tenant${missing.length > 1 ? "s" : ""}: ${missing.join(", ")} (known tenants: ${all.join(", ") || "none"})`,
      EXIT.UNKNOWN_NAME,
    );
  }
  // Keep the order the operator typed.
  return slugs.map((slug) => /** @type {Tenant} */ (found.find((tenant) => tenant.slug === slug)));
}

/**
 * @param {FlagsRepository} repository
 * @param {string} flag
 * @param {string[]} catalog
 */
async function checkFlagKnown(repository, flag, catalog) {
  if (catalog.includes(flag)) return;
  const inUse = await repository.flagNames();
  if (inUse.includes(flag)) return;
  const known = [...new Set([...catalog, ...inUse])].sort();
  throw new FlagsError(
    `unknown flag: ${flag} (known flags: ${known.join(", ") || "none"}; add new flags to the catalog first)`,
    EXIT.UNKNOWN_NAME,
  );
}

/**
 * @typedef {{
 *   env: Record<string, string | undefined>;
 *   out: (line: string) => void;
 *   err: (line: string) => void;
 *   openRepository: (databaseUrl: string) => Promise<FlagsRepository>;
 *   catalogPath: string;
 * }} FlagsDeps
 */

/**
 * Runs one CLI invocation and returns its exit code; never throws.
 * @param {readonly string[]} argv
 * @param {FlagsDeps} deps
 * @returns {Promise<number>}
 */
export async function runFlags(argv, deps) {
  /** @type {FlagsRepository | undefined} */
  let repository;
  try {
    const command = parseArgs(argv);
    if (command.command === "help") {
      deps.out(USAGE);
      return EXIT.OK;
    }
    const databaseUrl = deps.env.DATABASE_URL;
    if (databaseUrl === undefined || databaseUrl.trim() === "") {
      throw new FlagsError("DATABASE_URL is not set: point it at the environment's PostgreSQL", EXIT.USAGE);
    }
    const catalog = command.command === "list" ? [] : readCatalog(deps.catalogPath);
    repository = await deps.openRepository(databaseUrl);
    if (command.command === "list") {
      if (command.tenants.length > 0) await resolveTenants(repository, command.tenants);
      const rows = await repository.listFlags({ flag: command.flag, slugs: command.tenants });
      for (const row of rows) {
        deps.out(
          JSON.stringify({
            tenant: row.slug,
            flag: row.flag,
            enabled: row.enabled,
            updated_at: iso(row.updatedAt),
            updated_by: row.updatedBy,
          }),
        );
      }
      return EXIT.OK;
    }
    const tenants = await resolveTenants(repository, command.tenants);
    await checkFlagKnown(repository, command.flag, catalog);
    const actor = command.actor ?? deps.env.FLAGS_ACTOR ?? deps.env.USER ?? "flags-cli";
    const enabled = command.command === "enable";
    const changes = await repository.setFlag(tenants, command.flag, enabled, actor);
    for (const change of changes) {
      deps.out(
        JSON.stringify({
          event: "feature_flag_changed",
          action: command.command,
          flag: command.flag,
          tenant: change.slug,
          tenant_id: change.tenantId,
          enabled: change.enabled,
          previous: change.previous,
          changed: change.previous !== change.enabled,
          updated_at: iso(change.updatedAt),
          updated_by: change.updatedBy,
        }),
      );
    }
    return EXIT.OK;
  } catch (error) {
    if (error instanceof FlagsError) {
      deps.err(`flags: ${error.message}`);
      if (error.exitCode === EXIT.USAGE) deps.err("flags: run with --help for usage");
      return error.exitCode;
    }
    deps.err(`flags: database error: ${describeError(error)}`);
    return EXIT.DATABASE;
  } finally {
    if (repository !== undefined) {
      await repository.close().catch(() => {});
    }
  }
}

/**
 * @param {unknown} error
 */
export function describeError(error) {
  if (error instanceof Error) {
    const code = /** @type {{ code?: unknown }} */ (error).code;
    const message = error.message || (error instanceof AggregateError ? error.errors.map(String).join("; ") : error.name);
    return typeof code === "string" ? `${message} (${code})` : message;
  }
  return String(error);
}

import { readFileSync } from "node:fs";

export interface ServiceConfig {
  host: string;
  port: number;
  version: string;
  commit: string;
  faultsFile: string | undefined;
  corsOrigin: string;
  logLevel: string;
  /** METRICS_TENANTS: tenants whose canary series start at 0 (see createMetrics). */
  tenants: readonly string[];
}

export interface BuildInfo {
  version?: string;
  commit?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const DEFAULT_PORT = 8787;

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be an integer between 0 and 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

/** A tenant slug, as the database constrains it (at most 63 characters). */
export const TENANT_SLUG = "^[a-z0-9][a-z0-9-]{0,62}$";
const TENANT_SLUG_RE = new RegExp(TENANT_SLUG);

/** A comma-separated list of tenant slugs; blanks between commas are ignored. */
function parseTenants(raw: string | undefined): string[] {
  const tenants = (raw ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const bad = tenants.filter((tenant) => !TENANT_SLUG_RE.test(tenant));
  if (bad.length > 0) {
    throw new ConfigError(`METRICS_TENANTS holds ${bad.map((t) => JSON.stringify(t)).join(", ")}: not tenant slugs`);
  }
  return [...new Set(tenants)];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value.trim() : undefined;
}

/**
 * Reads the version stamp that `pnpm build` writes next to the compiled code, so
 * a packaged artifact still knows its release when RELEASE_VERSION is not set.
 */
export function readBuildInfo(path: string): BuildInfo {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (parsed === null || typeof parsed !== "object") return {};
    const record = parsed as Record<string, unknown>;
    const info: BuildInfo = {};
    if (typeof record.version === "string") info.version = record.version;
    if (typeof record.commit === "string") info.commit = record.commit;
    return info;
  } catch {
    return {};
  }
}

export function loadConfig(env: NodeJS.ProcessEnv, buildInfo: BuildInfo = {}): ServiceConfig {
  return {
    host: nonEmpty(env.HOST) ?? "127.0.0.1",
    port: parsePort(env.PORT),
    version: nonEmpty(env.RELEASE_VERSION) ?? buildInfo.version ?? "0.0.0-dev",
    commit: nonEmpty(env.RELEASE_COMMIT) ?? buildInfo.commit ?? "unknown",
    faultsFile: nonEmpty(env.SANDBOX_FAULTS_FILE),
    corsOrigin: nonEmpty(env.CORS_ORIGIN) ?? "*",
    logLevel: nonEmpty(env.LOG_LEVEL) ?? "info",
    tenants: parseTenants(env.METRICS_TENANTS),
  };
}

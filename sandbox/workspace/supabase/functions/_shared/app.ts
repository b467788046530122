// The router that stands in for the Supabase edge runtime: one process serves
// every function under /functions/v1/<name>, plus /metrics for Prometheus.
import { handler as health } from "../health/index.ts";
import { handler as menu } from "../menu/index.ts";
import { handler as tenantStatus } from "../tenant-status/index.ts";
import { faultsWatcher } from "./faults.ts";
import { CORS_HEADERS, errorJson } from "./http.ts";
import { JsonFileWatcher } from "./json_file.ts";
import { bearerToken, type JwtPayload, verifyHs256 } from "./jwt.ts";
import { Metrics } from "./metrics.ts";
import type { FlagOverrides, FunctionHandler } from "./types.ts";

export interface FunctionSpec {
  handler: FunctionHandler;
  /** Public functions skip JWT verification and the error_rate / latency faults. */
  public: boolean;
}

export const FUNCTIONS: Readonly<Record<string, FunctionSpec>> = {
  health: { handler: health, public: true },
  menu: { handler: menu, public: false },
  "tenant-status": { handler: tenantStatus, public: false },
};

export interface AppOptions {
  version: string;
  verifyJwt: boolean;
  jwtSecret?: string;
  /** The fault switches; a `faulty_version` other than `version` leaves this app without faults. */
  faultsFile?: string;
  flagsFile?: string;
  /** One JSON line per request; default console.log. */
  log?: (line: string) => void;
  /** Warnings (bad faults file, handler errors); default console.error. */
  warn?: (message: string) => void;
  /** For tests: the draw compared with error_rate, and the latency sleep. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface App {
  handle(req: Request): Promise<Response>;
  metrics: Metrics;
}

const ROUTE = /^\/functions\/v1\/([^/]+)(\/.*)?$/;
const READ_METHODS = new Set(["GET", "HEAD"]);

export function parseFlagOverrides(raw: unknown): FlagOverrides {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("flags file must hold a JSON object {tenant_slug: {flag: boolean}}");
  }
  const out: FlagOverrides = {};
  for (const [slug, flags] of Object.entries(raw as Record<string, unknown>)) {
    if (flags === null || typeof flags !== "object" || Array.isArray(flags)) {
      throw new Error(`flags of '${slug}' must be an object`);
    }
    out[slug] = {};
    for (const [flag, on] of Object.entries(flags as Record<string, unknown>)) {
      if (typeof on !== "boolean") throw new Error(`flag '${slug}.${flag}' must be a boolean`);
      out[slug][flag] = on;
    }
  }
  return out;
}

export function createApp(options: AppOptions): App {
  if (options.verifyJwt && !options.jwtSecret) {
    throw new Error("VERIFY_JWT is on but JWT_SECRET is empty");
  }
  const log = options.log ?? ((line: string) => console.log(line));
  const warn = options.warn ?? ((message: string) => console.error(message));
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const metrics = new Metrics(options.version);
  const faults = faultsWatcher(options.faultsFile, options.version, warn);
  const flags = new JsonFileWatcher<FlagOverrides>(options.flagsFile, {}, parseFlagOverrides, warn);

  // `seen.fn` is set as soon as the function is known, so that a handler that
  // throws is still counted under its own name.
  async function route(req: Request, url: URL, seen: { fn: string }): Promise<Response> {
    const match = ROUTE.exec(url.pathname);
    if (!match) return errorJson(404, "not_found", "no route; functions live under /functions/v1/<name>");
    let name: string;
    try {
      name = decodeURIComponent(match[1]);
    } catch {
      return errorJson(404, "not_found", "malformed function name");
    }
    const spec = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!spec) return errorJson(404, "not_found", `function '${name}' not found`);
    seen.fn = name;
    if (req.method === "OPTIONS") return new Response(null, { status: 204 });
    if (!READ_METHODS.has(req.method)) {
      return errorJson(405, "method_not_allowed", `${req.method} not allowed`, { allow: "GET, HEAD, OPTIONS" });
    }
    let claims: JwtPayload | null = null;
    if (options.verifyJwt && !spec.public) {
      const token = bearerToken(req.headers);
      if (!token) {
        return unauthorized("Missing authorization header");
      }
      const result = await verifyHs256(token, options.jwtSecret!);
      if (!result.ok) return unauthorized(`Invalid JWT: ${result.reason}`);
      claims = result.payload;
    }
    const active = await faults.current();
    if (!spec.public) {
      if (active.latencyMs > 0) await sleep(active.latencyMs);
      if (active.errorRate > 0 && random() < active.errorRate) {
        return errorJson(500, "injected_fault", "error_rate fault is on");
      }
    }
    return await spec.handler(req, {
      version: options.version,
      url,
      subpath: match[2] ?? "",
      claims,
      faults: active,
      flagOverrides: () => flags.current(),
    });
  }

  async function handle(req: Request): Promise<Response> {
    const started = performance.now();
    const url = new URL(req.url);
    if (url.pathname === "/metrics") {
      if (!READ_METHODS.has(req.method)) return errorJson(405, "method_not_allowed", `${req.method} not allowed`, { allow: "GET, HEAD" });
      return new Response(metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
      });
    }
    const seen = { fn: "unknown" };
    let response: Response;
    try {
      response = await route(req, url, seen);
    } catch (err) {
      warn(`unhandled error on ${req.method} ${url.pathname}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      response = errorJson(500, "internal_error", "internal error");
    }
    for (const [key, value] of Object.entries(CORS_HEADERS)) response.headers.set(key, value);
    const seconds = (performance.now() - started) / 1000;
    metrics.observe(seen.fn, response.status, seconds);
    log(JSON.stringify({
      ts: new Date().toISOString(),
      method: req.method,
      path: url.pathname,
      function: seen.fn,
      status: response.status,
      duration_ms: Math.round(seconds * 100000) / 100,
    }));
    return response;
  }

  return { handle, metrics };
}

function unauthorized(message: string): Response {
  return new Response(JSON.stringify({ code: 401, message }), {
    status: 401,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "www-authenticate": 'Bearer error="invalid_token"',
    },
  });
}

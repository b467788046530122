// One Deno process serving every ICUPA edge function, routed like Supabase:
//   GET /functions/v1/health | /functions/v1/menu?tenant=<slug> | /functions/v1/tenant-status[?tenant=<slug>]
//   GET /metrics (Prometheus text format)
// Run: deno run --allow-net --allow-env --allow-read supabase/functions/serve.ts
// Environment: see ../README.md ("Edge functions").
import { createApp } from "./_shared/app.ts";

export interface ServeConfig {
  host: string;
  port: number;
  version: string;
  verifyJwt: boolean;
  jwtSecret?: string;
  faultsFile?: string;
  flagsFile?: string;
  logRequests: boolean;
}

function flag(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  const v = value.toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new Error(`${name} must be 1 or 0, got '${value}'`);
}

/** Reads and checks the configuration; throws an Error with a clear message. */
export function readConfig(env: { get(key: string): string | undefined }): ServeConfig {
  const portText = env.get("PORT") || "54321";
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new Error(`PORT must be an integer 0..65535, got '${portText}'`);
  }
  const verifyJwt = flag("VERIFY_JWT", env.get("VERIFY_JWT"), false);
  const jwtSecret = env.get("JWT_SECRET") || undefined;
  if (verifyJwt && !jwtSecret) throw new Error("VERIFY_JWT=1 needs JWT_SECRET");
  return {
    host: env.get("HOST") || "127.0.0.1",
    port: Number(portText),
    version: env.get("RELEASE_VERSION") || "dev",
    verifyJwt,
    jwtSecret,
    faultsFile: env.get("SANDBOX_FAULTS_FILE") || undefined,
    flagsFile: env.get("TENANT_FLAGS_FILE") || undefined,
    logRequests: flag("LOG_REQUESTS", env.get("LOG_REQUESTS"), true),
  };
}

async function main(): Promise<number> {
  let config: ServeConfig;
  try {
    config = readConfig(Deno.env);
  } catch (err) {
    console.error(`serve.ts: configuration error: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  const app = createApp({
    version: config.version,
    verifyJwt: config.verifyJwt,
    jwtSecret: config.jwtSecret,
    faultsFile: config.faultsFile,
    flagsFile: config.flagsFile,
    log: config.logRequests ? undefined : () => {},
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: ({ hostname, port }) => {
        console.log(JSON.stringify({
          event: "listening",
          url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
          version: config.version,
          verify_jwt: config.verifyJwt,
          faults_file: config.faultsFile ?? null,
          pid: Deno.pid,
        }));
      },
    }, app.handle);
  } catch (err) {
    const why = err instanceof Deno.errors.AddrInUse
      ? `${config.host}:${config.port} is already in use`
      : err instanceof Error ? err.message : String(err);
    console.error(`serve.ts: cannot listen: ${why}`);
    return 3;
  }
  const stop = () => {
    server.shutdown();
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
  console.log(JSON.stringify({ event: "stopped", version: config.version }));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildApp } from "./app.js";
import { loadConfig, readBuildInfo } from "./config.js";

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Starts the service from environment variables and resolves once it listens. */
export async function start(env: NodeJS.ProcessEnv = process.env, quiet = false): Promise<RunningServer> {
  const config = loadConfig(env, readBuildInfo(join(here, "build-info.json")));
  const logger = quiet ? false : { level: config.logLevel };
  const service = buildApp({ config, logger });
  const url = await service.app.listen({ host: config.host, port: config.port });
  service.app.log.info({ version: config.version, commit: config.commit, faultsFile: config.faultsFile ?? null }, "agents-service ready");
  return {
    url,
    stop: () => service.app.close(),
  };
}

/** SIGTERM and SIGINT close the listener and let in-flight requests finish. */
export function handleSignals(server: RunningServer, target: NodeJS.EventEmitter = process): void {
  const shutdown = (signal: string): void => {
    server.stop().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        console.error(`agents-service: error while stopping on ${signal}: ${String(error)}`);
        process.exitCode = 1;
      },
    );
  };
  target.once("SIGTERM", () => shutdown("SIGTERM"));
  target.once("SIGINT", () => shutdown("SIGINT"));
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;

if (isEntryPoint) {
  start().then(handleSignals, (error: unknown) => {
    console.error(`agents-service: failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}

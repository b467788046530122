/** The environment a production build of the PWA needs, checked before Vite starts. */
export const REQUIRED_BUILD_VARIABLES = ["VITE_AGENTS_URL", "VITE_FUNCTIONS_URL"] as const;

export class BuildEnvError extends Error {
  override name = "BuildEnvError";
}

export interface BuildEnv {
  releaseVersion: string;
  releaseCommit: string | undefined;
  agentsUrl: string;
  functionsUrl: string;
  /** Milliseconds the heavy-page fault blocks the main thread; 0 when the fault is off. */
  heavyPageMs: number;
}

const DEFAULT_HEAVY_PAGE_MS = 2000;

function present(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value.trim() : undefined;
}

export function heavyPageMs(raw: string | undefined): number {
  const value = present(raw)?.toLowerCase();
  if (value === undefined || value === "0" || value === "false" || value === "off") return 0;
  if (value === "1" || value === "true" || value === "on") return DEFAULT_HEAVY_PAGE_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
    throw new BuildEnvError(`SANDBOX_WEB_HEAVY_PAGE must be 0/1/true/false or milliseconds up to 60000, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

/**
 * Reads and validates the build environment. Every missing variable is named
 * in one message, so a misconfigured staging build fails with the full list.
 */
export function readBuildEnv(env: Record<string, string | undefined>): BuildEnv {
  const missing = REQUIRED_BUILD_VARIABLES.filter((name) => present(env[name]) === undefined);
  if (missing.length > 0) {
    throw new BuildEnvError(
      `web build: missing required environment variable${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
        `(the staging endpoints the PWA talks to, e.g. VITE_AGENTS_URL=http://127.0.0.1:8787)`,
    );
  }
  for (const name of REQUIRED_BUILD_VARIABLES) {
    const value = env[name] as string;
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw new BuildEnvError(`web build: ${name} is not a URL: ${JSON.stringify(value)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new BuildEnvError(`web build: ${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
    }
  }
  return {
    releaseVersion: present(env.RELEASE_VERSION) ?? "0.0.0-dev",
    releaseCommit: present(env.RELEASE_COMMIT),
    agentsUrl: (env.VITE_AGENTS_URL as string).trim().replace(/\/+$/, ""),
    functionsUrl: (env.VITE_FUNCTIONS_URL as string).trim().replace(/\/+$/, ""),
    heavyPageMs: heavyPageMs(env.SANDBOX_WEB_HEAVY_PAGE),
  };
}

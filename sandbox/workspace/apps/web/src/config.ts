/** Build-time configuration, fixed by `vite build` from the environment. */
declare const __RELEASE_VERSION__: string;

export interface WebConfig {
  releaseVersion: string;
  agentsUrl: string | undefined;
  functionsUrl: string | undefined;
}

function optional(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

export function readConfig(env: Record<string, unknown>): WebConfig {
  return {
    releaseVersion: __RELEASE_VERSION__,
    agentsUrl: optional(env.VITE_AGENTS_URL),
    functionsUrl: optional(env.VITE_FUNCTIONS_URL),
  };
}

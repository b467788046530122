// Fault switches read from the JSON file named by SANDBOX_FAULTS_FILE.
//   error_rate  number 0..1  share of menu / tenant-status requests answered 500
//   smoke_fail  boolean      health answers 503
//   latency_ms  number >= 0  added delay before menu / tenant-status answer
// Other keys (faults meant for other sandbox services) are ignored.
import { JsonFileWatcher } from "./json_file.ts";

export interface Faults {
  errorRate: number;
  smokeFail: boolean;
  latencyMs: number;
}

export const NO_FAULTS: Faults = Object.freeze({ errorRate: 0, smokeFail: false, latencyMs: 0 });

export function parseFaults(raw: unknown): Faults {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("faults file must hold a JSON object");
  }
  const obj = raw as Record<string, unknown>;
  const num = (key: string): number => {
    const v = obj[key];
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${key} must be a number`);
    return v;
  };
  const errorRate = num("error_rate");
  if (errorRate < 0 || errorRate > 1) throw new Error("error_rate must be between 0 and 1");
  const latencyMs = num("latency_ms");
  if (latencyMs < 0) throw new Error("latency_ms must be >= 0");
  const smoke = obj.smoke_fail;
  if (smoke !== undefined && smoke !== null && typeof smoke !== "boolean") {
    throw new Error("smoke_fail must be a boolean");
  }
  return { errorRate, smokeFail: smoke === true, latencyMs };
}

export function faultsWatcher(path: string | undefined, warn?: (m: string) => void): JsonFileWatcher<Faults> {
  return new JsonFileWatcher(path, NO_FAULTS, parseFaults, warn);
}

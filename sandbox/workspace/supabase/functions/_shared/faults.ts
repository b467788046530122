// Fault switches read from the JSON file named by SANDBOX_FAULTS_FILE.
//   error_rate      number 0..1  share of menu / tenant-status requests answered 500
//   smoke_fail      boolean      health answers 503
//   latency_ms      number >= 0  added delay before menu / tenant-status answer
//   faulty_version  string       "" (or absent): the faults above apply to every version;
//                                a release name: they apply only to a process serving exactly
//                                that version, any other version runs without faults
// Other keys (faults meant for other sandbox services) are ignored.
import { JsonFileWatcher } from "./json_file.ts";

export interface Faults {
  errorRate: number;
  smokeFail: boolean;
  latencyMs: number;
}

export const NO_FAULTS: Faults = Object.freeze({ errorRate: 0, smokeFail: false, latencyMs: 0 });

/** The faults file as written: the switches and the release they are meant for. */
export interface FaultsDocument {
  faults: Faults;
  /** "" means every release. */
  faultyVersion: string;
}

export const NO_FAULTS_DOCUMENT: FaultsDocument = Object.freeze({ faults: NO_FAULTS, faultyVersion: "" });

export function parseFaults(raw: unknown): FaultsDocument {
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
  const faultyVersion = obj.faulty_version === undefined ? "" : obj.faulty_version;
  if (typeof faultyVersion !== "string") {
    throw new Error(
      `faulty_version must be a release name or "" (every release), got ${JSON.stringify(faultyVersion)}`,
    );
  }
  return { faults: { errorRate, smokeFail: smoke === true, latencyMs }, faultyVersion };
}

/** The faults in force in a process serving `version`: none when the document names another release. */
export function faultsFor(doc: FaultsDocument, version: string): Faults {
  return doc.faultyVersion === "" || doc.faultyVersion === version ? doc.faults : NO_FAULTS;
}

export interface FaultsSource {
  /** The faults in force now for this process's version (the file is re-read when it changes). */
  current(): Promise<Faults>;
}

export function faultsWatcher(path: string | undefined, version: string, warn?: (m: string) => void): FaultsSource {
  const watcher = new JsonFileWatcher(path, NO_FAULTS_DOCUMENT, parseFaults, warn);
  return { current: async () => faultsFor(await watcher.current(), version) };
}

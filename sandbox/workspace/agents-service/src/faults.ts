import { readFileSync, statSync } from "node:fs";

/** The fault switches a sandbox operator can flip to build a bad release on purpose. */
export interface Faults {
  errorRate: number;
  latencyMs: number;
  guardrailBreachRate: number;
  paymentFailureRate: number;
  smokeFail: boolean;
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  errorRate: 0,
  latencyMs: 0,
  guardrailBreachRate: 0,
  paymentFailureRate: 0,
  smokeFail: false,
});

const MAX_LATENCY_MS = 60_000;

const KNOWN_KEYS = new Set([
  "error_rate",
  "latency_ms",
  "guardrail_breach_rate",
  "payment_failure_rate",
  "smoke_fail",
  "faulty_version",
]);

export class FaultsFileError extends Error {
  override name = "FaultsFileError";
}

function rate(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new FaultsFileError(`${key} must be a number between 0 and 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

export interface ParsedFaults {
  faults: Faults;
  /** The release the faults are meant for; "" means every release. */
  faultyVersion: string;
  ignoredKeys: string[];
}

/**
 * Validates the decoded faults document. Keys this service does not own (the
 * sandbox keeps web and migration switches in the same file) are reported
 * back rather than rejected.
 */
export function parseFaults(raw: unknown): ParsedFaults {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new FaultsFileError("the faults document must be a JSON object");
  }
  const record = raw as Record<string, unknown>;
  const latency = record.latency_ms ?? 0;
  if (typeof latency !== "number" || !Number.isFinite(latency) || latency < 0 || latency > MAX_LATENCY_MS) {
    throw new FaultsFileError(
      `latency_ms must be a number between 0 and ${MAX_LATENCY_MS}, got ${JSON.stringify(latency)}`,
    );
  }
  const smokeFail = record.smoke_fail ?? false;
  if (typeof smokeFail !== "boolean") {
    throw new FaultsFileError(`smoke_fail must be true or false, got ${JSON.stringify(smokeFail)}`);
  }
  // Absent means every release (an older file); null is a wrong type like any other.
  const faultyVersion = record.faulty_version === undefined ? "" : record.faulty_version;
  if (typeof faultyVersion !== "string") {
    throw new FaultsFileError(
      `faulty_version must be a release name or "" (every release), got ${JSON.stringify(faultyVersion)}`,
    );
  }
  return {
    faults: {
      errorRate: rate(record, "error_rate"),
      latencyMs: latency,
      guardrailBreachRate: rate(record, "guardrail_breach_rate"),
      paymentFailureRate: rate(record, "payment_failure_rate"),
      smokeFail,
    },
    faultyVersion,
    ignoredKeys: Object.keys(record).filter((key) => !KNOWN_KEYS.has(key)),
  };
}

export interface FaultsLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silentLogger: FaultsLogger = { info: () => {}, error: () => {} };

/**
 * The faults in force for the release this process serves, re-read from disk
 * whenever the file's mtime or size changes. A missing file means no faults.
 * When the file names a `faulty_version` other than `version`, none of its
 * faults apply here: a rolled-back process is healthy again. An unreadable or
 * invalid file is logged and the last valid faults stay in force, so a
 * half-written file never flips the service back to healthy by accident.
 */
export class FaultSource {
  private faults: Faults = { ...NO_FAULTS };
  private stamp: string | undefined;

  constructor(
    private readonly path: string | undefined,
    private readonly version: string,
    private readonly logger: FaultsLogger = silentLogger,
  ) {}

  current(): Faults {
    if (this.path === undefined) return this.faults;
    let stamp: string;
    try {
      const stats = statSync(this.path);
      stamp = `${stats.mtimeMs}:${stats.size}`;
    } catch {
      if (this.stamp !== "missing") {
        this.stamp = "missing";
        this.faults = { ...NO_FAULTS };
        this.logger.info({ path: this.path }, "faults file absent: no faults active");
      }
      return this.faults;
    }
    if (stamp === this.stamp) return this.faults;
    this.stamp = stamp;
    try {
      const parsed = parseFaults(JSON.parse(readFileSync(this.path, "utf8")));
      const applies = parsed.faultyVersion === "" || parsed.faultyVersion === this.version;
      this.faults = applies ? parsed.faults : { ...NO_FAULTS };
      this.logger.info(
        {
          path: this.path,
          faults: parsed.faults,
          faultyVersion: parsed.faultyVersion,
          version: this.version,
          applies,
          ignoredKeys: parsed.ignoredKeys,
        },
        applies ? "faults file loaded" : "faults file loaded: its faults are for another version, none apply",
      );
    } catch (error) {
      this.logger.error(
        { path: this.path, err: String(error) },
        "faults file invalid: keeping the previous faults",
      );
    }
    return this.faults;
  }
}

/**
 * Turns a rate into hits spread evenly over calls: with rate 0.25 exactly one
 * call in four fires. Deterministic on purpose, so a bad release built from
 * the fault switches is reliably bad from its first few requests on.
 */
export class RateGate {
  private credit = 0;

  fire(rate: number): boolean {
    if (rate <= 0) return false;
    this.credit += rate;
    if (this.credit >= 1 - 1e-9) {
      this.credit -= 1;
      return true;
    }
    return false;
  }
}

import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp, type AgentsApp } from "../src/app.js";
import { loadConfig, type ServiceConfig } from "../src/config.js";

export function testConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return { ...loadConfig({ RELEASE_VERSION: "v9.9.9", RELEASE_COMMIT: "abc1234" }), ...overrides };
}

export function testApp(overrides: Partial<ServiceConfig> = {}): AgentsApp {
  return buildApp({ config: testConfig(overrides) });
}

/** A temporary faults file whose every write gets a distinct mtime. */
export class FaultsFile {
  readonly dir = mkdtempSync(join(tmpdir(), "agents-faults-"));
  readonly path = join(this.dir, "faults.json");
  private tick = 0;

  write(content: unknown): void {
    writeFileSync(this.path, typeof content === "string" ? content : JSON.stringify(content));
    this.tick += 1;
    const stamp = new Date(Date.UTC(2030, 0, 1, 0, 0, this.tick));
    utimesSync(this.path, stamp, stamp);
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The value of one sample line in Prometheus text format, or undefined. */
export function sample(metricsText: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of metricsText.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[pair[1] as string] = pair[2] as string;
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[4]);
  }
  return undefined;
}

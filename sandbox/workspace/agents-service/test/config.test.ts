import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, readBuildInfo } from "../src/config.js";

describe("loadConfig", () => {
  it("has loopback defaults", () => {
    expect(loadConfig({})).toEqual({
      host: "127.0.0.1",
      port: 8787,
      version: "0.0.0-dev",
      commit: "unknown",
      faultsFile: undefined,
      corsOrigin: "*",
      logLevel: "info",
      tenants: [],
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      HOST: "0.0.0.0",
      PORT: "9100",
      RELEASE_VERSION: "v1.2.3",
      RELEASE_COMMIT: "deadbeef",
      SANDBOX_FAULTS_FILE: "/tmp/faults.json",
      CORS_ORIGIN: "http://127.0.0.1:4173",
      LOG_LEVEL: "warn",
      METRICS_TENANTS: "icupa-hq, icupa-qa,,icupa-hq",
    });
    expect(config).toEqual({
      host: "0.0.0.0",
      port: 9100,
      version: "v1.2.3",
      commit: "deadbeef",
      faultsFile: "/tmp/faults.json",
      corsOrigin: "http://127.0.0.1:4173",
      logLevel: "warn",
      tenants: ["icupa-hq", "icupa-qa"],
    });
  });

  it("refuses a tenant list that holds something other than slugs", () => {
    expect(() => loadConfig({ METRICS_TENANTS: "icupa-hq,Kigali Bistro" })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_TENANTS: "icupa-hq,Kigali Bistro" })).toThrow(/"Kigali Bistro": not tenant slugs/);
    expect(() => loadConfig({ METRICS_TENANTS: "a".repeat(64) })).toThrow(ConfigError);
  });

  it("falls back to the build stamp, and the environment wins over it", () => {
    expect(loadConfig({}, { version: "v2.0.0", commit: "c0ffee" })).toMatchObject({ version: "v2.0.0", commit: "c0ffee" });
    expect(loadConfig({ RELEASE_VERSION: "v3.0.0" }, { version: "v2.0.0" }).version).toBe("v3.0.0");
  });

  it.each(["http", "-1", "70000", "1.5"])("rejects PORT=%s", (port) => {
    expect(() => loadConfig({ PORT: port })).toThrow(ConfigError);
  });
});

describe("readBuildInfo", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function file(content: string): string {
    const dir = mkdtempSync(join(tmpdir(), "build-info-"));
    dirs.push(dir);
    const path = join(dir, "build-info.json");
    writeFileSync(path, content);
    return path;
  }

  it("reads version and commit", () => {
    expect(readBuildInfo(file('{"version":"v1.0.0","commit":"abc"}'))).toEqual({ version: "v1.0.0", commit: "abc" });
  });

  it("ignores a missing, malformed or wrongly typed stamp", () => {
    expect(readBuildInfo("/nonexistent/build-info.json")).toEqual({});
    expect(readBuildInfo(file("not json"))).toEqual({});
    expect(readBuildInfo(file("null"))).toEqual({});
    expect(readBuildInfo(file('{"version":1}'))).toEqual({});
  });
});

import { describe, expect, it } from "vitest";
import { BuildEnvError, heavyPageMs, readBuildEnv } from "../tooling/build-env";

const STAGING = { VITE_AGENTS_URL: "http://127.0.0.1:8787/", VITE_FUNCTIONS_URL: "http://127.0.0.1:54321/functions/v1" };

describe("readBuildEnv", () => {
  it("reads the staging endpoints and the release version", () => {
    expect(readBuildEnv({ ...STAGING, RELEASE_VERSION: "v0.1.0", RELEASE_COMMIT: "abc" })).toEqual({
      releaseVersion: "v0.1.0",
      releaseCommit: "abc",
      agentsUrl: "http://127.0.0.1:8787",
      functionsUrl: "http://127.0.0.1:54321/functions/v1",
      heavyPageMs: 0,
    });
    expect(readBuildEnv(STAGING).releaseVersion).toBe("0.0.0-dev");
  });

  it("names the missing variable", () => {
    expect(() => readBuildEnv({ VITE_AGENTS_URL: "http://a" })).toThrow(
      "web build: missing required environment variable VITE_FUNCTIONS_URL ",
    );
    expect(() => readBuildEnv({ VITE_FUNCTIONS_URL: "http://f", VITE_AGENTS_URL: "  " })).toThrow(
      "missing required environment variable VITE_AGENTS_URL ",
    );
    expect(() => readBuildEnv({})).toThrow("missing required environment variables VITE_AGENTS_URL, VITE_FUNCTIONS_URL");
  });

  it("rejects values that are not http(s) URLs", () => {
    expect(() => readBuildEnv({ ...STAGING, VITE_AGENTS_URL: "agents" })).toThrow("VITE_AGENTS_URL is not a URL");
    expect(() => readBuildEnv({ ...STAGING, VITE_FUNCTIONS_URL: "ftp://x" })).toThrow(BuildEnvError);
  });
});

describe("heavyPageMs", () => {
  it.each([
    [undefined, 0],
    ["", 0],
    ["0", 0],
    ["false", 0],
    ["off", 0],
    ["1", 2000],
    ["true", 2000],
    ["ON", 2000],
    ["750", 750],
  ])("%j -> %d", (raw, ms) => {
    expect(heavyPageMs(raw)).toBe(ms);
  });

  it.each(["lots", "-5", "1.5", "99999"])("rejects %j", (raw) => {
    expect(() => heavyPageMs(raw)).toThrow("SANDBOX_WEB_HEAVY_PAGE");
  });
});

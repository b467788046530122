import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { handleSignals, start } from "../src/server.js";

describe("start", () => {
  it("listens on the configured loopback port and stops cleanly", async () => {
    const server = await start({ PORT: "0", HOST: "127.0.0.1", RELEASE_VERSION: "v0.0.1" }, true);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${server.url}/health`);
      expect(await response.json()).toEqual({ status: "ok", version: "v0.0.1" });
    } finally {
      await server.stop();
    }
  });

  it("logs when not quiet", async () => {
    const server = await start({ PORT: "0", LOG_LEVEL: "silent" });
    await server.stop();
  });

  it("refuses a bad PORT", async () => {
    await expect(start({ PORT: "not-a-port" }, true)).rejects.toThrow("PORT must be an integer");
  });
});

describe("handleSignals", () => {
  it("stops the server on SIGTERM", async () => {
    const target = new EventEmitter();
    const stop = vi.fn(() => Promise.resolve());
    handleSignals({ url: "http://x", stop }, target);
    target.emit("SIGTERM");
    await vi.waitFor(() => expect(stop).toHaveBeenCalledTimes(1));
  });

  it("reports a failed stop on SIGINT", async () => {
    const target = new EventEmitter();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const previous = process.exitCode;
    handleSignals({ url: "http://x", stop: () => Promise.reject(new Error("boom")) }, target);
    target.emit("SIGINT");
    await vi.waitFor(() => expect(errors).toHaveBeenCalledWith(expect.stringContaining("boom")));
    expect(process.exitCode).toBe(1);
    process.exitCode = previous;
    errors.mockRestore();
  });
});

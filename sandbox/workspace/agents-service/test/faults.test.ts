import { afterEach, describe, expect, it, vi } from "vitest";
import { FaultSource, FaultsFileError, NO_FAULTS, parseFaults, RateGate } from "../src/faults.js";
import { FaultsFile } from "./helpers.js";

describe("parseFaults", () => {
  it("maps every documented key", () => {
    const parsed = parseFaults({
      error_rate: 0.2,
      latency_ms: 150,
      guardrail_breach_rate: 0.5,
      payment_failure_rate: 1,
      smoke_fail: true,
      faulty_version: "v0.1.0",
    });
    expect(parsed.faults).toEqual({
      errorRate: 0.2,
      latencyMs: 150,
      guardrailBreachRate: 0.5,
      paymentFailureRate: 1,
      smokeFail: true,
    });
    expect(parsed.faultyVersion).toBe("v0.1.0");
    expect(parsed.ignoredKeys).toEqual([]);
  });

  it("defaults missing keys to no fault and reports keys it does not own", () => {
    const parsed = parseFaults({ web_heavy_page: true });
    expect(parsed.faults).toEqual(NO_FAULTS);
    expect(parsed.faultyVersion).toBe("");
    expect(parsed.ignoredKeys).toEqual(["web_heavy_page"]);
  });

  it.each([
    [[], "JSON object"],
    [null, "JSON object"],
    [{ error_rate: 1.5 }, "error_rate must be a number between 0 and 1"],
    [{ payment_failure_rate: "0.1" }, "payment_failure_rate"],
    [{ latency_ms: -1 }, "latency_ms"],
    [{ latency_ms: 10_000_000 }, "latency_ms"],
    [{ smoke_fail: "yes" }, "smoke_fail"],
    [{ faulty_version: 1 }, "faulty_version must be a release name"],
    [{ faulty_version: null }, "faulty_version"],
    [{ faulty_version: ["v0.1.0"] }, "faulty_version"],
  ])("rejects %j", (raw, message) => {
    expect(() => parseFaults(raw)).toThrow(FaultsFileError);
    expect(() => parseFaults(raw)).toThrow(message);
  });
});

describe("RateGate", () => {
  it("fires exactly the requested fraction, evenly spread", () => {
    const gate = new RateGate();
    const fired = Array.from({ length: 1000 }, () => gate.fire(0.1)).filter(Boolean).length;
    expect(fired).toBe(100);
  });

  it("never fires at 0 and always fires at 1", () => {
    const gate = new RateGate();
    expect(Array.from({ length: 50 }, () => gate.fire(0)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 50 }, () => gate.fire(1)).every(Boolean)).toBe(true);
  });
});

describe("FaultSource", () => {
  const files: FaultsFile[] = [];
  afterEach(() => {
    for (const file of files.splice(0)) file.cleanup();
  });

  function logger() {
    return { info: vi.fn(), error: vi.fn() };
  }

  it("has no faults without a file", () => {
    expect(new FaultSource(undefined, "v0.1.0").current()).toEqual(NO_FAULTS);
  });

  it("treats a missing file as no faults, once logged", () => {
    const file = new FaultsFile();
    files.push(file);
    const log = logger();
    const source = new FaultSource(file.path, "v0.1.0", log);
    expect(source.current()).toEqual(NO_FAULTS);
    expect(source.current()).toEqual(NO_FAULTS);
    expect(log.info).toHaveBeenCalledTimes(1);
  });

  it("re-reads the file when it changes and not otherwise", () => {
    const file = new FaultsFile();
    files.push(file);
    const log = logger();
    const source = new FaultSource(file.path, "v0.1.0", log);
    file.write({ error_rate: 0.5 });
    expect(source.current().errorRate).toBe(0.5);
    expect(source.current().errorRate).toBe(0.5);
    expect(log.info).toHaveBeenCalledTimes(1);
    file.write({ latency_ms: 20 });
    expect(source.current()).toMatchObject({ errorRate: 0, latencyMs: 20 });
    file.remove();
    expect(source.current()).toEqual(NO_FAULTS);
  });

  it("keeps the last valid faults when the file becomes invalid", () => {
    const file = new FaultsFile();
    files.push(file);
    const log = logger();
    const source = new FaultSource(file.path, "v0.1.0", log);
    file.write({ smoke_fail: true });
    expect(source.current().smokeFail).toBe(true);
    file.write("{ not json");
    expect(source.current().smokeFail).toBe(true);
    file.write({ error_rate: 7 });
    expect(source.current().smokeFail).toBe(true);
    expect(log.error).toHaveBeenCalledTimes(2);
  });

  it("applies faults scoped to another version nowhere but in that version", () => {
    const file = new FaultsFile();
    files.push(file);
    const bad = new FaultSource(file.path, "v0.1.0");
    const previous = new FaultSource(file.path, "v0.0.9");
    const faults = { error_rate: 1, latency_ms: 5, guardrail_breach_rate: 1, payment_failure_rate: 1, smoke_fail: true };
    file.write({ ...faults, faulty_version: "v0.1.0" });
    expect(bad.current()).toEqual({
      errorRate: 1,
      latencyMs: 5,
      guardrailBreachRate: 1,
      paymentFailureRate: 1,
      smokeFail: true,
    });
    expect(previous.current()).toEqual(NO_FAULTS);
    file.write({ ...faults, faulty_version: "" });
    expect(previous.current().errorRate).toBe(1);
    expect(bad.current().errorRate).toBe(1);
  });

  it("matches the version exactly and logs whether the faults apply", () => {
    const file = new FaultsFile();
    files.push(file);
    const log = logger();
    const source = new FaultSource(file.path, "v0.1.0", log);
    for (const other of ["v0.1", "v0.1.0-rc1", "V0.1.0", " v0.1.0"]) {
      file.write({ error_rate: 1, faulty_version: other });
      expect(source.current(), other).toEqual(NO_FAULTS);
    }
    expect(log.info).toHaveBeenLastCalledWith(
      expect.objectContaining({ faultyVersion: " v0.1.0", version: "v0.1.0", applies: false }),
      expect.stringContaining("none apply"),
    );
    file.write({ error_rate: 1, faulty_version: "v0.1.0" });
    expect(source.current().errorRate).toBe(1);
    expect(log.info).toHaveBeenLastCalledWith(expect.objectContaining({ applies: true }), "faults file loaded");
  });

  it("keeps the last valid faults when faulty_version has the wrong type", () => {
    const file = new FaultsFile();
    files.push(file);
    const log = logger();
    const source = new FaultSource(file.path, "v0.1.0", log);
    file.write({ error_rate: 1, faulty_version: "v0.1.0" });
    expect(source.current().errorRate).toBe(1);
    file.write({ error_rate: 1, faulty_version: 0.1 });
    expect(source.current().errorRate).toBe(1);
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.stringContaining("faulty_version") }),
      expect.any(String),
    );
  });
});

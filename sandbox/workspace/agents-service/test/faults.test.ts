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
    });
    expect(parsed.faults).toEqual({
      errorRate: 0.2,
      latencyMs: 150,
      guardrailBreachRate: 0.5,
      paymentFailureRate: 1,
      smokeFail: true,
    });
    expect(parsed.ignoredKeys).toEqual([]);
  });

  it("defaults missing keys to no fault and reports keys it does not own", () => {
    const parsed = parseFaults({ web_heavy_page: true });
    expect(parsed.faults).toEqual(NO_FAULTS);
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
    expect(new FaultSource(undefined).current()).toEqual(NO_FAULTS);
  });

  it("treats a missing file as no faults, once logged", () => {
    const file = new FaultsFile();
    files.push(file);
    const log = logger();
    const source = new FaultSource(file.path, log);
    expect(source.current()).toEqual(NO_FAULTS);
    expect(source.current()).toEqual(NO_FAULTS);
    expect(log.info).toHaveBeenCalledTimes(1);
  });

  it("re-reads the file when it changes and not otherwise", () => {
    const file = new FaultsFile();
    files.push(file);
    const log = logger();
    const source = new FaultSource(file.path, log);
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
    const source = new FaultSource(file.path, log);
    file.write({ smoke_fail: true });
    expect(source.current().smokeFail).toBe(true);
    file.write("{ not json");
    expect(source.current().smokeFail).toBe(true);
    file.write({ error_rate: 7 });
    expect(source.current().smokeFail).toBe(true);
    expect(log.error).toHaveBeenCalledTimes(2);
  });
});

import { createApp } from "../_shared/app.ts";
import { faultsFor, faultsWatcher, NO_FAULTS, NO_FAULTS_DOCUMENT, parseFaults } from "../_shared/faults.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";

const BASE = "http://127.0.0.1:54321/functions/v1";

/** Writes JSON and moves the mtime forward, so that a rewrite within the same
 * millisecond (and of the same size) is still seen as a change. */
let tick = 1_700_000_000;
async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, typeof value === "string" ? value : JSON.stringify(value));
  tick += 10;
  await Deno.utime(path, tick, tick);
}

Deno.test("parseFaults reads the known keys and checks them", () => {
  assertEquals(parseFaults({}), NO_FAULTS_DOCUMENT);
  assertEquals(parseFaults({ error_rate: 0.25, smoke_fail: true, latency_ms: 40, web_slow_page: true }), {
    faults: { errorRate: 0.25, smokeFail: true, latencyMs: 40 },
    faultyVersion: "",
  });
  assertEquals(parseFaults({ error_rate: 1, faulty_version: "v0.1.0" }).faultyVersion, "v0.1.0");
  for (
    const bad of [
      [],
      "x",
      { error_rate: 2 },
      { error_rate: -0.1 },
      { error_rate: "0.5" },
      { smoke_fail: "yes" },
      { latency_ms: -1 },
      { faulty_version: 1 },
      { faulty_version: null },
      { faulty_version: ["v0.1.0"] },
    ]
  ) {
    let threw = false;
    try {
      parseFaults(bad);
    } catch {
      threw = true;
    }
    assert(threw, `rejects ${JSON.stringify(bad)}`);
  }
});

Deno.test("the faults file is re-read when it changes and ignored while invalid", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/faults.json`;
  const warnings: string[] = [];
  const watcher = faultsWatcher(path, "2.0.0", (m) => warnings.push(m));
  try {
    assertEquals(await watcher.current(), NO_FAULTS, "missing file: no faults");
    await writeJson(path, { smoke_fail: true });
    assertEquals((await watcher.current()).smokeFail, true);
    await writeJson(path, { smoke_fail: false, error_rate: 0.5 });
    assertEquals(await watcher.current(), { errorRate: 0.5, smokeFail: false, latencyMs: 0 });
    await writeJson(path, "{not json");
    assertEquals((await watcher.current()).errorRate, 0.5, "invalid JSON keeps the last good value");
    assertEquals((await watcher.current()).errorRate, 0.5);
    assertEquals(warnings.length, 1, "one warning per bad version of the file");
    assertMatch(warnings[0], /faults\.json/);
    await writeJson(path, "");
    assertEquals(await watcher.current(), NO_FAULTS, "an empty file means no faults");
    await writeJson(path, { latency_ms: 5 });
    assertEquals((await watcher.current()).latencyMs, 5);
    await Deno.remove(path);
    assertEquals(await watcher.current(), NO_FAULTS, "a removed file turns the faults off");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("smoke_fail makes health answer 503; error_rate fails protected functions only", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/faults.json`;
  let draw = 0.5;
  const slept: number[] = [];
  const app = createApp({
    version: "2.0.0",
    verifyJwt: false,
    faultsFile: path,
    log: () => {},
    warn: () => {},
    random: () => draw,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  });
  const get = (p: string) => app.handle(new Request(BASE + p));
  try {
    assertEquals((await get("/health")).status, 200);

    await writeJson(path, { smoke_fail: true });
    const failing = await get("/health");
    assertEquals(failing.status, 503);
    assertEquals(await failing.json(), { status: "fail", version: "2.0.0", reason: "smoke_fail fault is on" });
    assertEquals((await get("/menu?tenant=icupa-hq")).status, 200, "smoke_fail leaves the other functions alone");

    await writeJson(path, { error_rate: 1 });
    assertEquals((await get("/health")).status, 200, "health recovers when smoke_fail is off; error_rate spares it");
    const injected = await get("/menu?tenant=icupa-hq");
    assertEquals(injected.status, 500);
    assertEquals(await injected.json(), { error: "injected_fault", message: "error_rate fault is on" });
    assertEquals((await get("/tenant-status")).status, 500);

    await writeJson(path, { error_rate: 0.3 });
    draw = 0.29;
    assertEquals((await get("/menu?tenant=icupa-hq")).status, 500, "a draw below error_rate fails");
    draw = 0.3;
    assertEquals((await get("/menu?tenant=icupa-hq")).status, 200, "a draw at or above error_rate passes");

    await writeJson(path, { latency_ms: 120 });
    assertEquals((await get("/menu?tenant=icupa-hq")).status, 200);
    assertEquals((await get("/health")).status, 200);
    assertEquals(slept, [120], "latency is added to protected functions only");

    assertEquals(app.metrics.requestCount("health", 503), 1);
    assertEquals(app.metrics.requestCount("menu", 500), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("faultsFor applies the faults only to the version they name", () => {
  const doc = parseFaults({ error_rate: 1, smoke_fail: true, latency_ms: 7, faulty_version: "v0.1.0" });
  assertEquals(faultsFor(doc, "v0.1.0"), { errorRate: 1, smokeFail: true, latencyMs: 7 });
  for (const other of ["v0.0.9", "v0.1", "v0.1.0-rc1", "V0.1.0"]) {
    assertEquals(faultsFor(doc, other), NO_FAULTS, other);
  }
  const everywhere = parseFaults({ error_rate: 1 });
  assertEquals(faultsFor(everywhere, "v0.0.9").errorRate, 1, "no faulty_version: every version");
});

Deno.test("faulty_version: the faulty release fails, another release of the same file serves", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/faults.json`;
  const make = (version: string) =>
    createApp({ version, verifyJwt: false, faultsFile: path, log: () => {}, warn: () => {}, random: () => 0.5 });
  const bad = make("v0.1.0");
  const previous = make("v0.0.9");
  const get = (app: ReturnType<typeof make>, p: string) => app.handle(new Request(BASE + p));
  try {
    await writeJson(path, { error_rate: 1, smoke_fail: true, faulty_version: "v0.1.0" });
    assertEquals((await get(bad, "/menu?tenant=icupa-hq")).status, 500);
    assertEquals((await get(bad, "/health")).status, 503);
    assertEquals((await get(previous, "/menu?tenant=icupa-hq")).status, 200);
    const health = await get(previous, "/health");
    assertEquals(health.status, 200);
    assertEquals(await health.json(), { status: "ok", version: "v0.0.9" });

    await writeJson(path, { error_rate: 1, faulty_version: 0.1 });
    assertEquals((await get(bad, "/menu?tenant=icupa-hq")).status, 500, "an invalid file keeps the last faults");
    assertEquals((await get(previous, "/menu?tenant=icupa-hq")).status, 200);

    await writeJson(path, { error_rate: 1, faulty_version: "" });
    assertEquals((await get(previous, "/menu?tenant=icupa-hq")).status, 500, "empty faulty_version: every version");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tenant-status overlays TENANT_FLAGS_FILE on the default flags", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/flags.json`;
  const app = createApp({ version: "2.0.0", verifyJwt: false, flagsFile: path, log: () => {}, warn: () => {} });
  const get = async (p: string) => await (await app.handle(new Request(BASE + p))).json();
  try {
    assertEquals((await get("/tenant-status?tenant=icupa-hq")).flags.new_checkout, false);
    await writeJson(path, { "icupa-hq": { new_checkout: true }, "icupa-qa": { new_checkout: true, beta_menu: true } });
    assertEquals((await get("/tenant-status?tenant=icupa-hq")).flags, { new_checkout: true, ai_waiter: false, split_bill: false });
    const summary = await get("/tenant-status");
    assertEquals(summary.flags_enabled.new_checkout, 2);
    assertEquals(summary.flags_enabled.beta_menu, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

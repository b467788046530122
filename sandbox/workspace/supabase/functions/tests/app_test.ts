import { createApp, FUNCTIONS, parseFlagOverrides } from "../_shared/app.ts";
import { signHs256 } from "../_shared/jwt.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";

const SECRET = "app-test-secret-0123456789abcdef";
const BASE = "http://127.0.0.1:54321";

function app(overrides: Partial<Parameters<typeof createApp>[0]> = {}) {
  const logs: string[] = [];
  const warnings: string[] = [];
  const a = createApp({
    version: "9.9.9-test",
    verifyJwt: false,
    log: (line) => logs.push(line),
    warn: (m) => warnings.push(m),
    ...overrides,
  });
  return { ...a, logs, warnings, get: (path: string, init?: RequestInit) => a.handle(new Request(BASE + path, init)) };
}

async function body(res: Response): Promise<Record<string, unknown>> {
  return await res.json();
}

Deno.test("health answers ok with the release version", async () => {
  const res = await app().get("/functions/v1/health");
  assertEquals(res.status, 200);
  assertEquals(await body(res), { status: "ok", version: "9.9.9-test" });
  assertEquals(res.headers.get("access-control-allow-origin"), "*");
});

Deno.test("menu routes by tenant slug", async () => {
  const a = app();
  const ok = await a.get("/functions/v1/menu?tenant=kigali-bistro");
  assertEquals(ok.status, 200);
  const menu = await body(ok);
  assertEquals(menu.tenant, { slug: "kigali-bistro", name: "Kigali Bistro", tier: "pilot" });
  assert(Array.isArray(menu.items) && menu.items.length > 0, "menu has items");
  assertEquals(menu.version, "9.9.9-test");
  const drinks = await body(await a.get("/functions/v1/menu?tenant=kigali-bistro&category=drink"));
  assertEquals((drinks.items as Array<{ category: string }>).map((i) => i.category), ["drink"]);
  assertEquals((await a.get("/functions/v1/menu")).status, 400);
  const unknown = await a.get("/functions/v1/menu?tenant=nope");
  assertEquals(unknown.status, 404);
  assertEquals((await body(unknown)).error, "not_found");
});

Deno.test("tenant-status reports one tenant or the tier summary", async () => {
  const a = app();
  const one = await body(await a.get("/functions/v1/tenant-status?tenant=mountain-cafe"));
  assertEquals(one.tenant, { slug: "mountain-cafe", name: "Mountain Cafe", tier: "low_volume" });
  assertEquals(one.rollout_stage, 3);
  assertEquals(one.flags, { new_checkout: false, ai_waiter: false, split_bill: false });
  const all = await body(await a.get("/functions/v1/tenant-status"));
  const tiers = all.tiers as Record<string, { count: number }>;
  assertEquals(
    Object.fromEntries(Object.entries(tiers).map(([k, v]) => [k, v.count])),
    { internal: 2, pilot: 2, low_volume: 3, ga: 5 },
  );
  assertEquals((await a.get("/functions/v1/tenant-status?tenant=nope")).status, 404);
});

Deno.test("unknown routes and functions are 404, other methods 405, OPTIONS 204", async () => {
  const a = app();
  assertEquals((await a.get("/")).status, 404);
  assertEquals((await a.get("/functions/v1")).status, 404);
  assertEquals((await a.get("/functions/v2/health")).status, 404);
  const missing = await a.get("/functions/v1/payments");
  assertEquals(missing.status, 404);
  assertEquals(await body(missing), { error: "not_found", message: "function 'payments' not found" });
  assertEquals((await a.get("/functions/v1/__proto__")).status, 404);
  assertEquals((await a.get("/functions/v1/%E0%A4%A")).status, 404, "a malformed escape is a 404, not a 500");
  assertEquals((await a.get("/functions/v1/health/")).status, 200, "trailing slash routes to the function");
  assertEquals((await a.get("/functions/v1/menu/extra?tenant=icupa-hq")).status, 200, "sub-paths route to the function");
  const post = await a.get("/functions/v1/menu?tenant=icupa-hq", { method: "POST", body: "{}" });
  assertEquals(post.status, 405);
  assertEquals(post.headers.get("allow"), "GET, HEAD, OPTIONS");
  const preflight = await a.get("/functions/v1/menu", { method: "OPTIONS" });
  assertEquals(preflight.status, 204);
  assertMatch(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
  assertEquals(Object.keys(FUNCTIONS).sort(), ["health", "menu", "tenant-status"]);
});

Deno.test("VERIFY_JWT: protected functions need a valid bearer token, health stays public", async () => {
  const a = app({ verifyJwt: true, jwtSecret: SECRET });
  const now = Math.floor(Date.now() / 1000);
  const good = await signHs256({ sub: "smoke", role: "authenticated", exp: now + 60 }, SECRET);
  const expired = await signHs256({ sub: "smoke", exp: now - 60 }, SECRET);
  const forged = await signHs256({ sub: "smoke", exp: now + 60 }, "not-the-secret");
  assertEquals((await a.get("/functions/v1/health")).status, 200);

  const missing = await a.get("/functions/v1/menu?tenant=icupa-hq");
  assertEquals(missing.status, 401);
  assertEquals(await body(missing), { code: 401, message: "Missing authorization header" });
  assertMatch(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
  assertEquals(missing.headers.get("content-type"), "application/json; charset=utf-8");

  for (const [token, reason] of [[expired, "token expired"], [forged, "bad signature"], ["garbage", "malformed token"]]) {
    const res = await a.get("/functions/v1/menu?tenant=icupa-hq", { headers: { authorization: `Bearer ${token}` } });
    assertEquals(res.status, 401);
    assertEquals(await body(res), { code: 401, message: `Invalid JWT: ${reason}` });
  }
  const basic = await a.get("/functions/v1/tenant-status", { headers: { authorization: "Basic abc" } });
  assertEquals(basic.status, 401);

  const ok = await a.get("/functions/v1/menu?tenant=icupa-hq", { headers: { authorization: `Bearer ${good}` } });
  assertEquals(ok.status, 200);
  const status = await a.get("/functions/v1/tenant-status", { headers: { authorization: `Bearer ${good}` } });
  assertEquals(status.status, 200);
  assertEquals((await a.get("/functions/v1/nope")).status, 404, "unknown functions are 404 before auth");
  assertEquals(a.metrics.requestCount("menu", 401), 4);
});

Deno.test("without VERIFY_JWT protected functions answer without a token", async () => {
  const res = await app({ jwtSecret: SECRET }).get("/functions/v1/menu?tenant=icupa-hq");
  assertEquals(res.status, 200);
});

Deno.test("VERIFY_JWT without a secret is refused at construction", () => {
  let message = "";
  try {
    createApp({ version: "x", verifyJwt: true });
  } catch (err) {
    message = (err as Error).message;
  }
  assertMatch(message, /JWT_SECRET/);
});

Deno.test("metrics: request counter and duration histogram in Prometheus text format", async () => {
  const a = app();
  await a.get("/functions/v1/health");
  await a.get("/functions/v1/health");
  await a.get("/functions/v1/menu?tenant=nope");
  await a.get("/functions/v1/does-not-exist");
  const res = await a.get("/metrics");
  assertEquals(res.status, 200);
  assertMatch(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const lines = text.trimEnd().split("\n");
  assert(lines.includes('edge_function_requests_total{function="health",status="200"} 2'), text);
  assert(lines.includes('edge_function_requests_total{function="menu",status="404"} 1'), text);
  assert(lines.includes('edge_function_requests_total{function="unknown",status="404"} 1'), text);
  assert(lines.includes("# TYPE edge_function_requests_total counter"), text);
  assert(lines.includes("# TYPE edge_function_duration_seconds histogram"), text);
  assert(lines.includes('edge_function_duration_seconds_bucket{function="health",le="+Inf"} 2'), text);
  assert(lines.includes('edge_function_duration_seconds_count{function="health"} 2'), text);
  assert(lines.some((l) => /^edge_function_duration_seconds_sum\{function="health"\} [0-9.e-]+$/.test(l)), text);
  assert(lines.includes('edge_function_build_info{version="9.9.9-test"} 1'), text);
  assert(!text.includes('function="metrics"'), "scrapes are not counted");
  // bucket counts never decrease with le
  const buckets = lines.filter((l) => l.startsWith('edge_function_duration_seconds_bucket{function="health"'))
    .map((l) => Number(l.split(" ").pop()));
  assertEquals([...buckets].sort((x, y) => x - y), buckets);
  // every sample line is "name{labels} value"
  for (const line of lines.filter((l) => !l.startsWith("#"))) {
    assertMatch(line, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$/);
  }
});

Deno.test("each request is logged as one JSON line", async () => {
  const a = app();
  await a.get("/functions/v1/menu?tenant=icupa-hq&secret=1");
  assertEquals(a.logs.length, 1);
  const entry = JSON.parse(a.logs[0]);
  assertEquals([entry.method, entry.path, entry.function, entry.status], ["GET", "/functions/v1/menu", "menu", 200]);
});

Deno.test("a handler that throws becomes a 500 JSON and is counted", async () => {
  const original = FUNCTIONS.menu.handler;
  (FUNCTIONS.menu as { handler: typeof original }).handler = () => {
    throw new Error("boom");
  };
  try {
    const a = app();
    const res = await a.get("/functions/v1/menu?tenant=icupa-hq");
    assertEquals(res.status, 500);
    assertEquals(await body(res), { error: "internal_error", message: "internal error" });
    assertEquals(a.metrics.requestCount("menu", 500), 1);
    assertMatch(a.warnings.join("\n"), /boom/);
  } finally {
    (FUNCTIONS.menu as { handler: typeof original }).handler = original;
  }
});

Deno.test("flag overrides are validated", () => {
  assertEquals(parseFlagOverrides({ "icupa-hq": { new_checkout: true } }), { "icupa-hq": { new_checkout: true } });
  for (const bad of [[], null, { a: [] }, { a: { f: "yes" } }]) {
    let threw = false;
    try {
      parseFlagOverrides(bad);
    } catch {
      threw = true;
    }
    assert(threw, `rejects ${JSON.stringify(bad)}`);
  }
});

// End to end: serve.ts as its own process (as the orchestrator runs it).
import { signHs256 } from "../_shared/jwt.ts";
import { readConfig } from "../serve.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";

const SERVE = new URL("../serve.ts", import.meta.url).pathname;
const SECRET = "serve-test-secret-0123456789abcdef";

function envOf(vars: Record<string, string>) {
  return { get: (k: string) => vars[k] };
}

Deno.test("readConfig: defaults and validation", () => {
  const c = readConfig(envOf({}));
  assertEquals([c.host, c.port, c.version, c.verifyJwt, c.logRequests], ["127.0.0.1", 54321, "dev", false, true]);
  const d = readConfig(envOf({ HOST: "0.0.0.0", PORT: "0", RELEASE_VERSION: "1.2.3", VERIFY_JWT: "1", JWT_SECRET: "s", SANDBOX_FAULTS_FILE: "/tmp/f.json" }));
  assertEquals([d.host, d.port, d.version, d.verifyJwt, d.jwtSecret, d.faultsFile], ["0.0.0.0", 0, "1.2.3", true, "s", "/tmp/f.json"]);
  const bads: Array<Record<string, string>> = [{ PORT: "http" }, { PORT: "70000" }, { VERIFY_JWT: "1" }, { VERIFY_JWT: "maybe" }];
  for (const bad of bads) {
    let message = "";
    try {
      readConfig(envOf(bad));
    } catch (err) {
      message = (err as Error).message;
    }
    assert(message !== "", `rejects ${JSON.stringify(bad)}`);
  }
});

interface Running {
  child: Deno.ChildProcess;
  base: string;
  stdout: ReadableStreamDefaultReader<string>;
}

async function start(env: Record<string, string>): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", SERVE],
    env: { HOST: "127.0.0.1", PORT: "0", LOG_REQUESTS: "0", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const deadline = Date.now() + 20_000;
  while (!buffered.includes("\n")) {
    if (Date.now() > deadline) throw new Error("serve.ts did not report listening within 20 s");
    const { value, done } = await stdout.read();
    if (done) throw new Error(`serve.ts exited before listening: ${buffered}`);
    buffered += value;
  }
  const event = JSON.parse(buffered.split("\n")[0]);
  assertEquals(event.event, "listening");
  return { child, base: event.url, stdout };
}

async function stop(r: Running): Promise<Deno.CommandStatus> {
  r.child.kill("SIGTERM");
  let rest = "";
  for (;;) {
    const { value, done } = await r.stdout.read();
    if (done) break;
    rest += value;
  }
  const status = await r.child.status;
  assertMatch(rest, /"event":"stopped"/);
  return status;
}

Deno.test("serve.ts serves health and menu, and stops cleanly on SIGTERM", async () => {
  const r = await start({ RELEASE_VERSION: "3.1.4" });
  try {
    const health = await fetch(`${r.base}/functions/v1/health`);
    assertEquals(await health.json(), { status: "ok", version: "3.1.4" });
    const menu = await fetch(`${r.base}/functions/v1/menu?tenant=green-bowl`);
    assertEquals(menu.status, 200);
    assertEquals((await menu.json()).tenant.slug, "green-bowl");
    const metrics = await (await fetch(`${r.base}/metrics`)).text();
    assertMatch(metrics, /edge_function_requests_total\{function="menu",status="200"\} 1/);
  } finally {
    const status = await stop(r);
    assertEquals(status.code, 0);
  }
});

Deno.test("serve.ts with VERIFY_JWT=1 checks tokens on menu but not on health", async () => {
  const r = await start({ RELEASE_VERSION: "3.1.4", VERIFY_JWT: "1", JWT_SECRET: SECRET });
  try {
    assertEquals((await (await fetch(`${r.base}/functions/v1/health`)).json()).status, "ok");
    const denied = await fetch(`${r.base}/functions/v1/menu?tenant=green-bowl`);
    assertEquals(denied.status, 401);
    await denied.body?.cancel();
    const token = await signHs256({ sub: "serve-test", exp: Math.floor(Date.now() / 1000) + 60 }, SECRET);
    const allowed = await fetch(`${r.base}/functions/v1/menu?tenant=green-bowl`, { headers: { authorization: `Bearer ${token}` } });
    assertEquals(allowed.status, 200);
    await allowed.body?.cancel();
  } finally {
    assertEquals((await stop(r)).code, 0);
  }
});

Deno.test("serve.ts refuses a bad configuration and a busy port with a clear message", async () => {
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--allow-read", SERVE],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const noSecret = await run({ VERIFY_JWT: "1", PORT: "0" });
  assertEquals(noSecret.code, 2);
  assertMatch(noSecret.stderr, /VERIFY_JWT=1 needs JWT_SECRET/);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const busy = await run({ PORT: String((listener.addr as Deno.NetAddr).port) });
    assertEquals(busy.code, 3);
    assertMatch(busy.stderr, /already in use/);
  } finally {
    listener.close();
  }
});

import { describe, expect, it, vi } from "vitest";
import {
  cacheName,
  CACHE_PREFIX,
  installServiceWorker,
  strategyFor,
  type CacheLike,
  type ExtendableEventLike,
  type FetchEventLike,
  type PrecacheManifest,
  type RequestLike,
  type WorkerScopeLike,
} from "../src/sw-logic";

const MANIFEST: PrecacheManifest = { version: "v1.0.0", digest: "abc123", urls: ["/", "/index.html", "/assets/main.js"] };
const ORIGIN = "http://127.0.0.1:4173";

function request(path: string, mode = "cors", method = "GET"): RequestLike {
  return { url: new URL(path, ORIGIN).href, mode, method };
}

class FakeCache implements CacheLike {
  readonly entries = new Map<string, Response>();
  async addAll(urls: string[]): Promise<void> {
    for (const url of urls) this.entries.set(url, new Response(`cached ${url}`));
  }
  async match(req: RequestLike | string): Promise<Response | undefined> {
    const path = typeof req === "string" ? req : new URL(req.url).pathname;
    return this.entries.get(path)?.clone();
  }
}

function fakeScope(network: (req: RequestLike) => Promise<Response>) {
  const caches = new Map<string, FakeCache>([["icupa-shell-v0.9.0-old", new FakeCache()], ["other-app", new FakeCache()]]);
  const listeners: Record<string, (event: never) => void> = {};
  const scope: WorkerScopeLike = {
    caches: {
      async open(name) {
        const cache = caches.get(name) ?? new FakeCache();
        caches.set(name, cache);
        return cache;
      },
      async keys() {
        return [...caches.keys()];
      },
      async delete(name) {
        return caches.delete(name);
      },
    },
    location: { origin: ORIGIN },
    clients: { claim: vi.fn(async () => {}) },
    skipWaiting: vi.fn(async () => {}),
    fetch: network,
    addEventListener(type: string, listener: (event: never) => void) {
      listeners[type] = listener;
    },
  };
  return { scope, caches, listeners };
}

async function lifecycle(listener: (event: never) => void): Promise<void> {
  let pending: Promise<unknown> = Promise.resolve();
  const event: ExtendableEventLike = { waitUntil: (promise) => (pending = promise) };
  listener(event as never);
  await pending;
}

function fetchEvent(listener: (event: never) => void, req: RequestLike): Promise<Response> | undefined {
  let response: Promise<Response> | undefined;
  const event: FetchEventLike = { request: req, waitUntil: () => {}, respondWith: (r) => (response = r) };
  listener(event as never);
  return response;
}

describe("strategyFor", () => {
  it.each([
    [request("/", "navigate"), "navigation"],
    [request("/assets/main.js"), "cache-first"],
    [request("/version.json"), "bypass"],
    [request("/sw.js"), "bypass"],
    [request("/payments", "cors", "POST"), "bypass"],
    [{ url: "http://agents.test/health", mode: "cors", method: "GET" }, "bypass"],
  ])("%j -> %s", (req, strategy) => {
    expect(strategyFor(req, ORIGIN)).toBe(strategy);
  });
});

describe("installServiceWorker", () => {
  it("precaches the shell on install and drops older shells on activate", async () => {
    const { scope, caches, listeners } = fakeScope(async () => new Response("net"));
    installServiceWorker(scope, MANIFEST);
    await lifecycle(listeners.install as never);
    const name = cacheName(MANIFEST);
    expect(name).toBe(`${CACHE_PREFIX}v1.0.0-abc123`);
    expect([...(caches.get(name)?.entries.keys() ?? [])]).toEqual(MANIFEST.urls);
    expect(scope.skipWaiting).toHaveBeenCalled();
    await lifecycle(listeners.activate as never);
    expect([...caches.keys()].sort()).toEqual([name, "other-app"]);
    expect(scope.clients.claim).toHaveBeenCalled();
  });

  it("serves navigations from the network, and the cached shell when offline", async () => {
    let online = true;
    const { scope, listeners } = fakeScope(async () => {
      if (!online) throw new TypeError("offline");
      return new Response("fresh page");
    });
    installServiceWorker(scope, MANIFEST);
    await lifecycle(listeners.install as never);
    expect(await (await fetchEvent(listeners.fetch as never, request("/?tenant=x", "navigate")))?.text()).toBe("fresh page");
    online = false;
    expect(await (await fetchEvent(listeners.fetch as never, request("/?tenant=x", "navigate")))?.text()).toBe("cached /index.html");
  });

  it("fails an offline navigation clearly when nothing was cached", async () => {
    const { scope, listeners } = fakeScope(async () => Promise.reject(new TypeError("offline")));
    installServiceWorker(scope, MANIFEST);
    await expect(fetchEvent(listeners.fetch as never, request("/", "navigate"))).rejects.toThrow("app shell is not cached");
  });

  it("answers assets from the cache first, falling back to the network", async () => {
    const { scope, listeners } = fakeScope(async (req) => new Response(`net ${new URL(req.url).pathname}`));
    installServiceWorker(scope, MANIFEST);
    await lifecycle(listeners.install as never);
    expect(await (await fetchEvent(listeners.fetch as never, request("/assets/main.js")))?.text()).toBe("cached /assets/main.js");
    expect(await (await fetchEvent(listeners.fetch as never, request("/menus/x.json")))?.text()).toBe("net /menus/x.json");
  });

  it("leaves bypassed requests to the browser", () => {
    const { scope, listeners } = fakeScope(async () => new Response(""));
    installServiceWorker(scope, MANIFEST);
    expect(fetchEvent(listeners.fetch as never, request("/version.json"))).toBeUndefined();
  });
});

/**
 * The service worker's behaviour, written against small structural types so it
 * runs under test with fakes. The build injects the precache manifest into
 * sw.ts, which only hands the real worker global to installServiceWorker.
 */
export interface PrecacheManifest {
  version: string;
  /** Digest of the precached files' names and contents: a new build gets a new cache. */
  digest: string;
  urls: string[];
}

export interface RequestLike {
  readonly method: string;
  readonly url: string;
  readonly mode: string;
}

export interface CacheLike {
  addAll(requests: string[]): Promise<void>;
  match(request: RequestLike | string, options?: { ignoreSearch?: boolean }): Promise<Response | undefined>;
}

export interface CacheStorageLike {
  open(name: string): Promise<CacheLike>;
  keys(): Promise<string[]>;
  delete(name: string): Promise<boolean>;
}

export interface ExtendableEventLike {
  waitUntil(promise: Promise<unknown>): void;
}

export interface FetchEventLike extends ExtendableEventLike {
  readonly request: RequestLike;
  respondWith(response: Promise<Response>): void;
}

export interface WorkerScopeLike {
  readonly caches: CacheStorageLike;
  readonly location: { readonly origin: string };
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  fetch(request: RequestLike): Promise<Response>;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEventLike) => void): void;
  addEventListener(type: "fetch", listener: (event: FetchEventLike) => void): void;
}

export const CACHE_PREFIX = "icupa-shell-";
export const SHELL_URL = "/index.html";

export function cacheName(manifest: PrecacheManifest): string {
  return `${CACHE_PREFIX}${manifest.version}-${manifest.digest}`;
}

export type Strategy = "bypass" | "navigation" | "cache-first";

export function strategyFor(request: RequestLike, origin: string): Strategy {
  if (request.method !== "GET") return "bypass";
  const url = new URL(request.url);
  if (url.origin !== origin) return "bypass";
  // The release gate reads the live version; never answer it from a cache.
  if (url.pathname === "/version.json" || url.pathname === "/sw.js") return "bypass";
  if (request.mode === "navigate") return "navigation";
  return "cache-first";
}

export function installServiceWorker(scope: WorkerScopeLike, manifest: PrecacheManifest): void {
  const name = cacheName(manifest);

  scope.addEventListener("install", (event) => {
    event.waitUntil(
      scope.caches
        .open(name)
        .then((cache) => cache.addAll(manifest.urls))
        .then(() => scope.skipWaiting()),
    );
  });

  scope.addEventListener("activate", (event) => {
    event.waitUntil(
      scope.caches
        .keys()
        .then((names) =>
          Promise.all(names.filter((old) => old.startsWith(CACHE_PREFIX) && old !== name).map((old) => scope.caches.delete(old))),
        )
        .then(() => scope.clients.claim()),
    );
  });

  scope.addEventListener("fetch", (event) => {
    const strategy = strategyFor(event.request, scope.location.origin);
    if (strategy === "bypass") return;
    if (strategy === "navigation") {
      // Network first so a deployed release shows at once; the cached shell when offline.
      event.respondWith(
        scope.fetch(event.request).catch(async () => {
          const cache = await scope.caches.open(name);
          const shell = await cache.match(SHELL_URL);
          if (shell === undefined) throw new Error("offline and the app shell is not cached");
          return shell;
        }),
      );
      return;
    }
    event.respondWith(
      scope.caches
        .open(name)
        .then((cache) => cache.match(event.request, { ignoreSearch: true }))
        .then((cached) => cached ?? scope.fetch(event.request)),
    );
  });
}

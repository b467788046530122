import "./style.css";
import { mountApp } from "./app";
import { readConfig } from "./config";

export interface ServiceWorkerHost {
  serviceWorker?: { register(url: string, options?: { scope?: string }): Promise<unknown> };
}

/** Registers /sw.js in production builds; an unsupported browser just runs online. */
export async function registerServiceWorker(host: ServiceWorkerHost, enabled: boolean): Promise<boolean> {
  if (!enabled || host.serviceWorker === undefined) return false;
  try {
    await host.serviceWorker.register("/sw.js", { scope: "/" });
    return true;
  } catch (error) {
    console.warn("service worker registration failed", error);
    return false;
  }
}

export function start(doc: Document, win: Window): void {
  const root = doc.getElementById("app");
  if (root === null) throw new Error("index.html has no #app element");
  const config = readConfig(import.meta.env);
  const footer = doc.querySelector("[data-release-version]");
  if (footer !== null) footer.textContent = config.releaseVersion;
  const app = mountApp(root, {
    fetch: (input, init) => win.fetch(input, init),
    location: win.location,
    storage: win.localStorage,
    events: win,
    agentsUrl: config.agentsUrl,
  });
  void app.render();
  void registerServiceWorker(win.navigator as unknown as ServiceWorkerHost, import.meta.env.PROD);
}

if (typeof window !== "undefined" && typeof document !== "undefined" && document.getElementById("app") !== null) {
  start(document, window);
}

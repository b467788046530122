import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { Plugin } from "vite";
import type { BuildEnv } from "./build-env";
import { buildIcons } from "./icons";

export const PRECACHE_PLACEHOLDER = /["']__PRECACHE_MANIFEST__["']/;
export const SERVICE_WORKER_FILE = "sw.js";
export const HEAVY_SCRIPT_FILE = "heavy.js";

/** Files under the public directory, as URL paths ("/menus/default.json"). */
export function publicFiles(publicDir: string): Array<{ url: string; path: string }> {
  const found: Array<{ url: string; path: string }> = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push({ url: `/${relative(publicDir, path).split(sep).join("/")}`, path });
    }
  };
  walk(publicDir);
  return found;
}

/** The version stamp written to dist/version.json; no timestamp, so equal inputs build equal bytes. */
export function versionDocument(env: BuildEnv): string {
  return `${JSON.stringify(
    {
      version: env.releaseVersion,
      commit: env.releaseCommit ?? null,
      agents_url: env.agentsUrl,
      functions_url: env.functionsUrl,
    },
    null,
    2,
  )}\n`;
}

/**
 * The heavy-page fault: a render-blocking classic script that busy-waits and
 * drags a large payload along, so Lighthouse's performance score collapses.
 */
export function heavyScript(blockMs: number): string {
  const ballast = "icupa-sandbox-heavy-page-fault;".repeat(48_000);
  return `/* sandbox fault: SANDBOX_WEB_HEAVY_PAGE */
(function () {
  var until = Date.now() + ${blockMs};
  while (Date.now() < until) { /* block the main thread on purpose */ }
  window.__icupaHeavyBallast = ${JSON.stringify(ballast)}.length;
})();
`;
}

export function injectReleaseMeta(html: string, version: string, heavy: boolean): string {
  const escaped = version.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  const tags = [`<meta name="release-version" content="${escaped}" />`];
  if (heavy) tags.push(`<script src="/${HEAVY_SCRIPT_FILE}"></script>`);
  return html.replace(/<\/head>/i, `  ${tags.join("\n    ")}\n  </head>`);
}

export function precacheDigest(entries: Array<{ url: string; content: string | Uint8Array }>): string {
  const hash = createHash("sha256");
  for (const entry of [...entries].sort((a, b) => a.url.localeCompare(b.url))) {
    hash.update(entry.url);
    hash.update("\0");
    hash.update(entry.content);
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

export interface BundleFile {
  fileName: string;
  type: "chunk" | "asset";
  code?: string;
  source?: string | Uint8Array;
}

/** The URLs the service worker precaches: the shell, every built file and the public files. */
export function precacheEntries(
  bundle: Record<string, BundleFile>,
  publics: Array<{ url: string; path: string }>,
  readFile: (path: string) => Uint8Array = readFileSync,
): Array<{ url: string; content: string | Uint8Array }> {
  const entries: Array<{ url: string; content: string | Uint8Array }> = [];
  for (const file of Object.values(bundle)) {
    if (file.fileName === SERVICE_WORKER_FILE || file.fileName.endsWith(".map") || file.fileName === "version.json") continue;
    const url = `/${file.fileName}`;
    entries.push({ url, content: file.type === "chunk" ? (file.code ?? "") : (file.source ?? "") });
  }
  for (const file of publics) entries.push({ url: file.url, content: readFile(file.path) });
  if (!entries.some((entry) => entry.url === "/index.html")) entries.push({ url: "/index.html", content: "" });
  return entries;
}

export function releasePlugin(env: BuildEnv, publicDir: string): Plugin {
  return {
    name: "icupa-release",
    apply: "build",
    enforce: "post",
    transformIndexHtml(html) {
      return injectReleaseMeta(html, env.releaseVersion, env.heavyPageMs > 0);
    },
    generateBundle(_options, bundle) {
      for (const icon of buildIcons()) this.emitFile({ type: "asset", fileName: icon.fileName, source: icon.png });
      this.emitFile({ type: "asset", fileName: "version.json", source: versionDocument(env) });
      if (env.heavyPageMs > 0) {
        this.emitFile({ type: "asset", fileName: HEAVY_SCRIPT_FILE, source: heavyScript(env.heavyPageMs) });
      }
      const worker = bundle[SERVICE_WORKER_FILE];
      if (worker === undefined || worker.type !== "chunk") {
        this.error(`the build produced no ${SERVICE_WORKER_FILE} chunk`);
      }
      const entries = precacheEntries(bundle as unknown as Record<string, BundleFile>, publicFiles(publicDir));
      const manifest = {
        version: env.releaseVersion,
        digest: precacheDigest(entries),
        urls: ["/", ...entries.map((entry) => entry.url).sort()],
      };
      if (!PRECACHE_PLACEHOLDER.test(worker.code)) {
        this.error(`${SERVICE_WORKER_FILE} lost its precache placeholder during bundling`);
      }
      worker.code = worker.code.replace(PRECACHE_PLACEHOLDER, JSON.stringify(manifest));
    },
  };
}

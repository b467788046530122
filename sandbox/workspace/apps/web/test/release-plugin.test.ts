import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { afterAll, describe, expect, it } from "vitest";
import {
  heavyScript,
  injectReleaseMeta,
  precacheDigest,
  precacheEntries,
  publicFiles,
  versionDocument,
} from "../tooling/release-plugin";

const WEB = fileURLToPath(new URL("..", import.meta.url));
const ENV = { releaseVersion: "v1.2.3", releaseCommit: "abc", agentsUrl: "http://a", functionsUrl: "http://f", heavyPageMs: 0 };

describe("helpers", () => {
  it("stamps the version into the page head, escaped", () => {
    const html = injectReleaseMeta("<html><head><title>x</title></head></html>", 'v1"<2>', false);
    expect(html).toContain('<meta name="release-version" content="v1&#34;&#60;2&#62;" />');
    expect(html.indexOf("release-version")).toBeLessThan(html.indexOf("</head>"));
    expect(injectReleaseMeta("<head></head>", "v1", true)).toContain('<script src="/heavy.js"></script>');
  });

  it("writes a version document without a timestamp", () => {
    expect(JSON.parse(versionDocument(ENV))).toEqual({ version: "v1.2.3", commit: "abc", agents_url: "http://a", functions_url: "http://f" });
    expect(JSON.parse(versionDocument({ ...ENV, releaseCommit: undefined })).commit).toBeNull();
  });

  it("builds a blocking heavy script of real weight", () => {
    const script = heavyScript(1500);
    expect(script).toContain("Date.now() + 1500");
    expect(script.length).toBeGreaterThan(1_000_000);
  });

  it("digests names and contents, independent of order", () => {
    const a = { url: "/a", content: "1" };
    const b = { url: "/b", content: new Uint8Array([2]) };
    expect(precacheDigest([a, b])).toBe(precacheDigest([b, a]));
    expect(precacheDigest([a, b])).not.toBe(precacheDigest([a, { ...b, content: new Uint8Array([3]) }]));
  });

  it("precaches bundle and public files but not the worker, maps or version.json", () => {
    const entries = precacheEntries(
      {
        "sw.js": { fileName: "sw.js", type: "chunk", code: "" },
        "assets/a.js": { fileName: "assets/a.js", type: "chunk", code: "x" },
        "assets/a.js.map": { fileName: "assets/a.js.map", type: "asset", source: "" },
        "assets/b.css": { fileName: "assets/b.css", type: "asset", source: "y" },
        "assets/c.bin": { fileName: "assets/c.bin", type: "asset" },
        "assets/d.js": { fileName: "assets/d.js", type: "chunk" },
        "version.json": { fileName: "version.json", type: "asset", source: "{}" },
      },
      [{ url: "/menus/x.json", path: "/x" }],
      () => new Uint8Array([1]),
    );
    expect(entries.map((entry) => entry.url).sort()).toEqual(["/assets/a.js", "/assets/b.css", "/assets/c.bin", "/assets/d.js", "/index.html", "/menus/x.json"]);
  });

  it("lists the public directory as URL paths", () => {
    expect(publicFiles(join(WEB, "public")).map((file) => file.url)).toContain("/menus/default.json");
  });
});

describe("a real production build", () => {
  const outDir = mkdtempSync(join(tmpdir(), "web-dist-"));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("emits a versioned dist with manifest, icons and a service worker that precaches the shell", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      RELEASE_VERSION: "v7.7.7",
      RELEASE_COMMIT: "feedface",
      VITE_AGENTS_URL: "http://127.0.0.1:8787",
      VITE_FUNCTIONS_URL: "http://127.0.0.1:54321/functions/v1",
      SANDBOX_WEB_HEAVY_PAGE: "300",
    });
    try {
      await build({ root: WEB, configFile: join(WEB, "vite.config.ts"), logLevel: "silent", build: { outDir } });
    } finally {
      process.env = saved;
    }
    const read = (path: string) => readFileSync(join(outDir, path), "utf8");
    expect(JSON.parse(read("version.json"))).toMatchObject({ version: "v7.7.7", commit: "feedface" });
    expect(read("index.html")).toContain('<meta name="release-version" content="v7.7.7" />');
    expect(read("index.html")).toContain('<script src="/heavy.js"></script>');
    expect(existsSync(join(outDir, "heavy.js"))).toBe(true);
    const manifest = JSON.parse(read("manifest.webmanifest"));
    expect(manifest).toMatchObject({ display: "standalone", start_url: "/?source=pwa" });
    for (const icon of manifest.icons) expect(existsSync(join(outDir, icon.src))).toBe(true);
    const worker = read("sw.js");
    expect(worker).not.toContain("__PRECACHE_MANIFEST__");
    const precache = JSON.parse(/(\{"version":"v7\.7\.7".*?\]\})/.exec(worker)?.[1] ?? "{}");
    expect(precache.urls).toEqual(expect.arrayContaining(["/", "/index.html", "/manifest.webmanifest", "/icons/icon-192.png", "/menus/default.json"]));
    expect(precache.urls.some((url: string) => /^\/assets\/main-.*\.js$/.test(url))).toBe(true);
    expect(precache.urls).not.toContain("/sw.js");
    expect(precache.urls).not.toContain("/version.json");
  }, 60_000);
});

import { installServiceWorker, type PrecacheManifest, type WorkerScopeLike } from "./sw-logic";

// Replaced at build time by the release plugin (tooling/release-plugin.ts).
const manifest = "__PRECACHE_MANIFEST__" as unknown as PrecacheManifest;

installServiceWorker(self as unknown as WorkerScopeLike, manifest);

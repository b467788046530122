import { defineConfig } from "vitest/config";

// Kept apart from vite.config.ts: the production build refuses to run without
// the staging variables, and the unit tests must not need them.
export default defineConfig({
  define: {
    __RELEASE_VERSION__: JSON.stringify("0.0.0-test"),
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts", "tooling/**/*.ts"],
      // sw.ts only hands the real service-worker global to installServiceWorker
      // (tested with a fake scope); it cannot run outside a browser worker.
      exclude: ["src/sw.ts"],
      reporter: ["text-summary", "json-summary", "lcov", "cobertura"],
      reportsDirectory: "coverage",
      reportOnFailure: true,
      thresholds: { lines: 80, branches: 80, functions: 80, statements: 80 },
    },
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    environment: "node",
    // The PostgreSQL-backed tests start one throwaway cluster for the run.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      provider: "v8",
      // The two entry files only parse process.argv and call into lib/; they
      // are exercised end to end as subprocesses, which v8 coverage cannot see.
      include: ["lib/**/*.mjs"],
      reporter: ["text-summary", "json-summary", "lcov", "cobertura"],
      reportsDirectory: "coverage",
      reportOnFailure: true,
      thresholds: { lines: 80, branches: 80, functions: 80, statements: 80 },
    },
  },
});

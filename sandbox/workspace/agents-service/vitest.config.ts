import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/smoke/**", "node_modules/**", "dist/**"],
    environment: "node",
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "json-summary", "lcov", "cobertura"],
      reportsDirectory: "coverage",
      reportOnFailure: true,
      thresholds: { lines: 80, branches: 80, functions: 80, statements: 80 },
    },
  },
});

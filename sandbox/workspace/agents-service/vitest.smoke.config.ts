import { defineConfig } from "vitest/config";

// Smoke tests talk to a running service at AGENTS_URL; nothing is started here.
export default defineConfig({
  test: {
    include: ["test/smoke/**/*.test.ts"],
    environment: "node",
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});

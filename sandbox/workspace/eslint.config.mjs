// One flat config for the whole workspace: `pnpm lint` runs it from the root,
// and each package's own `lint` script (used by turbo) finds it by walking up.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/coverage/**",
      "**/.turbo/**",
      // Owned separately: Deno edge functions and SQL, with their own tooling.
      "supabase/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
    },
    rules: {
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
    },
  },
  {
    files: ["scripts/**", "agents-service/**", "**/*.config.{js,mjs,ts}", "apps/web/tooling/**"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // sw.ts is typed against its own small worker interfaces (src/sw-logic.ts),
    // so browser globals cover the whole app.
    files: ["apps/web/src/**", "apps/web/test/**"],
    languageOptions: { globals: { ...globals.browser } },
  },
);

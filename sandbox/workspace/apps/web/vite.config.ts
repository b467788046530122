import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { defineConfig, loadEnv } from "vite";
import { readBuildEnv } from "./tooling/build-env";
import { releasePlugin, SERVICE_WORKER_FILE } from "./tooling/release-plugin";

const root = fileURLToPath(new URL(".", import.meta.url));

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, timeout: 10_000, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

export default defineConfig(({ command, mode }) => {
  // .env files count too, as they do for import.meta.env; the process wins.
  const env = { ...loadEnv(mode, root, ["VITE_", "RELEASE_", "SANDBOX_"]), ...process.env };
  const release =
    command === "build"
      ? { ...readBuildEnv(env), releaseCommit: env.RELEASE_COMMIT?.trim() || gitCommit() }
      : {
          releaseVersion: "0.0.0-dev",
          releaseCommit: undefined,
          agentsUrl: env.VITE_AGENTS_URL ?? "",
          functionsUrl: env.VITE_FUNCTIONS_URL ?? "",
          heavyPageMs: 0,
        };
  return {
    root,
    define: {
      __RELEASE_VERSION__: JSON.stringify(release.releaseVersion),
    },
    plugins: [releasePlugin(release, `${root}public`)],
    build: {
      outDir: "dist",
      emptyOutDir: true,
      sourcemap: false,
      rollupOptions: {
        input: {
          main: `${root}index.html`,
          sw: `${root}src/sw.ts`,
        },
        output: {
          entryFileNames: (chunk) => (chunk.name === "sw" ? SERVICE_WORKER_FILE : "assets/[name]-[hash].js"),
        },
      },
    },
  };
});

// Writes dist/build-info.json so a packaged copy of the service reports the
// release it was built for, even when RELEASE_VERSION is not set at run time.
// No timestamp goes in: the same source and version must build identical bytes,
// which keeps the orchestrator's content-addressed artifact digest stable.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

function gitCommit() {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: packageDir,
      timeout: 10_000,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
}

const info = {
  version: process.env.RELEASE_VERSION?.trim() || "0.0.0-dev",
  commit: process.env.RELEASE_COMMIT?.trim() || gitCommit(),
};
const target = join(packageDir, "dist", "build-info.json");
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify(info, null, 2)}\n`);
console.log(`agents-service: stamped ${target} with version ${info.version} (commit ${info.commit})`);

// A throwaway PostgreSQL cluster for the flags tests: initdb into a temp dir,
// start on a free loopback port, stop and delete afterwards. Needs the
// PostgreSQL server binaries (initdb, pg_ctl); as root it runs them as the
// `postgres` user, since PostgreSQL refuses to run as root.
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** @returns {string | undefined} */
function findBinDir() {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  }
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(root, version, "bin");
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  return undefined;
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** @returns {{ uid: number; gid: number } | undefined} */
function postgresUser() {
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8", timeout: 5_000 }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8", timeout: 5_000 }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

export function postgresAvailable() {
  return findBinDir() !== undefined && (process.getuid?.() !== 0 || postgresUser() !== undefined);
}

/**
 * @returns {Promise<{ url: (database?: string) => string; exec: (sql: string, database?: string) => Promise<void>; stop: () => void }>}
 */
export async function startCluster() {
  const bin = /** @type {string} */ (findBinDir());
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  const dir = mkdtempSync(join(tmpdir(), "flags-pg-"));
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  /**
   * @param {string} tool
   * @param {string[]} args
   */
  const run = (tool, args) =>
    execFileSync(asRoot ? "runuser" : join(bin, tool), asRoot ? ["-u", "postgres", "--", join(bin, tool), ...args] : args, {
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  const data = join(dir, "data");
  const port = await freePort();
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    join(dir, "server.log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "-w",
    "-t",
    "30",
    "start",
  ]);
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url,
    async exec(sql, database = "postgres") {
      const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

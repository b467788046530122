#!/usr/bin/env node
// Feature flags over public.feature_flags: `pnpm flags:enable|flags:disable|flags:list`.
// See lib/flags.mjs for the behaviour and exit codes.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runFlags } from "./lib/flags.mjs";
import { openPgRepository } from "./lib/flags-pg.mjs";

const here = dirname(fileURLToPath(import.meta.url));

process.exitCode = await runFlags(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  openRepository: openPgRepository,
  catalogPath: process.env.FLAGS_CATALOG ?? join(here, "flags-catalog.json"),
});

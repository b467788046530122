#!/usr/bin/env node
// `pnpm security:lint-mcp`: scans agent/tool source for unsafe patterns.
// Rules and the accept-comment syntax are in lib/mcp-lint.mjs.
import { runMcpLint } from "./lib/mcp-lint.mjs";

process.exitCode = runMcpLint(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  cwd: process.cwd(),
});

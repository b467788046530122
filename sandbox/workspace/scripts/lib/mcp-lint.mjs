// A line-based security lint for agent tool / MCP code. It looks for the
// patterns that turn a tool call into remote code execution or that widen what
// an agent may call without review. A finding can be accepted on purpose with
// a comment on the same or the previous line:
//     // mcp-lint-allow: <rule> <reason>
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";

const SOURCE_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"]);
const SKIPPED_DIRS = new Set(["node_modules", "dist", "coverage", ".turbo"]);

/**
 * @typedef {{ id: string; message: string; pattern?: RegExp; find?: (line: string) => number }} Rule
 * @typedef {{ file: string; line: number; column: number; rule: string; message: string; text: string }} Finding
 */

const PACKAGE_SPEC = /^(?:@[\w.-]+\/)?[\w.-]+(?:@[^\s@]+)?$/;
const EXACT_VERSION = /^(?:@[\w.-]+\/)?[\w.-]+@\d+\.\d+\.\d+(?:[-+][\w.-]+)?$/;

/**
 * The column (0-based) of an `npx` whose package has no exact version, or -1.
 * Works for a command string (`"npx -y pkg"`) and for an argv array written
 * on one line (`"npx", ["-y", "pkg"]`).
 * @param {string} line
 * @returns {number}
 */
export function findUnpinnedNpx(line) {
  const at = line.search(/\bnpx\b/);
  if (at === -1) return -1;
  const tokens = line
    .slice(at + 3)
    .split(/[\s"'`,[\]()]+/)
    .filter((token) => token !== "");
  // Skip options and anything that cannot be a package spec (object keys such as `args:`).
  const pkg = tokens.find((token) => !token.startsWith("-") && PACKAGE_SPEC.test(token));
  if (pkg === undefined) return -1;
  return EXACT_VERSION.test(pkg) ? -1 : at;
}

/** @type {readonly Rule[]} */
export const RULES = [
  {
    id: "no-eval",
    message: "eval() runs arbitrary code; parse tool arguments instead",
    pattern: /(?<![\w.$])eval\s*\(/,
  },
  {
    id: "no-new-function",
    message: "new Function() compiles arbitrary code at run time",
    pattern: /\bnew\s+Function\s*\(/,
  },
  {
    id: "no-vm-run",
    message: "node:vm is not a sandbox for untrusted tool input",
    pattern: /\b(runInNewContext|runInThisContext|runInContext|compileFunction)\s*\(/,
  },
  {
    id: "exec-template-string",
    message: "child_process call built from a template string or concatenation: shell injection risk; use execFile/spawn with an argv array",
    pattern: /\b(exec|execSync|spawn|spawnSync|execFile|execFileSync)\s*\(\s*(`[^`]*\$\{|["'][^"']*["']\s*\+)/,
  },
  {
    id: "shell-true",
    message: "child_process option shell: true hands the command line to a shell",
    pattern: /\bshell\s*:\s*true\b/,
  },
  {
    id: "wildcard-tool-allowlist",
    message: "tool allow-list admits every tool; list the tools by name",
    pattern: /\b(allowed_?tools|tool_?allow_?list|allow_?list|enabled_?tools)\b["']?\s*[:=]\s*\[?\s*["'`]\*["'`]/i,
  },
  {
    id: "allow-all-tools",
    message: "a switch that enables every tool bypasses the allow-list",
    pattern: /\b(allow_?all_?tools|dangerously_?allow\w*|skip_?tool_?approval)\b["']?\s*[:=]\s*true\b/i,
  },
  {
    id: "tool-allowlist-from-env",
    message: "tool allow-list read from the environment at run time is not reviewed or pinned; keep it in code",
    pattern: /\b(allowed_?tools|tool_?allow_?list|enabled_?tools)\b["']?\s*[:=]\s*process\.env\b/i,
  },
  {
    id: "unpinned-mcp-server",
    message: "MCP server or tool started with npx from a package without an exact version",
    find: findUnpinnedNpx,
  },
  {
    id: "latest-tag",
    message: "package pinned to @latest: pin an exact version",
    pattern: /["'`](?:@[\w.-]+\/)?[\w.-]+@latest["'`]/,
  },
];

const ALLOW_COMMENT = /mcp-lint-allow:\s*([\w-]+)/g;

/**
 * @param {string} line
 * @returns {Set<string>}
 */
function allowedOn(line) {
  return new Set([...line.matchAll(ALLOW_COMMENT)].map((match) => /** @type {string} */ (match[1])));
}

/**
 * Lints one file's text. Lines that are wholly comments are skipped.
 * @param {string} file
 * @param {string} text
 * @returns {Finding[]}
 */
export function lintText(file, text) {
  /** @type {Finding[]} */
  const findings = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed.startsWith("//") || trimmed.startsWith("*") || trimmed.startsWith("/*")) return;
    const allowed = new Set([...allowedOn(line), ...allowedOn(lines[index - 1] ?? "")]);
    for (const rule of RULES) {
      const column = rule.find !== undefined ? rule.find(line) : (rule.pattern?.exec(line)?.index ?? -1);
      if (column === -1 || allowed.has(rule.id)) continue;
      findings.push({
        file,
        line: index + 1,
        column: column + 1,
        rule: rule.id,
        message: rule.message,
        text: trimmed.slice(0, 160),
      });
    }
  });
  return findings;
}

/**
 * Every source file under the given paths (files are taken as given).
 * @param {string} root
 * @returns {string[]}
 */
export function sourceFiles(root) {
  const stats = statSync(root);
  if (stats.isFile()) return [root];
  /** @type {string[]} */
  const files = [];
  for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...sourceFiles(path));
    } else if (entry.isFile() && SOURCE_EXTENSIONS.has(extname(entry.name))) {
      files.push(path);
    }
  }
  return files;
}

/**
 * @param {Finding} finding
 */
export function formatFinding(finding) {
  return `${finding.file}:${finding.line}:${finding.column}  ${finding.rule}  ${finding.message}\n    ${finding.text}`;
}

/**
 * Runs the lint over the paths on the command line; returns the exit code:
 * 0 clean, 1 findings, 2 usage error (no path, or a path that does not exist).
 * @param {readonly string[]} argv
 * @param {{ out: (line: string) => void; err: (line: string) => void; cwd: string }} io
 * @returns {number}
 */
export function runMcpLint(argv, io) {
  const json = argv.includes("--json");
  const paths = argv.filter((arg) => arg !== "--json");
  const unknown = paths.filter((arg) => arg.startsWith("-"));
  if (unknown.length > 0) {
    io.err(`lint-mcp: unknown option ${unknown.join(", ")}; usage: lint-mcp [--json] <path>...`);
    return 2;
  }
  if (paths.length === 0) {
    io.err("lint-mcp: no path given; usage: lint-mcp [--json] <path>...");
    return 2;
  }
  /** @type {Finding[]} */
  const findings = [];
  let scanned = 0;
  for (const path of paths) {
    let files;
    try {
      files = sourceFiles(resolve(io.cwd, path));
    } catch {
      io.err(`lint-mcp: cannot read ${path}: no such file or directory`);
      return 2;
    }
    for (const file of files) {
      scanned += 1;
      findings.push(...lintText(relative(io.cwd, file), readFileSync(file, "utf8")));
    }
  }
  if (json) {
    io.out(JSON.stringify({ scanned, findings }));
  } else {
    for (const finding of findings) io.out(formatFinding(finding));
    io.out(`lint-mcp: ${findings.length} finding${findings.length === 1 ? "" : "s"} in ${scanned} file${scanned === 1 ? "" : "s"} scanned`);
  }
  return findings.length === 0 ? 0 : 1;
}

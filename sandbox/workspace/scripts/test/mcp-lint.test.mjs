import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { findUnpinnedNpx, lintText, runMcpLint, sourceFiles } from "../lib/mcp-lint.mjs";

const WORKSPACE = join(import.meta.dirname, "..", "..");
const CLI = join(import.meta.dirname, "..", "lint-mcp.mjs");

/** @param {string} text */
const rules = (text) => lintText("x.ts", text).map((finding) => finding.rule);

describe("lintText", () => {
  it.each([
    ["const result = eval(toolArgs.code);", "no-eval"],
    ["const run = new Function('a', body);", "no-new-function"],
    ["vm.runInNewContext(source, sandbox);", "no-vm-run"],
    ["exec(`git log ${args.ref}`, done);", "exec-template-string"],
    ["execSync('ls ' + dir);", "exec-template-string"],
    ["spawn(cmd, argv, { shell: true });", "shell-true"],
    ['const allowedTools = ["*"];', "wildcard-tool-allowlist"],
    ["toolAllowList: '*',", "wildcard-tool-allowlist"],
    ["allowAllTools: true,", "allow-all-tools"],
    ["const allowedTools = process.env.TOOLS.split(',');", "tool-allowlist-from-env"],
    ['command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem"],', "unpinned-mcp-server"],
    ['const cmd = "npx some-mcp-server";', "unpinned-mcp-server"],
    ['install("left-pad@latest")', "latest-tag"],
  ])("flags %j as %s", (line, rule) => {
    expect(rules(line)).toContain(rule);
  });

  it.each([
    "const evaluation = evaluate(x);",
    "model.eval();",
    "execFile('git', ['log', ref]);",
    'const allowedTools = ["menu.lookup", "orders.status"];',
    'command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21"],',
    "// eval( is mentioned in a comment only",
    " * exec(`${x}`) inside a block comment",
  ])("accepts %j", (line) => {
    expect(rules(line)).toEqual([]);
  });

  it("reports file, line and column", () => {
    const [finding] = lintText("src/tools.ts", "const a = 1;\n  eval(a);\n");
    expect(finding).toMatchObject({ file: "src/tools.ts", line: 2, column: 3, rule: "no-eval", text: "eval(a);" });
  });

  it("honours an accept comment on the same or the previous line, for that rule only", () => {
    expect(rules("eval(x); // mcp-lint-allow: no-eval fixture for the guardrail tests")).toEqual([]);
    expect(rules("// mcp-lint-allow: no-eval reviewed\neval(x);")).toEqual([]);
    expect(rules("// mcp-lint-allow: shell-true reviewed\neval(x);")).toEqual(["no-eval"]);
  });
});

describe("findUnpinnedNpx", () => {
  it("finds npx without an exact version", () => {
    expect(findUnpinnedNpx("run('npx', ['--yes', 'server-x'])")).toBe(5);
    expect(findUnpinnedNpx("npx server-x@^1.0.0")).toBe(0);
    expect(findUnpinnedNpx("npx @scope/server-x@1.2.3")).toBe(-1);
    expect(findUnpinnedNpx("npx --version")).toBe(-1);
    expect(findUnpinnedNpx("no launcher here")).toBe(-1);
  });
});

describe("runMcpLint", () => {
  /** @type {string[]} */
  const dirs = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function fixture() {
    const dir = mkdtempSync(join(tmpdir(), "mcp-lint-"));
    dirs.push(dir);
    mkdirSync(join(dir, "src", "tools"), { recursive: true });
    mkdirSync(join(dir, "src", "node_modules", "dep"), { recursive: true });
    writeFileSync(join(dir, "src", "ok.ts"), "export const ok = 1;\n");
    writeFileSync(join(dir, "src", "tools", "shell.ts"), "import { exec } from 'node:child_process';\nexec(`ls ${dir}`);\n");
    writeFileSync(join(dir, "src", "notes.md"), "eval(everything)\n");
    writeFileSync(join(dir, "src", "node_modules", "dep", "index.js"), "eval(x)\n");
    return dir;
  }

  /**
   * @param {string[]} argv
   * @param {string} cwd
   */
  function lint(argv, cwd) {
    /** @type {string[]} */
    const out = [];
    /** @type {string[]} */
    const err = [];
    const code = runMcpLint(argv, { out: (line) => out.push(line), err: (line) => err.push(line), cwd });
    return { code, out, err };
  }

  it("walks source files only, skipping node_modules", () => {
    const dir = fixture();
    expect(sourceFiles(join(dir, "src")).map((file) => file.slice(dir.length))).toEqual(["/src/ok.ts", "/src/tools/shell.ts"]);
  });

  it("prints findings and a summary, and exits 1", () => {
    const dir = fixture();
    const { code, out } = lint(["src"], dir);
    expect(code).toBe(1);
    expect(out[0]).toMatch(/^src\/tools\/shell\.ts:2:1 {2}exec-template-string {2}/);
    expect(out.at(-1)).toBe("lint-mcp: 1 finding in 2 files scanned");
  });

  it("prints JSON with --json", () => {
    const dir = fixture();
    const { code, out } = lint(["--json", "src/tools/shell.ts"], dir);
    expect(code).toBe(1);
    expect(JSON.parse(out[0] ?? "{}")).toMatchObject({ scanned: 1, findings: [{ rule: "exec-template-string", line: 2 }] });
  });

  it("exits 0 on clean code", () => {
    const dir = fixture();
    const { code, out } = lint(["src/ok.ts"], dir);
    expect(code).toBe(0);
    expect(out).toEqual(["lint-mcp: 0 findings in 1 file scanned"]);
  });

  it.each([
    [[], "no path given"],
    [["--fix", "src"], "unknown option --fix"],
    [["does-not-exist"], "cannot read does-not-exist"],
  ])("exits 2 on %j", (argv, message) => {
    const { code, err } = lint(argv, fixture());
    expect(code).toBe(2);
    expect(err[0]).toContain(message);
  });

  it("passes on the agents service's own source, through the real entry point", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, "agents-service/src"], { cwd: WORKSPACE, timeout: 30_000 });
    expect(stdout).toMatch(/^lint-mcp: 0 findings in \d+ files scanned$/m);
  });
});

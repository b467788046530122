#!/usr/bin/env bash
# Installs the sandbox workspace's Node toolchain and dependencies.
# Idempotent: a second run finds pnpm in place and a lockfile-identical
# node_modules, and finishes in seconds. Every external command is bounded.
set -euo pipefail

workspace="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$workspace"

die() {
  echo "install.sh: $*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || die "node is not installed (Node 20.19 or newer is required)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (it comes with Node)"

node_version="$(timeout 30 node -p 'process.versions.node')"
node_major="${node_version%%.*}"
node_minor="${node_version#*.}"
node_minor="${node_minor%%.*}"
if (( node_major < 20 || (node_major == 20 && node_minor < 19) )); then
  die "Node $node_version is too old: vite 7 needs Node 20.19 or newer"
fi

# The pinned pnpm comes from package.json's packageManager field ("pnpm@X.Y.Z").
pnpm_version="$(timeout 30 node -p 'require("./package.json").packageManager.split("@")[1]')"
[[ "$pnpm_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json packageManager is not an exact pnpm@X.Y.Z pin"

installed_pnpm=""
if command -v pnpm >/dev/null 2>&1; then
  installed_pnpm="$(timeout 60 pnpm --version 2>/dev/null || true)"
fi
if [[ "$installed_pnpm" != "$pnpm_version" ]]; then
  echo "install.sh: installing pnpm@$pnpm_version globally (found: ${installed_pnpm:-none})"
  timeout 900 npm install --global --no-fund --no-audit "pnpm@$pnpm_version"
  hash -r
  installed_pnpm="$(timeout 60 pnpm --version)"
  [[ "$installed_pnpm" == "$pnpm_version" ]] || die "pnpm on PATH is $installed_pnpm after installing $pnpm_version"
else
  echo "install.sh: pnpm@$pnpm_version already installed"
fi

# CI=true: never stop to ask a question (pnpm asks before purging an
# incompatible node_modules when it has a terminal).
echo "install.sh: pnpm install --frozen-lockfile in $workspace"
CI=true timeout 900 pnpm install --frozen-lockfile
echo "install.sh: done"

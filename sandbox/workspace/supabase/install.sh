#!/usr/bin/env bash
# Installs what sandbox/workspace/supabase needs on a Debian 12 machine:
#   - pgTAP and pg_prove (Debian: postgresql-15-pgtap, libtap-parser-sourcehandler-pgtap-perl)
#   - the pinned Supabase CLI and Deno from package-lock.json (npm ci)
# Idempotent: installed apt packages are left alone, and npm ci is skipped while
# node_modules matches package-lock.json and both tools answer with their pinned
# versions. Every external command runs under `timeout`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
apt_packages=(postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl)
supabase_pin="2.117.0"
deno_pin="2.9.6"
stamp_file="$here/node_modules/.icupa-install-stamp"

log() { printf 'supabase/install.sh: %s\n' "$*"; }
die() { printf 'supabase/install.sh: error: %s\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------
missing=()
for pkg in "${apt_packages[@]}"; do
  status="$(timeout 30 dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  as_root=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${missing[*]}"
    as_root=(sudo -n)
  fi
  log "apt-get install ${missing[*]}"
  timeout 300 "${as_root[@]}" apt-get update -q
  timeout 900 "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
else
  log "apt packages already installed: ${apt_packages[*]}"
fi
command -v pg_prove >/dev/null 2>&1 || die "pg_prove not found after installing ${apt_packages[*]}"

# --- npm tools (Supabase CLI, Deno) ------------------------------------------
command -v npm >/dev/null 2>&1 || die "npm not found (Node.js 20 is required)"
[[ -f "$here/package-lock.json" ]] || die "package-lock.json missing in $here"

tools_ok() {
  local sb dn
  sb="$(cd "$here" && timeout 60 ./node_modules/.bin/supabase --version 2>/dev/null)" || return 1
  dn="$(cd "$here" && timeout 60 ./node_modules/.bin/deno --version 2>/dev/null | head -n 1)" || return 1
  [[ "$sb" == "$supabase_pin" && "$dn" == "deno $deno_pin "* ]]
}

want_stamp="$(timeout 30 sha256sum "$here/package-lock.json" | cut -d' ' -f1) node-$(timeout 30 node --version)"
if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$want_stamp" ]] && tools_ok; then
  log "node_modules up to date (supabase $supabase_pin, deno $deno_pin)"
else
  log "npm ci in $here"
  (cd "$here" && timeout 900 npm ci --no-audit --no-fund)
  tools_ok || die "after npm ci the tools do not report supabase $supabase_pin and deno $deno_pin"
  printf '%s\n' "$want_stamp" > "$stamp_file"
  log "installed supabase $supabase_pin and deno $deno_pin"
fi

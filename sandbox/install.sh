#!/usr/bin/env bash
# Install what the sandbox runs: PostgreSQL 15 (with pgTAP and pg_prove for `deploy
# migrations`), Prometheus, then the Node workspaces through their own install scripts.
# Idempotent: packages already installed are not touched, and apt-get update runs at most
# once, only when something is missing. Every command runs under a timeout.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
    postgresql-15
    postgresql-client-15
    postgresql-15-pgtap                      # the pgTAP extension the migrations' tests use
    libtap-parser-sourcehandler-pgtap-perl   # pg_prove
    prometheus
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! timeout 30 dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "sandbox/install.sh: missing ${missing[*]}; run this script as root to install them" >&2
        exit 1
    fi
    echo "sandbox/install.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -q
    timeout 1200 apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "sandbox/install.sh: system packages present (${APT_PACKAGES[*]})"
fi

# Fail here, not at `up`, when a binary the orchestrator calls is still absent.
for binary in /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/postgres /usr/bin/prometheus \
              /usr/bin/pg_prove /usr/bin/psql; do
    if [ ! -x "$binary" ]; then
        echo "sandbox/install.sh: $binary is missing after the install" >&2
        exit 1
    fi
done

for script in workspace/install.sh workspace/supabase/install.sh; do
    if [ -f "$script" ]; then
        echo "sandbox/install.sh: running sandbox/$script"
        timeout 1800 bash "$script"
    else
        echo "sandbox/install.sh: sandbox/$script not there yet; skipped"
    fi
done
echo "sandbox/install.sh: done"

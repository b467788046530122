#!/usr/bin/env bash
# Set up everything the release gate and its tests need on a fresh Debian 12 machine:
# system packages, the Python environment (.venv) and the sandbox's Node workspaces.
# Idempotent: a second run only checks. Every network step has a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(git postgresql-15 postgresql-client-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl prometheus chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -q
    timeout 1200 apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

for tool in node npm python3; do
    command -v "$tool" >/dev/null || { echo "setup: $tool is required (Node 20 and Python 3.11 come with this machine kind)" >&2; exit 1; }
done

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    timeout 120 python3 -m venv .venv
fi
if ! .venv/bin/python -c "import plugin.main, xdist, allure_pytest, ruff, mypy" 2>/dev/null \
    || [ pyproject.toml -nt .venv/.installed ]; then
    echo "setup: installing the Python environment"
    timeout 900 .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    touch .venv/.installed
fi

if [ -f sandbox/install.sh ]; then
    timeout 1800 bash sandbox/install.sh
fi

# The Allure command line (pinned in reports/package.json) renders the HTML report; it runs on Java.
if ! command -v java >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -q
    timeout 1200 apt-get install -y -q --no-install-recommends openjdk-17-jre-headless
fi
if [ ! -x reports/node_modules/.bin/allure ] || [ reports/package-lock.json -nt reports/node_modules ]; then
    echo "setup: installing the Allure command line"
    timeout 600 npm ci --prefix reports --no-audit --no-fund
fi

# Lighthouse (pinned in lighthouse/package.json), run against the system Chromium.
if [ ! -x lighthouse/node_modules/.bin/lighthouse ] || [ lighthouse/package-lock.json -nt lighthouse/node_modules ]; then
    echo "setup: installing Lighthouse"
    timeout 600 npm ci --prefix lighthouse --no-audit --no-fund
fi
echo "setup: done"

#!/usr/bin/env bash
# The staging release against the embedded sandbox: set up, run the gate, show the verdict
# and where the report is. Extra arguments go to pytest (e.g. -n 2, --release-dry-run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

results=artifacts/allure-results
rm -rf "$results"
set +e
.venv/bin/python -m pytest -m staging -p no:cacheprovider --alluredir "$results" "$@"
status=$?
set -e
echo
echo "== the CI gate over the results (python -m reports.gate)"
set +e
.venv/bin/python -m reports.gate "$results" --env staging --summary artifacts/release-summary.md
gate_status=$?
set -e
echo
echo "== the HTML report (Allure)"
timeout 600 reports/node_modules/.bin/allure generate "$results" --clean -o artifacts/allure-report >/dev/null \
    || echo "release: the Allure report could not be generated (see above)" >&2
echo
echo "release: HTML report in artifacts/allure-report/index.html (open it with:"
echo "         reports/node_modules/.bin/allure open artifacts/allure-report)"
echo "release: Allure results in $results; summary in artifacts/release-summary.md;"
echo "         run ledger and verdict under .release-gate/runs/ (newest last); gate exit $gate_status"
if [ "$status" -eq 5 ]; then
    echo "release: no gate tests were selected; that is not a release" >&2
    exit 1
fi
exit "$status"

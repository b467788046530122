#!/usr/bin/env bash
# The project's own checks: set up, then lint, type-check and run the tests.
# Warnings are errors (pyproject.toml); "no tests ran" (pytest exit 5) is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest tests"
set +e
.venv/bin/python -m pytest tests -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$status"

"""Endpoint smoke tests of staging: one test result per contract of ``smoke/contracts.toml``.

These stand for the runbook's two smoke commands:

- ``scripts/supabase/functions-smoke.sh``: the ``functions-*`` contracts (health without a
  token; menu and tenant-status with the service token, and refused without one where the
  functions verify JWTs);
- ``pnpm --filter agents-service test:smoke``: the ``agents-*`` contracts (health and
  version on the release version, a chat, a payment, the metrics endpoint).

How it is concurrent: the session fixture ``smoke_results`` sends every contract's request
at once on one ``httpx.AsyncClient`` (``smoke/runner.py``), each under its own deadline,
and waits for all of them; each test below then only looks up and judges its own result.
So the whole set takes about as long as the slowest endpoint, and a failure is still the
failure of the one endpoint it concerns. Under xdist each worker that runs one of these
tests runs the set once (the parametrization comes from the contract file at collection,
so every worker collects the same ids).
"""

from __future__ import annotations

import pytest

from plugin.settings import Settings
from smoke.contracts import Check
from smoke.runner import CheckResult


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist("verify_staging.checks.smoke_tests")
def test_smoke_endpoint(smoke_check: Check, smoke_results: dict[str, CheckResult], release_settings: Settings) -> None:
    result = smoke_results.get(smoke_check.id)
    assert result is not None, f"{smoke_check.id}: the smoke run has no result for this endpoint"
    if not result.ok:
        runbook = f" [{smoke_check.contract.runbook}]" if smoke_check.contract.runbook else ""
        pytest.fail(release_settings.masker.mask(result.message) + runbook, pytrace=False)

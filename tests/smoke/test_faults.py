"""Each endpoint fault against a real loopback server fails its check, clearly and in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from smoke.contracts import Check, Contract
from smoke.runner import CheckResult, Target, run_checks
from tests.smoke.loopback import loopback_server

TIMEOUT_S = 1.0
TOKEN = "not-a-real-token-0123456789"  # noqa: S105 - a test value


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with loopback_server() as url:
        yield url


def _check(name: str, path: str, **extra: object) -> Check:
    fields: dict[str, object] = {
        "name": name,
        "base": "agents",
        "path": path,
        "status": 200,
        "json_fields": ["status", "version"],
        "json_values": {"version": "{version}"},
        "latency_ms": 2000,
        **extra,
    }
    contract = Contract.model_validate(fields)
    without = bool(extra.get("verify_jwt")) and name.endswith("without-token")
    with_token = contract.auth == "service_token" and not without
    return Check(name, contract, with_token, without, TIMEOUT_S)


def _run(base_url: str, check: Check, *, jwt_verified: bool = True) -> tuple[CheckResult, float]:
    target = Target(bases={"agents": base_url}, version="v1.2.3", service_token=TOKEN, jwt_verified=jwt_verified)
    began = time.monotonic()
    results = run_checks([check], target)
    return results[check.id], time.monotonic() - began


def test_a_good_endpoint_passes(base_url: str) -> None:
    result, _ = _run(base_url, _check("agents-health", "/health"))
    assert result.ok, result.message
    assert result.status == 200


def test_a_500_fails_naming_the_endpoint(base_url: str) -> None:
    result, _ = _run(base_url, _check("agents-health", "/error"))
    assert not result.ok
    assert result.message.startswith(f"agents-health: GET {base_url}/error: answered 500, expected 200")


def test_a_wrong_body_fails_naming_the_field(base_url: str) -> None:
    result, _ = _run(base_url, _check("agents-health", "/wrong-body"))
    assert not result.ok
    assert result.message == f"agents-health: GET {base_url}/wrong-body: version is 'v0.0.1', expected 'v1.2.3'"
    result, _ = _run(base_url, _check("agents-health", "/not-json"))
    assert not result.ok
    assert "answered 200 with a body that is not JSON" in result.message


def test_a_redirect_to_a_login_page_fails(base_url: str) -> None:
    result, _ = _run(base_url, _check("agents-health", "/to-login"))
    assert not result.ok
    assert result.message == (
        f"agents-health: GET {base_url}/to-login: redirected (302) to a login page at "
        f"'{base_url}/login?next=/health' instead of answering 200"
    )


def test_a_timeout_fails_within_its_deadline(base_url: str) -> None:
    result, took = _run(base_url, _check("agents-health", "/slow"))
    assert not result.ok
    assert result.message == f"agents-health: GET {base_url}/slow: no answer within 1 s (timed out)"
    assert took < TIMEOUT_S + 1.0


def test_a_slow_answer_over_its_budget_fails(base_url: str) -> None:
    with loopback_server(delay_s=0.3) as slow_url:
        result, _ = _run(slow_url, _check("agents-health", "/health", latency_ms=100))
    assert not result.ok
    assert "over its latency budget of 100 ms" in result.message


def test_verify_jwt_with_and_without_the_token(base_url: str) -> None:
    jwt = {"auth": "service_token", "verify_jwt": True}
    with_token, _ = _run(base_url, _check("private-with-token", "/private", **jwt))
    without, _ = _run(base_url, _check("private-without-token", "/private", **jwt))
    assert with_token.ok, with_token.message
    assert without.ok, without.message
    assert without.status == 401
    # An endpoint that answers without a token where the deployment should refuse it.
    open_endpoint, _ = _run(base_url, _check("health-without-token", "/health", **jwt))
    assert not open_endpoint.ok
    assert "answered 200, expected 401 (the endpoint answered without a token" in open_endpoint.message
    assert TOKEN not in with_token.message + without.message + open_endpoint.message


def test_an_unreachable_endpoint_fails_at_once() -> None:
    with loopback_server() as url:
        pass
    result, took = _run(url, _check("agents-health", "/health"))
    assert not result.ok
    assert "request failed: ConnectError" in result.message
    assert took < TIMEOUT_S + 1.0


def test_checks_run_while_this_thread_runs_an_event_loop(base_url: str) -> None:
    """As after a Playwright test (its sync API keeps a loop running): the rollback's smoke."""

    async def inside_a_loop() -> tuple[CheckResult, float]:
        return _run(base_url, _check("agents-health", "/health"))

    result, _ = asyncio.run(inside_a_loop())
    assert result.ok, result.message

"""The concurrent smoke runner: every check in flight at once on one httpx AsyncClient.

Each request has its own deadline (httpx's per-phase timeout and an overall
``asyncio.timeout`` for the whole exchange, so a server that trickles bytes cannot hold a
check past it). A check never raises: its result says what went wrong, naming the
endpoint. Headers (the service token) are never part of a message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from smoke.contracts import Check

LOGIN_WORDS = ("login", "signin", "sign-in", "sign_in", "auth")
_MISSING = object()


@dataclass(frozen=True)
class Target:
    """Where the checks go: a base URL per ``base`` name, the token, the release version."""

    bases: dict[str, str]
    version: str | None
    service_token: str | None = field(default=None, repr=False)
    # Whether the deployment refuses requests without a token (--verify-jwt).
    jwt_verified: bool = True


@dataclass(frozen=True)
class Request:
    check: Check
    method: str
    url: str
    expected_status: int
    headers: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    ok: bool
    message: str
    status: int | None = None
    elapsed_ms: float | None = None


def build_request(check: Check, target: Target) -> Request:
    contract = check.contract
    base = target.bases.get(contract.base)
    if not base:
        raise ValueError(f"{check.id}: the target has no {contract.base} endpoint")
    url = base.rstrip("/") + contract.path
    headers = {"accept": "application/json"}
    if check.with_token:
        if not target.service_token:
            raise ValueError(f"{check.id}: the endpoint needs the service token and the target gives none")
        headers["authorization"] = f"Bearer {target.service_token}"
    expected = contract.status
    if check.without_token and target.jwt_verified:
        expected = contract.status_without_token
    return Request(check, contract.method, url, expected, headers)


def _lookup(document: Any, dotted: str) -> Any:
    value = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _expected_value(value: object, version: str | None) -> object:
    if isinstance(value, str) and "{version}" in value:
        return value.replace("{version}", version or "")
    return value


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def judge(  # noqa: PLR0911 - one return per broken promise reads best
    request: Request, response: httpx.Response, elapsed_ms: float, version: str | None
) -> CheckResult:
    """Whether an answer meets its contract; the message names the endpoint and the problem."""
    check = request.check
    contract = check.contract
    where = f"{check.id}: {request.method} {request.url}"
    status = response.status_code

    def fail(problem: str) -> CheckResult:
        return CheckResult(check.id, False, f"{where}: {problem}", status, elapsed_ms)

    if response.is_redirect:
        location = response.headers.get("location", "")
        target = urljoin(request.url, location)
        login = any(word in location.lower() for word in LOGIN_WORDS)
        what = "a login page" if login else "another page"
        return fail(f"redirected ({status}) to {what} at {target!r} instead of answering {request.expected_status}")
    if status != request.expected_status:
        why = ""
        if check.without_token and status == contract.status:
            why = " (the endpoint answered without a token: is JWT verification off?)"
        return fail(f"answered {status}, expected {request.expected_status}{why}: {_snippet(response.text)!r}")
    if contract.content_type and contract.content_type not in response.headers.get("content-type", ""):
        got = response.headers.get("content-type", "(none)")
        return fail(f"content-type {got!r}, expected {contract.content_type!r}")
    refused = check.without_token and request.expected_status == contract.status_without_token
    if not refused:
        fields = [*contract.json_fields, *(k for k in contract.json_values if k not in contract.json_fields)]
        if fields:
            try:
                document = response.json()
            except ValueError:
                return fail(f"answered {status} with a body that is not JSON: {_snippet(response.text)!r}")
            missing = [name for name in fields if _lookup(document, name) is _MISSING]
            if missing:
                return fail(f"the JSON answer lacks {', '.join(missing)}: {_snippet(response.text)!r}")
            for name, raw in contract.json_values.items():
                wanted = _expected_value(raw, version)
                got = _lookup(document, name)
                if got != wanted:
                    return fail(f"{name} is {got!r}, expected {wanted!r}")
    if elapsed_ms > contract.latency_ms:
        return fail(f"answered in {elapsed_ms:.0f} ms, over its latency budget of {contract.latency_ms} ms")
    return CheckResult(check.id, True, f"{where}: {status} in {elapsed_ms:.0f} ms", status, elapsed_ms)


async def _one(client: httpx.AsyncClient, request: Request, version: str | None) -> CheckResult:
    check = request.check
    where = f"{check.id}: {request.method} {request.url}"
    began = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout_s):
            response = await client.request(
                request.method,
                request.url,
                headers=request.headers,
                json=check.contract.body,
                timeout=httpx.Timeout(check.timeout_s),
                follow_redirects=False,
            )
    except (TimeoutError, httpx.TimeoutException):
        elapsed = (time.perf_counter() - began) * 1000
        return CheckResult(
            check.id, False, f"{where}: no answer within {check.timeout_s:g} s (timed out)", None, elapsed
        )
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - began) * 1000
        return CheckResult(check.id, False, f"{where}: request failed: {type(exc).__name__}: {exc}", None, elapsed)
    elapsed = (time.perf_counter() - began) * 1000
    return judge(request, response, elapsed, version)


async def run_requests(
    requests: Sequence[Request], *, version: str | None, max_connections: int = 100
) -> dict[str, CheckResult]:
    """Send every request concurrently; a result per check id, in the order given."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        results = await asyncio.gather(*(_one(client, request, version) for request in requests))
    return {result.check_id: result for result in results}


def run_checks(checks: Sequence[Check], target: Target, *, max_connections: int = 100) -> dict[str, CheckResult]:
    """Run the checks once, concurrently; a check that cannot be built fails with its reason."""
    results: dict[str, CheckResult] = {}
    requests: list[Request] = []
    for check in checks:
        try:
            requests.append(build_request(check, target))
        except ValueError as exc:
            results[check.id] = CheckResult(check.id, False, str(exc))
    results.update(_run_apart(run_requests(requests, version=target.version, max_connections=max_connections)))
    return results


def _run_apart(coroutine: Coroutine[Any, Any, dict[str, CheckResult]]) -> dict[str, CheckResult]:
    """``asyncio.run`` of ``coroutine``, in a thread of its own when this thread already runs an
    event loop (Playwright's sync API keeps one running for the rest of a session once a
    browser test started: the rollback's smoke checks come after the final checks' flows)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smoke-checks") as pool:
        return pool.submit(asyncio.run, coroutine).result()

"""Synthetic canary traffic: realistic chats and payments for the canary tenants.

Only for a target on loopback (the sandbox): a real canary is watched on its real users'
traffic. The generator is bounded three ways: a request rate, a total count and a deadline;
every request has a timeout. It runs in one background thread and stops when asked.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

import httpx

MESSAGES = (
    "Can I see the vegetarian options?",
    "What is the soup of the day?",
    "Do you have gluten-free bread?",
    "Which dishes contain nuts?",
    "I would like a table for four at 7pm",
    "What time do you close tonight?",
    "Is the grilled tilapia spicy?",
    "How do I pay for my order?",
)
CURRENCIES = ("RWF", "RWF", "EUR", "USD", "KES")


class TrafficError(Exception):
    """The generator refuses to run (not loopback, bad settings)."""


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise TrafficError(f"synthetic canary traffic goes to loopback only, not to {host or url!r}")


@dataclass
class TrafficStats:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "statuses": dict(self.statuses), "errors": dict(self.errors)}


class TrafficGenerator:
    """``with TrafficGenerator(...) as traffic:`` sends requests until the block ends."""

    def __init__(
        self,
        agents_url: str,
        tenants: tuple[str, ...] | list[str],
        *,
        rps: float,
        max_requests: int,
        duration_s: float,
        payment_share: float = 0.3,
        timeout_s: float = 5.0,
    ) -> None:
        require_loopback(agents_url)
        if not tenants:
            raise TrafficError("no canary tenants to send traffic for")
        if rps <= 0 or max_requests < 1 or duration_s <= 0 or not 0 <= payment_share <= 1:
            raise TrafficError("rps, max_requests and duration_s must be positive, payment_share in 0..1")
        self.agents_url = agents_url.rstrip("/")
        self.tenants = tuple(tenants)
        self.rps = rps
        self.max_requests = max_requests
        self.duration_s = duration_s
        self.payment_share = payment_share
        self.timeout = httpx.Timeout(timeout_s)
        self.stats = TrafficStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="canary-traffic", daemon=True)

    def __enter__(self) -> TrafficGenerator:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=(self.timeout.read or 5.0) + 5.0)

    def _requests(self) -> itertools.cycle[tuple[str, dict[str, object]]]:
        plan: list[tuple[str, dict[str, object]]] = []
        payments_every = 0 if self.payment_share == 0 else max(1, round(1 / self.payment_share))
        for n in range(120):
            tenant = self.tenants[n % len(self.tenants)]
            if payments_every and n % payments_every == payments_every - 1:
                amount = 500 + (n * 1733) % 19_500
                body: dict[str, object] = {
                    "tenant": tenant,
                    "amount_cents": amount,
                    "currency": CURRENCIES[n % len(CURRENCIES)],
                    "reference": f"canary-{n}",
                }
                plan.append(("/payments", body))
            else:
                plan.append(("/agents/chat", {"tenant": tenant, "message": MESSAGES[n % len(MESSAGES)]}))
        return itertools.cycle(plan)

    def _run(self) -> None:
        deadline = time.monotonic() + self.duration_s
        pace = 1.0 / self.rps
        plan = self._requests()
        with httpx.Client(base_url=self.agents_url, timeout=self.timeout, follow_redirects=False) as client:
            next_at = time.monotonic()
            while not self._stop.is_set() and self.stats.sent < self.max_requests and time.monotonic() < deadline:
                path, body = next(plan)
                try:
                    response = client.post(path, json=body)
                    self.stats.statuses[f"{path} {response.status_code}"] += 1
                except httpx.HTTPError as exc:
                    self.stats.errors[f"{path} {type(exc).__name__}"] += 1
                self.stats.sent += 1
                next_at += pace
                self._stop.wait(max(0.0, next_at - time.monotonic()))

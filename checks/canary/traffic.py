"""Synthetic canary traffic: realistic chats and payments for the canary tenants.

Only for a target on loopback (the sandbox): a real canary is watched on its real users'
traffic. The generator is bounded three ways: a request rate, a total count and a deadline;
every request has a timeout. It runs in one background thread and stops when asked.

It is open-loop, as real users are: request *n* starts at ``n / rps`` seconds whatever the
earlier ones' latency, so a slow release still receives its configured rate and the canary
judges its latency instead of running out of traffic. The requests in flight are bounded
(``max_in_flight``, at least ``rps * timeout_s``: every request that can still be waiting
for its timeout has room); a request whose start finds the bound reached is not sent and is
counted as ``shed``. One thread runs an asyncio loop with ``httpx.AsyncClient``, so hundreds
of slow requests in flight cost no thread each.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import math
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
    """What the generator did; safe to read from another thread while it runs."""

    sent: int = 0  # requests that ended, with a status or a transport error
    shed: int = 0  # scheduled starts not sent because max_in_flight requests were in flight
    in_flight_peak: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        with self.lock:
            return {
                "sent": self.sent,
                "shed": self.shed,
                "in_flight_peak": self.in_flight_peak,
                "statuses": dict(self.statuses),
                "errors": dict(self.errors),
            }


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
        if rps <= 0 or max_requests < 1 or duration_s <= 0 or timeout_s <= 0 or not 0 <= payment_share <= 1:
            raise TrafficError("rps, max_requests, duration_s and timeout_s must be positive, payment_share in 0..1")
        self.agents_url = agents_url.rstrip("/")
        self.tenants = tuple(tenants)
        self.rps = rps
        self.max_requests = max_requests
        self.duration_s = duration_s
        self.payment_share = payment_share
        self.timeout_s = timeout_s
        self.timeout = httpx.Timeout(timeout_s)
        self.max_in_flight = max(1, math.ceil(rps * timeout_s))
        self.stats = TrafficStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="canary-traffic", daemon=True)

    def __enter__(self) -> TrafficGenerator:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """No new requests; the ones in flight get their timeout to end (then they are cancelled)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.timeout_s + 5.0)

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

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        began = time.monotonic()
        deadline = began + self.duration_s
        plan = self._requests()
        limits = httpx.Limits(max_connections=self.max_in_flight, max_keepalive_connections=self.max_in_flight)
        pending: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(
            base_url=self.agents_url, timeout=self.timeout, limits=limits, follow_redirects=False
        ) as client:
            scheduled = 0
            started = 0
            while not self._stop.is_set() and started < self.max_requests:
                due = began + scheduled / self.rps
                if due >= deadline:
                    break
                now = time.monotonic()
                if now < due:
                    # Short naps, so a stop is seen within 0.1 s even at a low rate.
                    await asyncio.sleep(min(due - now, 0.1))
                    continue
                scheduled += 1
                path, body = next(plan)
                if len(pending) >= self.max_in_flight:
                    with self.stats.lock:
                        self.stats.shed += 1
                    continue
                started += 1
                task = asyncio.create_task(self._send(client, path, body))
                pending.add(task)
                task.add_done_callback(pending.discard)
                with self.stats.lock:
                    self.stats.in_flight_peak = max(self.stats.in_flight_peak, len(pending))
            if pending:
                _, late = await asyncio.wait(set(pending), timeout=self.timeout_s + 1.0)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)

    async def _send(self, client: httpx.AsyncClient, path: str, body: dict[str, object]) -> None:
        try:
            response = await client.post(path, json=body)
        except httpx.HTTPError as exc:
            key, answered = f"{path} {type(exc).__name__}", False
        except asyncio.CancelledError:
            with self.stats.lock:
                self.stats.errors[f"{path} cancelled at stop"] += 1
                self.stats.sent += 1
            raise
        else:
            key, answered = f"{path} {response.status_code}", True
        with self.stats.lock:
            (self.stats.statuses if answered else self.stats.errors)[key] += 1
            self.stats.sent += 1

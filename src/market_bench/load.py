"""Closed-loop clients on one keep-alive connection pool: each places an order (POST, answered at once),
follows it (`GET /orders/{id}` with `Prefer: wait=10`) until it is PAID or FAILED, then places the next."""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from market_bench.plans import EXPECTED, Product, Shopper, order_body

SETTLED = ("PAID", "FAILED")
SETTLE_TIMEOUT = 60.0
JSON = "application/json"
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


@dataclass
class Recorder:
    """What the clients saw, in seconds from the start of the phase."""

    started: float = field(default_factory=time.perf_counter)
    accepts: list[tuple[float, float]] = field(default_factory=list)  # (answered at, latency)
    settles: list[tuple[float, float]] = field(default_factory=list)  # (settled at, since the POST began)
    errors: Counter[str] = field(default_factory=Counter)
    plans: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    posted: int = 0
    ended: float = 0.0
    measured_from: float = 0.0  # the end of the warm-up: the figures count what ended from here on

    def now(self) -> float:
        return time.perf_counter() - self.started

    def refused(self, status: int, content: bytes) -> None:
        try:
            code = str(orjson.loads(content).get("code", "-"))
        except (orjson.JSONDecodeError, AttributeError):
            code = "-"
        self.errors[f"{status} {code}"] += 1

    def transport(self, exc: BaseException) -> None:
        self.errors[f"transport {type(exc).__name__}"] += 1


@dataclass(frozen=True)
class Budget:
    """When clients stop placing orders: after `seconds`, or once `orders` have been placed."""

    seconds: float
    orders: int | None = None

    def more(self, rec: Recorder) -> bool:
        return rec.posted < self.orders if self.orders is not None else rec.now() < self.seconds


def session(base_url: str, clients: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=clients + 8, limit_per_host=0, enable_cleanup_closed=False)
    return aiohttp.ClientSession(
        base_url.rstrip("/"),
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def _follow(
    http: aiohttp.ClientSession, rec: Recorder, shopper: Shopper, order: dict[str, object], began: float
) -> dict[str, object] | None:
    headers = {"Authorization": shopper.auth, "Prefer": "wait=10"}
    while order["status"] not in SETTLED:
        if rec.now() - began > SETTLE_TIMEOUT:
            rec.errors["UNSETTLED"] += 1
            return None
        try:
            async with http.get(f"/api/v1/orders/{order['id']}", headers=headers) as r:
                status, content = r.status, await r.read()
        except TRANSPORT_ERRORS as exc:
            rec.transport(exc)
            await asyncio.sleep(0.5)
            continue
        if status != 200:
            rec.refused(status, content)
            if status < 500:
                return None
            await asyncio.sleep(0.5)
            continue
        order = orjson.loads(content)
    return order


async def place(http: aiohttp.ClientSession, rec: Recorder, shopper: Shopper, plan: str, body: bytes) -> None:
    """One order, from POST to settlement, recorded."""
    headers = {"Authorization": shopper.auth, "Content-Type": JSON, "Idempotency-Key": uuid.uuid4().hex}
    rec.posted += 1
    rec.plans[plan] += 1
    began = rec.now()
    try:
        async with http.post("/api/v1/orders", data=body, headers=headers) as r:
            status, content = r.status, await r.read()
    except TRANSPORT_ERRORS as exc:
        rec.transport(exc)
        return
    answered = rec.now()
    if status != 201:
        rec.refused(status, content)
        return
    rec.accepts.append((answered, answered - began))
    order = await _follow(http, rec, shopper, orjson.loads(content), began)
    if order is None:
        return
    settled = rec.now()
    rec.settles.append((settled, settled - began))
    reason = order.get("failure_reason") if order["status"] == "FAILED" else None
    outcome = f"{order['status']} {reason}" if reason else str(order["status"])
    rec.outcomes[outcome] += 1
    if (order["status"], reason) != EXPECTED.get(plan, ("PAID", None)):
        rec.errors[f"unexpected {outcome} ({plan})"] += 1  # e.g. a card order that FAILED


async def order_client(
    http: aiohttp.ClientSession,
    rec: Recorder,
    budget: Budget,
    shoppers: list[Shopper],
    products: list[Product],
    discount: int,
    rng: random.Random,
) -> None:
    turn = 0
    while budget.more(rec):
        shopper = shoppers[turn % len(shoppers)]
        turn += 1
        plan, body = order_body(rng, products, shopper, discount)
        await place(http, rec, shopper, plan, orjson.dumps(body))


async def echo_client(
    http: aiohttp.ClientSession, rec: Recorder, budget: Budget, body: bytes, auth: str
) -> None:
    headers = {"Authorization": auth, "Content-Type": JSON}
    while budget.more(rec):
        rec.posted += 1
        began = rec.now()
        try:
            async with http.post("/api/v1/echo", data=body, headers=headers) as r:
                status, content = r.status, await r.read()
        except TRANSPORT_ERRORS as exc:
            rec.transport(exc)
            continue
        if status != 200:
            rec.refused(status, content)
            continue
        answered = rec.now()
        rec.accepts.append((answered, answered - began))


async def progress(rec: Recorder, budget: Budget, label: str) -> None:
    """One line on stderr, redrawn twice a second: orders done, accepted/s, elapsed."""
    while True:
        elapsed = rec.now()
        done = len(rec.accepts) / budget.orders if budget.orders else elapsed / max(budget.seconds, 1e-9)
        bar = "#" * int(min(done, 1) * 20)
        settled = f", {len(rec.settles)} settled" if rec.settles else ""
        sys.stderr.write(
            f"\r{label} [{bar:<20}] {len(rec.accepts)} done{settled}, "
            f"{len(rec.accepts) / max(elapsed, 1e-9):.1f} accepted/s, {elapsed:.1f} s "
        )
        sys.stderr.flush()
        await asyncio.sleep(0.5)


async def drive(
    clients: Sequence[Coroutine[Any, Any, None]], rec: Recorder, budget: Budget, label: str
) -> Recorder:
    """Runs the clients' coroutines to the end with a progress line; `rec.ended` is when the last one ended."""
    bar = asyncio.create_task(progress(rec, budget, label))
    try:
        await asyncio.gather(*clients)
    finally:
        rec.ended = rec.now()
        bar.cancel()
        sys.stderr.write("\n")
    return rec

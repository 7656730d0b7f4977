"""One seeded campaign: orders of every plan through the gateway while the schedule's faults strike, then
every order followed to its end, then the audit."""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from market.bootstrap.topology import Replica, infra, start, stop
from market.settings import Settings
from market_bench.chaos.duplicator import Duplicator
from market_bench.chaos.schedule import Campaign, Fault
from market_bench.plans import EXPECTED, Product, Shopper, order_body
from market_bench.prepare import DISCOUNT

TERMINAL = ("PAID", "FAILED", "CANCELLED")
RETRYABLE = (409, 429, 500, 502, 503, 504)  # the request died with a replica, or its key is still held


@dataclass
class Placed:
    order_id: str
    plan: str
    status: str = "PENDING"
    settled_at: float | None = None


@dataclass
class Run:
    started: float = field(default_factory=time.monotonic)
    placed: list[Placed] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    injected: list[dict[str, Any]] = field(default_factory=list)
    restarted_again: list[dict[str, Any]] = field(default_factory=list)  # replicas not ready in time

    def now(self) -> float:
        return round(time.monotonic() - self.started, 2)


async def place(
    http: aiohttp.ClientSession, shopper: Shopper, body: dict[str, Any]
) -> tuple[str | None, str]:
    """One order, sent again under its Idempotency-Key while the platform is down or mid-restart (a real
    client's retry); its id, or why it was refused for good."""
    headers = {"Authorization": shopper.auth, "Idempotency-Key": uuid.uuid4().hex}
    deadline = time.monotonic() + 120
    while True:
        try:
            async with http.post("/api/v1/orders", json=body, headers=headers) as r:
                answer = await r.read()
                if r.status == 201:
                    return str(orjson.loads(answer)["id"]), ""
                code = f"{r.status} {orjson.loads(answer).get('code', '-') if answer else '-'}"
                if r.status not in RETRYABLE:
                    return None, code
        except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError):
            code = "transport"
        if time.monotonic() > deadline:
            return None, f"gave up ({code})"
        await asyncio.sleep(1)


async def load(
    http: aiohttp.ClientSession,
    run: Run,
    campaign: Campaign,
    products: list[Product],
    shoppers: list[Shopper],
) -> None:
    """`campaign.orders` orders of every plan (drawn from the seed), evenly spread over the span, by a few
    concurrent clients."""
    rng, gap, queue = random.Random(campaign.seed), campaign.span / campaign.orders, asyncio.Queue[int]()
    bodies = [
        order_body(rng, products, shoppers[i % len(shoppers)], DISCOUNT) for i in range(campaign.orders)
    ]
    for i in range(campaign.orders):
        queue.put_nowait(i)

    async def client() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await asyncio.sleep(max(0.0, run.started + i * gap - time.monotonic()))
            plan, body = bodies[i]
            order_id, why = await place(http, shoppers[i % len(shoppers)], body)
            if order_id is None:
                run.refused[why] = run.refused.get(why, 0) + 1
            else:
                run.placed.append(Placed(order_id, plan))

    await asyncio.gather(*(client() for _ in range(16)))


async def strike(settings: Settings, run: Run, faults: list[Fault]) -> None:
    """Each fault at its time (they may overlap): a replica killed with SIGKILL, or Kafka / MariaDB
    stopped; all started again. A fault on a target still down or starting from the one before waits
    until it is back (a replica killed while it starts would be killed twice, not once more)."""
    back: dict[str, asyncio.Lock] = {f.target: asyncio.Lock() for f in faults}
    await asyncio.gather(*(_strike(settings, run, fault, back[fault.target]) for fault in faults))


async def _strike(settings: Settings, run: Run, fault: Fault, back: asyncio.Lock) -> None:
    await asyncio.sleep(max(0.0, run.started + fault.at - time.monotonic()))
    async with back:
        await _one(settings, run, fault)


async def _one(settings: Settings, run: Run, fault: Fault) -> None:
    struck = run.now()
    if fault.kind == "kill":
        service, _, index = fault.target.rpartition("-")
        replica = Replica(service, int(index))
        await asyncio.to_thread(stop, settings, replica, signal.SIGKILL)
        await asyncio.sleep(fault.down_for)
        try:
            await asyncio.to_thread(start, settings, replica)
        except SystemExit as stuck:
            # Not ready within `market up`'s minute: restarted once more, as an orchestrator restarts a
            # pod that fails its probes; reported, and a second failure ends the campaign.
            run.restarted_again.append({"target": fault.target, "at": run.now(), "why": str(stuck)[:300]})
            await asyncio.to_thread(stop, settings, replica, signal.SIGKILL)
            await asyncio.to_thread(start, settings, replica)
    else:
        await asyncio.to_thread(infra, "stop", fault.target, settings)
        await asyncio.sleep(fault.down_for)
        await asyncio.to_thread(infra, "start", fault.target, settings)
    run.injected.append({"at": struck, "back_at": run.now(), "kind": fault.kind, "target": fault.target})


async def settle(http: aiohttp.ClientSession, admin: str, run: Run, until: float) -> None:
    """Follow every order until it ends (or `until`, in the run's seconds)."""
    while run.now() < until:
        pending = [p for p in run.placed if p.status not in TERMINAL]
        if not pending:
            return
        for p in pending:
            try:
                async with http.get(f"/api/v1/orders/{p.order_id}", headers={"Authorization": admin}) as r:
                    if r.status == 200:
                        p.status = str((await r.json())["status"])
            except (TimeoutError, aiohttp.ClientError):
                continue
            if p.status in TERMINAL:
                p.settled_at = run.now()
        await asyncio.sleep(1)


async def campaign_run(
    settings: Settings,
    campaign: Campaign,
    faults: list[Fault],
    data: tuple[list[Product], list[Shopper], str],
) -> Run:
    products, shoppers, admin = data
    run = Run()
    url = f"http://127.0.0.1:{settings.gateway_port}"
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(url, timeout=timeout) as http, Duplicator(settings, campaign):
        await asyncio.gather(load(http, run, campaign, products, shoppers), strike(settings, run, faults))
        last_fault = max((f["back_at"] for f in run.injected), default=run.now())
        await settle(http, admin, run, last_fault + 180)
    return run


def outcome(run: Run) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    unexpected = []
    for p in run.placed:
        by_status[p.status] = by_status.get(p.status, 0) + 1
        if p.status != EXPECTED.get(p.plan, ("PAID",))[0]:
            unexpected.append({"order_id": p.order_id, "plan": p.plan, "status": p.status})
    last_fault = max((f["back_at"] for f in run.injected), default=0.0)
    last_settled = max((p.settled_at or 0.0 for p in run.placed), default=0.0)
    return {
        "orders_placed": len(run.placed),
        "orders_refused": run.refused,
        "by_status": by_status,
        "unexpected": unexpected,
        "last_fault_at_s": last_fault,
        "last_settled_at_s": last_settled,
        "settled_after_last_fault_s": round(max(0.0, last_settled - last_fault), 2),
        "all_terminal": all(p.status in TERMINAL for p in run.placed),
        "restarted_again": run.restarted_again,
    }
